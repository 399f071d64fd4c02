"""DNA as English: k-mers mapped onto arbitrary English words (Kao & Lee 2021).

A DNA sequence is cut into non-overlapping k-mers (stride k) and every k-mer is replaced by
a whole English word chosen at random (by seed), e.g. with k=1, seed=0:

    make_mapping(tok).table  ->  {"A": "<word>", "C": "<word>", "G": "<word>", "T": "<word>"}
    encode("ACGTN", mapping) ->  [id(A-word), id(C-word), id(G-word), id(T-word), id([UNK])]

Non-overlapping k-mers (not the stride-1 overlapping k-mers of DNABERT) keep one token per k
bases, so a 60 bp sequence is 60/k tokens and occlusion maps cleanly back onto bases. A
trailing partial k-mer (len(seq) % k bases) is dropped: the model never sees it.

Model building lives in core.dna.model (re-exported here): INITS, build_classifier.
"""
from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass

import numpy as np
import torch

from core.common.errors import InputError
from core.dna.config import INIT_ABOUT, INITS, MAX_K
from core.dna.model import DnaClassifier, available_inits, build_classifier

__all__ = ["BASES", "INITS", "INIT_ABOUT", "KmerMapping", "make_mapping", "encode",
           "encode_batch", "mapping_table", "predict_proba", "predict_proba_many",
           "importance", "occlusion_window", "build_classifier", "available_inits",
           "DnaClassifier"]

BASES = "ACGT"
MIN_WORD_CHARS = 3  # shorter vocabulary entries are mostly letters/abbreviations
TABLE_ROWS = 64  # mapping_table shows every row up to k=3, the first 64 beyond
PREDICT_BATCH = 64  # sequences per forward pass in predict_proba_many / importance
# Occlusion cost cap, in tokens summed over all hidden variants: what a 60-base splice sequence
# costs at k=1 (60 variants x 62 tokens, ~1 s on 2 CPU cores). Longer inputs hide windows of
# consecutive k-mers instead of single ones, so any accepted sequence answers in seconds.
OCCLUSION_TOKENS = 64 * 64
OCCLUDERS = ("unk", "mask")
_WORD = re.compile(r"^[a-z]+$")
_ALLOWED = re.compile(r"^[A-Z]*$")  # after upper-casing and removing whitespace


@dataclass(frozen=True)
class KmerMapping:
    """One draw of k-mer -> word. Frozen but unhashable (dict fields): key caches by (k, seed)."""

    k: int  # bases per token
    seed: int  # which arbitrary words were drawn
    table: dict[str, str]  # k-mer -> English word, all 4**k k-mers, in ACGT order
    ids: dict[str, int]  # k-mer -> token id of that word
    unk_id: int  # unmapped k-mers (N, IUPAC codes) -> [UNK]
    cls_id: int
    sep_id: int
    pad_id: int
    mask_id: int


def candidate_words(tokenizer) -> list[str]:
    """Whole-word vocabulary entries usable as arbitrary k-mer tokens, sorted.

    Kept: ASCII lower-case alphabetic, >= MIN_WORD_CHARS letters, not special, not a '##'
    piece, and not spelled with a, c, g, t only ("cat", "tag", "act"): a DNA-looking word
    would make the mapping less arbitrary than the experiment claims.
    """
    special = set(tokenizer.all_special_tokens)
    return sorted(w for w in tokenizer.get_vocab()
                  if len(w) >= MIN_WORD_CHARS and _WORD.match(w) and w not in special
                  and not set(w) <= set("acgt"))


def make_mapping(tokenizer, *, k: int = 1, seed: int = 0) -> KmerMapping:
    """Draws a bijection from the 4**k k-mers onto distinct English words.

    Args:
        tokenizer: a BERT (WordPiece) tokenizer; its vocabulary supplies the words.
        k: bases per token, 1..MAX_K.
        seed: which draw; the same (tokenizer, k, seed) always gives the same mapping.
    Returns:
        KmerMapping.
    """
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, got {k}")
    kmers = ["".join(p) for p in itertools.product(BASES, repeat=k)]
    words = candidate_words(tokenizer)
    if len(words) < len(kmers):
        raise InputError(f"the vocabulary has {len(words)} usable words; k={k} needs "
                         f"{len(kmers)}")
    chosen = random.Random(seed).sample(words, len(kmers))  # distinct by construction
    vocab = tokenizer.get_vocab()
    return KmerMapping(
        k=k, seed=seed, table=dict(zip(kmers, chosen)),
        ids={km: vocab[w] for km, w in zip(kmers, chosen)},
        unk_id=tokenizer.unk_token_id, cls_id=tokenizer.cls_token_id,
        sep_id=tokenizer.sep_token_id, pad_id=tokenizer.pad_token_id,
        mask_id=tokenizer.mask_token_id)


