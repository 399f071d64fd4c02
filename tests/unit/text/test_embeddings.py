"""core.text.embeddings on a tiny random-init encoder: shapes and pooling invariants."""
from __future__ import annotations

import numpy as np
import torch

from core.text import embeddings as E

TEXTS = ["Everyone has the right to life.", "A right, and another right!",
         "人人有权利。", "No one shall be held in slavery or servitude at all, ever."]


def _direct_tokens(loaded, text):
    """Token vectors (L+1, T, H) and offsets of one text, no batching."""
    enc = loaded.tokenizer(text, return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].numpy()
    with torch.inference_mode():
        out = loaded.model(**enc, output_hidden_states=True)
    hidden = torch.stack(out.hidden_states)[:, 0].numpy()
    return hidden, offsets


def test_shapes_and_language_mean(tiny_model):
    emb = E.embed_language(tiny_model, "en", TEXTS[:2] + TEXTS[3:], ["right", "life"])
    assert emb.sentence_vecs.shape == (3, 3, 32)  # (L+1, S, H)
    assert emb.mean.shape == (3, 32)
    # the language vector is the mean of all non-special token vectors
    tokens = []
    for t in TEXTS[:2] + TEXTS[3:]:
        hidden, offs = _direct_tokens(tiny_model, t)
        tokens.append(hidden[:, offs[:, 1] > offs[:, 0]])
    all_tokens = np.concatenate(tokens, axis=1)
    assert emb.token_count == all_tokens.shape[1]
    np.testing.assert_allclose(emb.mean, all_tokens.mean(axis=1), atol=1e-5)


def test_batched_equals_unbatched_despite_padding(tiny_model):
    emb = E.embed_language(tiny_model, "en", TEXTS)
    for i, t in enumerate(TEXTS):
        hidden, offs = _direct_tokens(tiny_model, t)
        direct = hidden[:, offs[:, 1] > offs[:, 0]].mean(axis=1)
        np.testing.assert_allclose(emb.sentence_vecs[:, i], direct, atol=1e-5)


def test_word_vector_is_mean_over_occurrences_of_mean_over_pieces(tiny_model):
    texts = TEXTS[:2]
    emb = E.embed_language(tiny_model, "en", texts, ["right", "absent"])
    assert emb.word_counts == {"right": 3}  # once in the first text, twice in the second
    assert "absent" not in emb.word_vecs
    occ = []
    for t in texts:
        hidden, offs = _direct_tokens(tiny_model, t)
        for start in [i for i in range(len(t)) if t.lower().startswith("right", i)]:
            pieces = (offs[:, 0] < start + 5) & (offs[:, 1] > start) & (offs[:, 1] > offs[:, 0])
            occ.append(hidden[:, pieces].mean(axis=1))
    np.testing.assert_allclose(emb.word_vecs["right"], np.mean(occ, axis=0), atol=1e-5)


def test_cjk_word_found_without_segmenter(tiny_model):
    emb = E.embed_language(tiny_model, "zh", ["人人有权利。", "权利和自由"], ["权利", "自由"])
    assert emb.word_counts == {"权利": 2, "自由": 1}
    assert emb.word_vecs["权利"].shape == (3, 32)


def test_cache_returns_same_object(tiny_model):
    a = E.cached_embed_language(tiny_model, "en", TEXTS[:2], ["right"])
    assert E.is_cached("tiny-test", "en", TEXTS[:2], ["right"])
    b = E.cached_embed_language(tiny_model, "en", TEXTS[:2], ["right"])
    assert a is b
    c = E.cached_embed_language(tiny_model, "en", TEXTS[:3], ["right"])
    assert c is not a


def test_partial_depth_matches_the_full_pass(tiny_model):
    enc = tiny_model.tokenizer(TEXTS, return_tensors="pt", padding=True)
    with torch.inference_mode():
        full = torch.stack(tiny_model.model(**enc, output_hidden_states=True).hidden_states, 1)
    for depth in (0, 1, 2):
        part = E.forward_layers(tiny_model.model, dict(enc), depth)
        assert part.shape[1] == depth + 1
        torch.testing.assert_close(part, full[:, :depth + 1])
    emb = E.cached_embed_language(tiny_model, "en", TEXTS[:1], depth=1)
    assert emb.depth == 1 and emb.sentence_vecs.shape[0] == 2
    deeper = E.cached_embed_language(tiny_model, "en", TEXTS[:1], depth=2)
    assert deeper.depth == 2 and E.cached_embed_language(tiny_model, "en", TEXTS[:1],
                                                         depth=1) is deeper
