"""core.dna.encode / core.dna.model: k-mer mapping, encoding, the three inits, occlusion.

Unit tests use MiniLM's real packaged tokenizer with a tiny random BertModel as "the
pretrained model"; one `embedded` test loads the real 6-layer MiniLM.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.common.training import TrainConfig, batch_sampler, train
from core.dna import encode as dna
from core.dna.model import count_parameters

NUM_LABELS = 3


@pytest.fixture(scope="module")
def tok(tiny_model):
    return tiny_model.tokenizer


@pytest.fixture(scope="module")
def base(tok):
    """A tiny BertModel whose every weight is perturbed, standing in for a pretrained one
    (fresh-init LayerNorms are exactly 1/0 and would equal a random init's)."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    model = BertModel(cfg, add_pooling_layer=False)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ------------------------------------------------------------------------------- mapping
@pytest.mark.parametrize("k", [1, 2, 3])
def test_mapping_is_a_bijection_onto_whole_english_words(tok, k):
    m = dna.make_mapping(tok, k=k, seed=0)
    kmers = {"".join(p) for p in itertools.product("ACGT", repeat=k)}
    assert m.k == k and set(m.table) == kmers and set(m.ids) == kmers
    assert len(set(m.table.values())) == 4 ** k == len(set(m.ids.values()))
    special = set(tok.all_special_tokens) | set(tok.all_special_ids)
    for kmer, word in m.table.items():
        assert word.isascii() and word.isalpha() and word.islower() and len(word) >= 3
        assert not word.startswith("##") and word not in special
        assert not set(word) <= set("acgt")  # never a DNA-looking word ("cat", "tag")
        assert tok.tokenize(word) == [word]  # one whole-word token, not pieces
        assert m.ids[kmer] == tok.convert_tokens_to_ids(word) not in special


def test_k6_needs_4096_distinct_words(tok):
    m = dna.make_mapping(tok, k=6, seed=3)
    assert len(m.table) == 4096 == len(set(m.ids.values()))


def test_seed_picks_the_words(tok):
    a, b = dna.make_mapping(tok, k=2, seed=0), dna.make_mapping(tok, k=2, seed=1)
    assert a.table == dna.make_mapping(tok, k=2, seed=0).table
    assert a.table != b.table and a.seed == 0 and b.seed == 1
    with pytest.raises(InputError, match="between 1 and 6"):
        dna.make_mapping(tok, k=7)


# ------------------------------------------------------------------------------ encoding
def test_encode_non_overlapping_kmers_and_unknowns(tok):
    m1, m2 = dna.make_mapping(tok, k=1), dna.make_mapping(tok, k=2)
    assert dna.encode("ACGT", m1) == [m1.ids[b] for b in "ACGT"]
    assert dna.encode(" ac\ngt ", m1) == dna.encode("ACGT", m1)  # case, whitespace
    assert dna.encode("ANGT", m1) == [m1.ids["A"], tok.unk_token_id, m1.ids["G"], m1.ids["T"]]
    assert dna.encode("ANGTC", m2) == [tok.unk_token_id, m2.ids["GT"]]  # "C" dropped
    assert dna.encode("A", m2) == []
    with pytest.raises(InputError, match="letters only"):
        dna.encode("AC-GT", m1)


def test_encode_batch_adds_cls_sep_and_pads(tok):
    m = dna.make_mapping(tok, k=1)
    b = dna.encode_batch(["ACGT", "AC"], m)
    cls, sep, pad = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id
    a, c, g, t = (m.ids[x] for x in "ACGT")
    assert b["input_ids"].shape == b["attention_mask"].shape == (2, 6)
    assert b["input_ids"].tolist() == [[cls, a, c, g, t, sep], [cls, a, c, sep, pad, pad]]
    assert b["attention_mask"].tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]
    cut = dna.encode_batch(["ACGT"], m, max_len=4)["input_ids"]
    assert cut.tolist() == [[cls, a, c, sep]] and cut.dtype == torch.long
    assert dna.encode_batch(["ACGT"] * 5, m, max_len=62)["input_ids"].shape == (5, 62)