def _letters(sequence: str) -> str:
    """Upper-cases and strips whitespace; any letter passes (non-ACGT k-mers become [UNK]).

    Lenient on purpose, for stored data; user input goes through the stricter
    core.dna.data.clean_sequence (ACGTN, FASTA) first.
    """
    seq = re.sub(r"\s+", "", sequence).upper()
    if not _ALLOWED.match(seq):
        bad = sorted({c for c in seq if not "A" <= c <= "Z"})
        raise InputError(f"a DNA sequence holds letters only (A, C, G, T; N for unknown); "
                         f"found {' '.join(map(repr, bad))}")
    return seq


def encode(sequence: str, mapping: KmerMapping) -> list[int]:
    """Token ids of the non-overlapping k-mers of `sequence`, without [CLS]/[SEP].

    Returns len(sequence) // k ids; a k-mer that is not pure ACGT (e.g. holds N) -> [UNK].
    """
    seq, k = _letters(sequence), mapping.k
    return [mapping.ids.get(seq[i:i + k], mapping.unk_id)
            for i in range(0, len(seq) - k + 1, k)]


def encode_batch(seqs: list[str], mapping: KmerMapping, *, cls_id: int | None = None,
                 sep_id: int | None = None, pad_id: int | None = None,
                 max_len: int | None = None) -> dict[str, torch.Tensor]:
    """[CLS] k-mer ids [SEP], right-padded.

    Args:
        seqs: DNA strings.
        mapping: from make_mapping.
        cls_id, sep_id, pad_id: default to the mapping's tokenizer's ids.
        max_len: tokens per row including [CLS]/[SEP]; longer rows are cut (their k-mers
            beyond max_len-2 are dropped, [SEP] kept). Default: the longest row.
    Returns:
        {"input_ids": (B, T) long, "attention_mask": (B, T) long (1 = real token)}.
    """
    cls_id = mapping.cls_id if cls_id is None else cls_id
    sep_id = mapping.sep_id if sep_id is None else sep_id
    pad_id = mapping.pad_id if pad_id is None else pad_id
    rows = [encode(s, mapping) for s in seqs]
    if max_len is None:
        max_len = max((len(r) for r in rows), default=0) + 2
    if max_len < 2:
        raise ValueError(f"max_len must leave room for [CLS] and [SEP], got {max_len}")
    ids = torch.full((len(rows), max_len), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(rows), max_len), dtype=torch.long)  # (B, T)
    for b, r in enumerate(rows):
        row = [cls_id, *r[:max_len - 2], sep_id]
        ids[b, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[b, :len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def mapping_table(mapping: KmerMapping, *, limit: int | None = TABLE_ROWS
                  ) -> list[tuple[str, str, int]]:
    """(k-mer, word, token id) rows in ACGT order; the first `limit` rows (None = all)."""
    rows = [(km, w, mapping.ids[km]) for km, w in mapping.table.items()]
    return rows if limit is None else rows[:limit]


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _probs(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> np.ndarray:
    """Softmax over classes for a batch of (B, T) ids, in eval mode: (B, C) float64."""
    limit = getattr(getattr(getattr(model, "encoder", None), "config", None),
                    "max_position_embeddings", None)
    if limit is not None and batch["input_ids"].shape[1] > limit:
        raise InputError(f"{batch['input_ids'].shape[1] - 2} k-mers are too many: the model "
                         f"reads at most {limit - 2}; use a larger k or a shorter sequence")
    was_training = model.training
    model.eval()  # dropout off: predictions must not depend on luck
    try:
        dev = _device_of(model)
        out = model(**{k: v.to(dev) for k, v in batch.items()})
        logits = out.logits if hasattr(out, "logits") else out  # (B, C)
        return torch.softmax(logits.float(), dim=-1).cpu().double().numpy()
    finally:
        model.train(was_training)


def predict_proba_many(model: torch.nn.Module, sequences: list[str], mapping: KmerMapping,
                       *, batch_size: int = PREDICT_BATCH,
                       max_len: int | None = None) -> np.ndarray:
    """Class probabilities for many sequences: (N, C), rows sum to 1."""
    parts = [_probs(model, encode_batch(sequences[i:i + batch_size], mapping, max_len=max_len))
             for i in range(0, len(sequences), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0))


def predict_proba(model: torch.nn.Module, sequence: str, mapping: KmerMapping) -> np.ndarray:
    """Class probabilities for one sequence: (C,), sums to 1."""
    return predict_proba_many(model, [sequence], mapping)[0]


def occlusion_window(n_tokens: int, max_tokens: int = OCCLUSION_TOKENS) -> int:
    """K-mers hidden together so that all occluded variants of a sequence of `n_tokens`
    k-mers (+ [CLS] and [SEP]) hold at most `max_tokens` tokens: 1 for short sequences."""
    variants = max(1, max_tokens // (n_tokens + 2))
    return max(1, -(-n_tokens // variants))  # ceil(n / variants)


def importance(model: torch.nn.Module, sequence: str, mapping: KmerMapping, *,
               target: int | None = None, occlude: str = "unk",
               batch_size: int = PREDICT_BATCH, max_tokens: int = OCCLUSION_TOKENS
               ) -> np.ndarray:
    """Per-base importance by occlusion: how much hiding each k-mer lowers p(target).

    Every k-mer token is replaced in turn by [UNK] ("unk", default: the token the model
    sees for unknown bases such as N during fine-tuning) or [MASK] ("mask"); the score is
    p(target | sequence) - p(target | occluded). Each base gets its k-mer's score; bases of
    a dropped trailing partial k-mer get 0 (hiding them changes nothing). A sequence too long
    for `max_tokens` (see occlusion_window) hides windows of consecutive k-mers, and every
    base of a window gets the window's score.

    Args:
        target: class to explain; default the predicted class of the full sequence.
    Returns:
        (bases,) float64, whitespace not counted; > 0 where the base supports `target`.
    """
    if occlude not in OCCLUDERS:
        raise KeyError(f"unknown occluder {occlude!r}; choose one of {', '.join(OCCLUDERS)}")
    seq, k = _letters(sequence), mapping.k
    full = encode_batch([seq], mapping)  # (1, T) with T = n + 2
    n = full["input_ids"].shape[1] - 2  # k-mer tokens
    scores = np.zeros(len(seq))
    if n == 0:
        return scores
    p_full = _probs(model, full)[0]  # (C,)
    target = int(p_full.argmax()) if target is None else int(target)
    hide = mapping.unk_id if occlude == "unk" else mapping.mask_id
    w = occlusion_window(n, max_tokens)
    starts = list(range(0, n, w))
    variants = full["input_ids"].repeat(len(starts), 1)  # (V, T): row v hides window v
    for v, start in enumerate(starts):
        variants[v, 1 + start:1 + min(start + w, n)] = hide  # +1 skips [CLS]
    mask = full["attention_mask"].repeat(len(starts), 1)  # (V, T)
    p_hidden = np.concatenate([
        _probs(model, {"input_ids": variants[i:i + batch_size],
                       "attention_mask": mask[i:i + batch_size]})[:, target]
        for i in range(0, len(starts), batch_size)])  # (V,)
    per_token = np.repeat(p_full[target] - p_hidden, w)[:n]  # window score -> its k-mers
    scores[:n * k] = np.repeat(per_token, k)  # k-mer score -> its k bases
    return scores
    p_full = _probs(model, full)[0]  # (C,)
    target = int(p_full.argmax()) if target is None else int(target)
    hide = mapping.unk_id if occlude == "unk" else mapping.mask_id
    variants = full["input_ids"].repeat(n, 1)  # (n, T): row i hides k-mer i
    variants[torch.arange(n), torch.arange(n) + 1] = hide  # +1 skips [CLS]
    mask = full["attention_mask"].repeat(n, 1)  # (n, T)
    p_hidden = np.concatenate([
        _probs(model, {"input_ids": variants[i:i + batch_size],
                       "attention_mask": mask[i:i + batch_size]})[:, target]
        for i in range(0, n, batch_size)])  # (n,)
    scores[:n * k] = np.repeat(p_full[target] - p_hidden, k)  # k-mer score -> its k bases
    return scores
