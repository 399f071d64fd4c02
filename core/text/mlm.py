"""Masked language models the lab pretrains itself: a small BERT (or RoBERTa) with BERT's MLM
head, and BERT's masking of token lines. Shared by the fake-data experiment (core.pretrain:
fake or English lines) and the cross-lingual tab's own multilingual BERTs (core.crosslingual:
Bible verses in several languages, one vocabulary).

    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    batch = mask_lines(lines, rng, tokenizer_ids=TokenIds.from_tokenizer(tok))  # lines (n, L)
    model(**batch)                                               # the mean MLM loss

The loss is computed at the chosen positions only: their hidden states are gathered before the
projection onto the vocabulary, which is most of the saving over a stock BertForMaskedLM (it
projects every token). Attention is PyTorch's SDPA. Every language, or stream, shares the
special tokens and the position embeddings: only the word ids differ.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.common.errors import InputError
from core.text.mlm_sizes import (  # noqa: F401 - the shapes are part of this API
    ARCHS,
    MAX_POSITIONS,
    SIZES,
    ModelSize,
    check_shape,
)

MASK_PROB = 0.15  # share of a line's tokens chosen for prediction (a fixed count per line)
MASK_TOKEN_SHARE = 0.8  # of the chosen: replaced by [MASK]
RANDOM_TOKEN_SHARE = 0.1  # of the chosen: replaced by a random usable id (the rest stay as is)
IGNORE_INDEX = -100  # label of positions that are not predicted (torch's cross-entropy default)
ROBERTA_POSITION_OFFSET = 2  # RoBERTa numbers positions from padding_idx + 1: two extra rows


# --------------------------------------------------------------------------------- model
def make_config(size: str, arch: str = "bert", *, vocab_size: int,
                attn_implementation: str = "sdpa"):
    """A transformers BertConfig / RobertaConfig for SIZES[size].

    Padding id 0 is [PAD] of the English vocabulary; RoBERTa gets ROBERTA_POSITION_OFFSET
    extra position rows. Dropout and init are BERT's defaults (0.1, N(0, 0.02)).

    Args:
        size: a key of SIZES. arch: one of ARCHS.
        vocab_size: embedding rows (len(english_tokenizer()) for the experiment).
        attn_implementation: transformers' attention backend ("sdpa"; "eager" for the bench's
            stock loop).
    Raises:
        InputError: unknown size or arch (the message lists the choices).
    """
    from transformers import BertConfig, RobertaConfig

    s = check_shape(size, arch)
    common = dict(vocab_size=vocab_size, hidden_size=s.hidden, num_hidden_layers=s.layers,
                  num_attention_heads=s.heads, intermediate_size=s.ffn, pad_token_id=0,
                  attn_implementation=attn_implementation)
    if arch == "roberta":
        return RobertaConfig(**common, type_vocab_size=1,
                             max_position_embeddings=MAX_POSITIONS + ROBERTA_POSITION_OFFSET)
    return BertConfig(**common, max_position_embeddings=MAX_POSITIONS)


class MLMHead(nn.Module):
    """BERT's MLM head: transform (dense + activation + LayerNorm), then a decoder whose weight
    is the word-embedding matrix (tied), plus a bias per id."""

    def __init__(self, config, word_embeddings: nn.Embedding):
        super().__init__()
        from transformers.activations import ACT2FN

        h = config.hidden_size
        self.transform = nn.Sequential(nn.Linear(h, h), ACT2FN[config.hidden_act],
                                       nn.LayerNorm(h, eps=config.layer_norm_eps))
        self.decoder = nn.Linear(h, config.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight  # tied: one tensor, two names
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        nn.init.normal_(self.transform[0].weight, std=config.initializer_range)
        nn.init.zeros_(self.transform[0].bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., H) hidden states -> (..., V) scores over the vocabulary."""
        return F.linear(self.transform(hidden), self.decoder.weight, self.bias)


class MaskedLM(nn.Module):
    """An encoder (`.encoder`, a plain BertModel / RobertaModel without pooler) and BERT's MLM
    head (`.head`, an MLMHead tied to the encoder's word embeddings)."""

    def __init__(self, config):
        super().__init__()
        from transformers import BertModel, RobertaModel

        encoder_cls = RobertaModel if config.model_type == "roberta" else BertModel
        self.encoder = encoder_cls(config, add_pooling_layer=False)
        self.head = MLMHead(config, self.encoder.get_input_embeddings())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None,
                masked_positions: torch.Tensor | None = None) -> torch.Tensor:
        """The mean MLM cross-entropy over the predicted positions (a scalar).

        Args:
            input_ids: (B, T). attention_mask: (B, T) or None (= attend everywhere).
            labels: (B, T), IGNORE_INDEX where nothing is predicted. None: return the (B, T, V)
                logits of every position instead of a loss.
            masked_positions: (B, k) positions of the labelled tokens, as mask_lines gives
                them: a fixed shape (no host sync, torch.compile-friendly). Without it the
                labelled positions are found from `labels`.
        """
        hidden = self.encoder(input_ids=input_ids,
                              attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        if labels is None:
            return self.head(hidden)
        if masked_positions is not None:
            idx = masked_positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, k, H)
            picked = hidden.gather(1, idx).flatten(0, 1)  # (B*k, H)
            target = labels.gather(1, masked_positions).flatten()  # (B*k,)
        else:
            keep = labels != IGNORE_INDEX  # (B, T)
            picked, target = hidden[keep], labels[keep]  # (M, H), (M,)
        return F.cross_entropy(self.head(picked).float(), target)


