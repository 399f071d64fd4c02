"""The two errors the UI shows to the user as they are (demos map them to gr.Error)."""


class InputError(ValueError):
    """Bad user input; the message says what is wrong and what would work."""


class ModelUnavailable(RuntimeError):
    """A registered model cannot be loaded here (no network, wrong platform, ...); the message
    names what to use instead."""
