"""Contextual vectors at every layer, pooled into word, sentence and language vectors.

One forward pass per sentence gives every layer up to the one asked for (hooks collect them),
so a layer sweep costs one pass and a map at an early layer costs a fraction of one. Token vectors are reduced on the fly and never all kept:
  - sentence vector = mean of its non-special token vectors
  - word vector     = mean over the word's occurrences of (mean over its sub-word pieces),
                      pieces found through the tokenizer's character offsets, so CJK words
                      need no segmenter: a lexicon word is matched as a character span
  - language vector = mean of all non-special token vectors of that language
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from core.common.layers import run_until
from core.text.models import LoadedModel
from core.text.spans import find_spans

BATCH_SIZE = 16  # sentences per forward pass; batches are length-sorted to limit padding
MAX_TOKENS = 256  # longer sentences are truncated (UDHR paragraphs stay well below)
CACHE_ENTRIES = 64  # per-(model, language, text) embeddings kept in memory

Progress = Callable[[int, int], None]  # (done, total) sentences


@dataclass
class LanguageEmbedding:
    """Everything the analyses need from one language's sentences, for all layers."""

    lang: str
    sentence_vecs: np.ndarray  # (d+1, S, H) float32, layer 0 = embeddings output, d = depth
    token_sum: np.ndarray  # (d+1, H) float64, sum of all non-special token vectors
    token_count: int
    word_vecs: dict[str, np.ndarray] = field(default_factory=dict)  # word -> (L+1, H)
    word_counts: dict[str, int] = field(default_factory=dict)  # word -> occurrences

    @property
    def depth(self) -> int:
        """The deepest layer held (layers 0..depth)."""
        return self.sentence_vecs.shape[0] - 1

    @property
    def mean(self) -> np.ndarray:
        """The language vector at every layer, (L+1, H)."""
        return (self.token_sum / max(self.token_count, 1)).astype(np.float32)


def forward_layers(model: torch.nn.Module, enc: dict, depth: int) -> torch.Tensor:
    """Hidden states of the embedding output and the first `depth` layers, and no more.

    Hooks on `model.embeddings` and `model.encoder.layer[i]` (BERT / XLM-R layout) collect
    the states (core.common.layers); a map at layer 3 of 12 thus costs a quarter of a pass.
    Returns:
        (B, depth+1, T, H) tensor; index 0 = embeddings, i = output of layer i.
    """
    layers = model.encoder.layer
    if not 0 <= depth <= len(layers):
        raise ValueError(f"depth must be in 0..{len(layers)}, got {depth}")
    states = run_until([model.embeddings, *layers[:depth]], lambda: model(**enc), owner=model)
    return torch.stack(states, dim=1)


