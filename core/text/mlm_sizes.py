"""The shapes of the masked language models the lab pretrains (core.text.mlm): light on
purpose (no torch), so a page can offer the sizes before the model code loads."""
from __future__ import annotations

from dataclasses import dataclass

from core.common.errors import InputError

MAX_POSITIONS = 128  # tokens per input: [CLS] + line + [SEP]


@dataclass(frozen=True)
class ModelSize:
    """The shape of one model size (see SIZES)."""

    layers: int  # transformer blocks
    hidden: int  # model width
    heads: int  # attention heads (hidden / heads = 64 per head for all)
    ffn: int  # feed-forward inner width (4 x hidden)


# Model sizes; "medium" is the fake-data paper's (8 layers, 512 wide); "narrow" is Dufter &
# Schuetze's multilingual setting (narrow and deep: an over-sized model aligns languages less).
SIZES = {"tiny": ModelSize(2, 128, 2, 512), "small": ModelSize(4, 256, 4, 1024),
         "medium": ModelSize(8, 512, 8, 2048), "narrow": ModelSize(6, 64, 1, 256)}
ARCHS = ("bert", "roberta")


def check_shape(size: str, arch: str, sizes: dict[str, ModelSize] | None = None) -> ModelSize:
    """sizes[size] (default SIZES) after checking size and arch.

    Raises:
        InputError: an unknown size or architecture (the message lists the choices).
    """
    sizes = SIZES if sizes is None else sizes
    if size not in sizes:
        raise InputError(f"unknown model size {size!r}; choose one of {', '.join(sizes)}")
    if arch not in ARCHS:
        raise InputError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return sizes[size]