def test_mapping_table_rows(tok):
    m1, m4 = dna.make_mapping(tok, k=1), dna.make_mapping(tok, k=4)
    assert dna.mapping_table(m1) == [(b, m1.table[b], m1.ids[b]) for b in "ACGT"]
    rows = dna.mapping_table(m4)
    assert len(rows) == dna.TABLE_ROWS < 256 and rows[0][0] == "AAAA" and rows[1][0] == "AAAC"
    assert len(dna.mapping_table(m4, limit=None)) == 256


# --------------------------------------------------------------------------------- inits
def test_three_inits_share_the_architecture(base):
    models = {i: dna.build_classifier(i, NUM_LABELS, base=base, seed=0) for i in dna.INITS}
    assert dna.INITS == ("pretrained", "re-emb", "random") == tuple(dna.available_inits())
    shapes = {i: {k: v.shape for k, v in m.state_dict().items()} for i, m in models.items()}
    assert shapes["pretrained"] == shapes["re-emb"] == shapes["random"]
    counts = {count_parameters(m) for m in models.values()}
    assert len(counts) == 1 and counts.pop() == count_parameters(base) + 32 * NUM_LABELS + 3
    heads = [m.head.weight for m in models.values()]  # same seed -> same head: a fair race
    assert all(torch.equal(heads[0], h) for h in heads)
    with pytest.raises(KeyError, match="pretrained, re-emb, random"):
        dna.build_classifier("imagenet", NUM_LABELS, base=base)