def build_mlm(size: str, arch: str = "bert", *, vocab_size: int, seed: int = 0,
              attn_implementation: str = "sdpa") -> MaskedLM:
    """A randomly initialised MaskedLM; the same arguments give the same weights.

    The global torch RNG is left as it was (the init draws from a forked one).

    Args:
        size, arch, vocab_size, attn_implementation: as make_config.
        seed: seeds the initial weights.
    Raises:
        InputError: unknown size or arch.
    """
    config = make_config(size, arch, vocab_size=vocab_size,
                         attn_implementation=attn_implementation)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MaskedLM(config)


def param_digest(model: nn.Module) -> str:
    """sha256 over the names and bytes of every tensor in model.state_dict() (hex).

    Two replicas (or a model and its checkpoint) agree exactly iff their digests are equal.
    """
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def usable_ids(tokenizer) -> tuple[int, ...]:
    """Ids a masked token may be swapped for: every id but the special tokens and BERT's
    [unusedN] rows (for bert-base-uncased that leaves ids 999 and up)."""
    special = set(tokenizer.all_special_ids)
    unused = {i for t, i in tokenizer.get_vocab().items() if t.startswith("[unused")}
    return tuple(i for i in range(len(tokenizer)) if i not in special and i not in unused)


# ------------------------------------------------------------------------------- masking
@dataclass(frozen=True, eq=False)
class TokenIds:
    """The ids masking needs, read from a tokenizer (RoBERTa reuses them as <s>, </s>)."""

    cls: int
    sep: int
    mask: int
    special: np.ndarray  # (S,) ids never chosen for prediction while others remain
    usable: np.ndarray  # (U,) ids a chosen token may be swapped for (no special/unused ids)

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "TokenIds":
        """The tokenizer's [CLS], [SEP], [MASK], special ids and usable ids."""
        special = np.array(sorted(tokenizer.all_special_ids), dtype=np.int64)
        usable = np.array(usable_ids(tokenizer), dtype=np.int64)
        return cls(tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id,
                   special, usable)


def masked_count(length: int) -> int:
    """Tokens chosen per line of `length` (original BERT: a fixed round(15 %), at least 1)."""
    return max(1, round(MASK_PROB * length))


def mask_lines(lines: np.ndarray, rng: np.random.Generator, *,
               tokenizer_ids: TokenIds) -> dict[str, torch.Tensor]:
    """BERT's masking of a batch of lines.

    Every line gets [CLS] before and [SEP] after; masked_count(L) of its own positions are
    chosen uniformly (special ids inside a line, e.g. the [SEP] between English documents, only
    if nothing else is left); of those, 80 % become [MASK], 10 % a random usable id, 10 % stay.

    Args:
        lines: (n, L) token ids.
        rng: the only source of randomness: same state, same result.
        tokenizer_ids: TokenIds.from_tokenizer(tokenizer) (a tokenizer is converted).
    Returns:
        input_ids (n, L+2), attention_mask (n, L+2) all ones, labels (n, L+2) = the original id
        at chosen positions and IGNORE_INDEX elsewhere, masked_positions (n, k) sorted, int64.
    """
    lines = np.asarray(lines, dtype=np.int64)
    if lines.ndim != 2 or lines.shape[1] < 1:
        raise InputError(f"lines must be (n, length >= 1), got shape {lines.shape}")
    n, length = lines.shape
    ids = (tokenizer_ids if isinstance(tokenizer_ids, TokenIds)
           else TokenIds.from_tokenizer(tokenizer_ids))
    k = masked_count(length)
    keys = rng.random((n, length)) + np.isin(lines, ids.special)  # specials sort last
    chosen = np.sort(np.argpartition(keys, k - 1, axis=1)[:, :k], axis=1)  # (n, k) in the line
    pos = chosen + 1  # (n, k) in the input, after [CLS]
    rows = np.arange(n)[:, None]
    input_ids = np.concatenate([np.full((n, 1), ids.cls), lines, np.full((n, 1), ids.sep)],
                               axis=1)  # (n, L+2)
    original = input_ids[rows, pos]  # (n, k)
    labels = np.full_like(input_ids, IGNORE_INDEX)
    labels[rows, pos] = original
    u = rng.random((n, k))
    swap = ids.usable[rng.integers(0, ids.usable.size, (n, k))]
    input_ids[rows, pos] = np.where(u < MASK_TOKEN_SHARE, ids.mask,
                                    np.where(u < MASK_TOKEN_SHARE + RANDOM_TOKEN_SHARE,
                                             swap, original))
    return {"input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.ones(input_ids.shape, dtype=torch.int64),
            "labels": torch.from_numpy(labels), "masked_positions": torch.from_numpy(pos)}