def iter_hidden_states(
    loaded: LoadedModel, texts: Sequence[str], *, depth: int | None = None,
    batch_size: int = BATCH_SIZE, on_batch: Progress | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Runs the encoder over texts in length-sorted batches.

    Args:
        loaded: a model from core.text.models.load_model.
        texts: sentences; order of results follows the sorted batches, not the input.
        depth: deepest layer wanted (default: all layers).
        on_batch: called with (done, total) after each batch.
    Yields:
        (index into texts, hidden (depth+1, T, H) float32 without padding, offsets (T, 2)
        with (0, 0) marking special tokens).
    """
    depth = loaded.num_layers if depth is None else depth
    tok = loaded.tokenizer
    from core.text.finetune import usable_length

    longest = min(MAX_TOKENS, usable_length(loaded.model))  # the lab's small BERTs: 128
    lengths = [len(ids) for ids in tok(list(texts), add_special_tokens=True,
                                           truncation=True, max_length=longest)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    done = 0
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                  max_length=longest, return_offsets_mapping=True,
                  return_special_tokens_mask=True)
        offsets = enc.pop("offset_mapping").numpy()  # (B, T, 2)
        special = enc.pop("special_tokens_mask").numpy().astype(bool)  # (B, T)
        enc = {k: v.to(loaded.device) for k, v in enc.items()}
        hidden = forward_layers(loaded.model, enc, depth).float().cpu().numpy()  # (B, d+1, T, H)
        mask = enc["attention_mask"].cpu().numpy().astype(bool)  # (B, T)
        for b, i in enumerate(idx):
            keep = mask[b]
            offs = offsets[b][keep].copy()
            offs[special[b][keep]] = 0  # special tokens carry no text
            yield int(i), hidden[b][:, keep], offs
        done += len(idx)
        if on_batch:
            on_batch(done, len(texts))


def embed_language(
    loaded: LoadedModel, lang: str, texts: Sequence[str], words: Sequence[str] = (), *,
    depth: int | None = None, on_batch: Progress | None = None,
) -> LanguageEmbedding:
    """Sentence, word and language vectors of one language at every layer.

    Args:
        loaded: the encoder.
        lang: language code, used for the word-matching rule (CJK substring, ...).
        texts: that language's sentences.
        words: words whose occurrence-averaged vectors are wanted; absent ones are skipped.
        depth: deepest layer to compute (default all); layers 0..depth are returned.
    Returns:
        A LanguageEmbedding; word_vecs holds only words found at least once.
    """
    depth = loaded.num_layers if depth is None else depth
    n_layers = depth + 1
    hidden_size = int(loaded.model.config.hidden_size)
    sentence_vecs = np.zeros((n_layers, len(texts), hidden_size), np.float32)
    token_sum = np.zeros((n_layers, hidden_size), np.float64)
    token_count = 0
    word_sum: dict[str, np.ndarray] = {}
    word_counts: dict[str, int] = {}
    for i, hidden, offsets in iter_hidden_states(loaded, texts, depth=depth, on_batch=on_batch):
        real = offsets[:, 1] > offsets[:, 0]  # (T,) tokens that cover text
        vecs = hidden[:, real]  # (L+1, T', H)
        offs = offsets[real]
        if vecs.shape[1] == 0:
            continue
        sentence_vecs[:, i] = vecs.mean(axis=1)
        token_sum += vecs.sum(axis=1)
        token_count += vecs.shape[1]
        for word in words:
            for start, end in find_spans(word, lang, texts[i]):
                pieces = (offs[:, 0] < end) & (offs[:, 1] > start)  # overlap the span
                if not pieces.any():
                    continue  # the word was cut off by truncation
                occ = vecs[:, pieces].mean(axis=1)  # (L+1, H)
                word_sum[word] = word_sum.get(word, 0.0) + occ
                word_counts[word] = word_counts.get(word, 0) + 1
    word_vecs = {w: (s / word_counts[w]).astype(np.float32) for w, s in word_sum.items()}
    return LanguageEmbedding(lang, sentence_vecs, token_sum, token_count, word_vecs, word_counts)


# --------------------------------------------------------------------------------- cache
_CACHE: OrderedDict[str, LanguageEmbedding] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _key(model_name: str, lang: str, texts: Sequence[str], words: Sequence[str]) -> str:
    h = hashlib.sha1()
    for part in (model_name, lang, "\x00".join(texts), "\x00".join(sorted(words))):
        h.update(part.encode("utf-8"))
        h.update(b"\x01")
    return h.hexdigest()


def cached_embed_language(
    loaded: LoadedModel, lang: str, texts: Sequence[str], words: Sequence[str] = (), *,
    depth: int | None = None, on_batch: Progress | None = None,
) -> LanguageEmbedding:
    """embed_language with an in-memory LRU keyed by model, language, texts and words.

    A cached entry that reaches at least `depth` layers is reused (a deeper request replaces
    it), so the result may hold more layers than asked for.
    """
    depth = loaded.num_layers if depth is None else depth
    key = _key(loaded.spec.name, lang, texts, words)
    with _CACHE_LOCK:
        if key in _CACHE and _CACHE[key].depth >= depth:
            _CACHE.move_to_end(key)
            if on_batch:
                on_batch(len(texts), len(texts))
            return _CACHE[key]
    emb = embed_language(loaded, lang, texts, words, depth=depth, on_batch=on_batch)
    with _CACHE_LOCK:
        _CACHE[key] = emb
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return emb


def is_cached(model_name: str, lang: str, texts: Sequence[str], words: Sequence[str],
              depth: int = 0) -> bool:
    with _CACHE_LOCK:
        entry = _CACHE.get(_key(model_name, lang, texts, words))
        return entry is not None and entry.depth >= depth