def test_init_weights_come_from_the_right_place(base):
    before = _state(base)
    rng_before = torch.get_rng_state()
    src = base.state_dict()
    pre = dna.build_classifier("pretrained", NUM_LABELS, base=base).encoder.state_dict()
    reemb = dna.build_classifier("re-emb", NUM_LABELS, base=base).encoder.state_dict()
    rand = dna.build_classifier("random", NUM_LABELS, base=base).encoder.state_dict()
    word = "embeddings.word_embeddings.weight"
    assert set(pre) == set(src)
    assert all(torch.equal(pre[k], src[k]) for k in src)
    assert not torch.equal(reemb[word], src[word])
    assert all(torch.equal(reemb[k], src[k]) for k in src if k != word)
    std = reemb[word][1:].std().item()  # row 0 is [PAD], kept at zero
    assert abs(std - base.config.initializer_range) < 0.002
    float_keys = [k for k in src if src[k].is_floating_point()]
    assert all(not torch.equal(rand[k], src[k]) for k in float_keys)
    # the source is never modified, and the caller's RNG is left where it was
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in before.items())
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_build_is_seeded(base):
    a = dna.build_classifier("random", NUM_LABELS, base=base, seed=0).state_dict()
    b = dna.build_classifier("random", NUM_LABELS, base=base, seed=0).state_dict()
    c = dna.build_classifier("random", NUM_LABELS, base=base, seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.weight"], c["head.weight"])


# ------------------------------------------------------------------- prediction/occlusion
def test_predict_proba_and_importance(tok, base):
    m = dna.make_mapping(tok, k=2, seed=0)
    model = dna.build_classifier("pretrained", NUM_LABELS, base=base)  # train mode
    seq = "ACGTTGCAAGC"  # 11 bases: 5 k-mers + a dropped "C"
    p = dna.predict_proba(model, seq, m)
    assert p.shape == (NUM_LABELS,) and p.sum() == pytest.approx(1.0) and (p >= 0).all()
    many = dna.predict_proba_many(model, [seq, "AAAA", "GGGGGG"], m, batch_size=2)
    assert many.shape == (3, NUM_LABELS) and np.allclose(many.sum(1), 1.0)
    assert np.allclose(many[0], p, atol=1e-6)  # dropout is off and padding is masked
    assert model.training  # restored
    imp = dna.importance(model, seq, m)
    assert imp.shape == (len(seq),) and np.isfinite(imp).all() and imp[-1] == 0.0
    assert np.array_equal(imp[0::2][:5], imp[1::2][:5])  # both bases of a k-mer share it
    # occluding k-mer i with [UNK] is the same as writing "NN" there
    target = int(p.argmax())
    for i in range(5):
        hidden = seq[:2 * i] + "NN" + seq[2 * i + 2:]
        want = p[target] - dna.predict_proba(model, hidden, m)[target]
        assert imp[2 * i] == pytest.approx(want, abs=1e-5)
    assert dna.importance(model, seq, m, occlude="mask").shape == (len(seq),)
    with pytest.raises(KeyError, match="unk, mask"):
        dna.importance(model, seq, m, occlude="zero")
    with pytest.raises(InputError, match="at most 126"):  # tiny base: 128 positions
        dna.predict_proba(model, "AC" * 127, m)  # 127 k-mers + [CLS] + [SEP] = 129


def test_long_sequences_are_occluded_in_windows_within_the_token_budget(tok, base):
    m = dna.make_mapping(tok, k=1, seed=0)
    model = dna.build_classifier("pretrained", NUM_LABELS, base=base).eval()
    assert dna.occlusion_window(60) == 1  # a splice sequence: one base at a time
    assert dna.occlusion_window(510) == 64  # 8 windows x 512 tokens = 4,096
    seq = "ACGTTGCAAGCATTGACCAG"  # 20 bases; budget 44 tokens -> 2 variants of 22: windows of 10
    assert dna.occlusion_window(len(seq), max_tokens=44) == 10
    imp = dna.importance(model, seq, m, max_tokens=44)
    assert imp.shape == (20,) and len(set(imp[:10])) == 1 and len(set(imp[10:])) == 1
    p = dna.predict_proba(model, seq, m)
    target = int(p.argmax())
    for lo in (0, 10):
        hidden = seq[:lo] + "N" * 10 + seq[lo + 10:]
        want = p[target] - dna.predict_proba(model, hidden, m)[target]
        assert imp[lo] == pytest.approx(want, abs=1e-5)


def test_a_tiny_classifier_learns_a_toy_dna_rule(tok, base):
    """Label = the first base is a purine (A/G): learnable in a few dozen steps."""
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(200)]
    labels = torch.tensor([int(s[0] in "AG") for s in seqs])
    m = dna.make_mapping(tok, k=1)
    data = {**dna.encode_batch(seqs[:150], m), "labels": labels[:150]}
    model = dna.build_classifier("random", 2, base=base, pooling="cls")

    def dev_acc(model):
        p = dna.predict_proba_many(model, seqs[150:], m)
        return {"acc": float((p.argmax(1) == labels[150:].numpy()).mean())}

    cfg = TrainConfig(max_steps=80, batch_size=32, lr=3e-3, warmup_steps=5)
    *_, last = train(model, batch_sampler(data, cfg.batch_size), cfg, evaluate=dev_acc,
                     device="cpu")
    assert last.metrics["acc"] >= 0.9, last


@pytest.mark.embedded
def test_real_minilm_pretrained_copy_and_reemb():
    from core.text.models import load_model

    loaded = load_model("all-minilm-l6-v2")
    src = loaded.model.state_dict()
    word = "embeddings.word_embeddings.weight"
    keep = src[word].clone()
    m = dna.make_mapping(loaded.tokenizer, k=6, seed=0)
    assert len(set(m.ids.values())) == 4096
    pre = dna.build_classifier("pretrained", NUM_LABELS, model_name="all-minilm-l6-v2")
    reemb = dna.build_classifier("re-emb", NUM_LABELS, model_name="all-minilm-l6-v2")
    assert 22_000_000 < count_parameters(pre) == count_parameters(reemb) < 23_000_000
    enc = pre.encoder.state_dict()
    assert all(torch.equal(enc[k], v.cpu()) for k, v in src.items())
    assert not torch.equal(reemb.encoder.state_dict()[word], keep.cpu())
    assert torch.equal(loaded.model.state_dict()[word], keep)  # shared cached model untouched
    p = dna.predict_proba(pre, "ACGT" * 15, dna.make_mapping(loaded.tokenizer, k=1))
    assert p.shape == (NUM_LABELS,) and p.sum() == pytest.approx(1.0)
