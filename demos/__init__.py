"""One module per tab: build() -> gr.Blocks; handlers adapt UI values to core calls."""
