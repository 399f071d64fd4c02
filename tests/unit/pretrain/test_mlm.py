"""core.pretrain.mlm: masking, the MLM model, data sources, training, resume, torchrun, the bench.

Everything runs on CPU with the tiny size (2 layers, 128 wide) and a handful of steps.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from core.common.errors import InputError
from core.common.paths import ROOT
from core.pretrain import mlm as pt

N_LINES = 2000  # lines for the masking statistics: rates within +-0.02 of their target
TORCHRUN_TIMEOUT_S = 180  # two CPU workers normally finish in 10-20 s


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a small shared machine two threads fighting other work are far
    slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tok():
    return pt.english_tokenizer()


@pytest.fixture(scope="module")
def ids(tok):
    return pt.TokenIds.from_tokenizer(tok)


# ------------------------------------------------------------------------------- masking
def test_mask_lines_invariants(tok, ids):
    lines = pt.line_source("uniform", tok)(N_LINES, np.random.default_rng(0))  # (N, 126)
    b = pt.mask_lines(lines, np.random.default_rng(1), tokenizer_ids=ids)
    inp, lab, pos = (b[k].numpy() for k in ("input_ids", "labels", "masked_positions"))
    assert inp.shape == lab.shape == (N_LINES, pt.MAX_POSITIONS)
    assert (b["attention_mask"].numpy() == 1).all()
    assert (inp[:, 0] == tok.cls_token_id).all() and (inp[:, -1] == tok.sep_token_id).all()
    assert (lab[:, [0, -1]] == pt.IGNORE_INDEX).all()  # [CLS]/[SEP] never predicted

    chosen = lab != pt.IGNORE_INDEX
    per_line = chosen.sum(1)
    assert (per_line == pt.masked_count(pt.LINE_LENGTH)).all() and per_line.min() >= 1
    assert 0.14 < chosen[:, 1:-1].mean() < 0.16  # 19 of 126 = 15.1 %
    # labels sit exactly at masked_positions and hold the original ids
    by_pos = np.zeros_like(chosen)
    np.put_along_axis(by_pos, pos, True, axis=1)
    assert (by_pos == chosen).all()
    assert (lab[:, 1:-1][chosen[:, 1:-1]] == lines[chosen[:, 1:-1]]).all()
    assert (inp[:, 1:-1][~chosen[:, 1:-1]] == lines[~chosen[:, 1:-1]]).all()
    # every position of the line is chosen about equally often
    col = chosen[:, 1:-1].mean(0)
    assert col.min() > 0.10 and col.max() < 0.20, (col.min(), col.max())

    got, orig = inp[chosen], lab[chosen]
    masked = got == tok.mask_token_id
    same = got == orig
    other = ~masked & ~same
    assert masked.mean() == pytest.approx(0.8, abs=0.02)
    assert same.mean() == pytest.approx(0.1, abs=0.02)
    assert other.mean() == pytest.approx(0.1, abs=0.02)
    assert np.isin(got[other], ids.usable).all()  # random ids are real tokens

    again = pt.mask_lines(lines, np.random.default_rng(1), tokenizer_ids=ids)
    other_seed = pt.mask_lines(lines, np.random.default_rng(2), tokenizer_ids=ids)
    assert all(torch.equal(b[k], again[k]) for k in b)
    assert not torch.equal(b["labels"], other_seed["labels"])


def test_special_ids_inside_a_line_are_not_chosen_and_short_lines_get_one(tok, ids):
    lines = pt.line_source("uniform", tok, length=20)(500, np.random.default_rng(0))
    lines[:, 7] = tok.sep_token_id  # like the [SEP] between English documents
    b = pt.mask_lines(lines, np.random.default_rng(0), tokenizer_ids=ids)
    assert (b["labels"][:, 8] == pt.IGNORE_INDEX).all()  # column 7 of the line, after [CLS]
    short = pt.mask_lines(lines[:, :2], np.random.default_rng(0), tokenizer_ids=ids)
    assert ((short["labels"] != pt.IGNORE_INDEX).sum(1) == 1).all()


# --------------------------------------------------------------------------------- model
def _batch(tok, ids, n=3, seed=0):
    lines = pt.line_source("zipf-1.2", tok)(n, np.random.default_rng(seed))
    return pt.mask_lines(lines, np.random.default_rng(seed), tokenizer_ids=ids)


@pytest.mark.parametrize("arch", pt.ARCHS)
def test_masked_lm_loss_equals_the_full_logits_reference(tok, ids, arch):
    from transformers import BertModel, RobertaModel

    model = pt.build_mlm("tiny", arch, vocab_size=len(tok), seed=0).eval()
    assert type(model.encoder) is {"bert": BertModel, "roberta": RobertaModel}[arch]
    assert model.encoder.pooler is None
    assert model.head.decoder.weight is model.encoder.get_input_embeddings().weight  # tied
    b = _batch(tok, ids)
    with torch.no_grad():
        loss = model(**b)
        hidden = model.encoder(input_ids=b["input_ids"],
                               attention_mask=b["attention_mask"]).last_hidden_state
        logits = model.head(hidden)  # (B, 128, V)
        ref = torch.nn.functional.cross_entropy(logits.flatten(0, 1), b["labels"].flatten(),
                                                ignore_index=-100)
        # no masked_positions: found from the labels; no attention mask: same (nothing padded)
        from_labels = model(b["input_ids"], labels=b["labels"])
        all_logits = model(b["input_ids"])
    assert loss.ndim == 0 and abs(loss.item() - np.log(len(tok))) < 1.0  # near-uniform at init
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(from_labels, ref)
    assert all_logits.shape == (3, pt.MAX_POSITIONS, len(tok))


def test_bert_head_is_bert_for_masked_lm(tok, ids):
    """Our weights loaded into transformers' BertForMaskedLM give the same loss."""
    from transformers import BertForMaskedLM

    model = pt.build_mlm("tiny", vocab_size=len(tok), seed=3).eval()
    stock = BertForMaskedLM(pt.make_config("tiny", vocab_size=len(tok))).eval()
    rename = {"head.transform.0.": "cls.predictions.transform.dense.",
              "head.transform.2.": "cls.predictions.transform.LayerNorm.",
              "head.bias": "cls.predictions.bias", "encoder.": "bert."}
    state = {}
    for name, t in model.state_dict().items():
        new = next((name.replace(a, b, 1) for a, b in rename.items() if name.startswith(a)), None)
        if new is not None:
            state[new] = t
    missing, unexpected = stock.load_state_dict(state, strict=False)
    assert not unexpected and all("decoder" in m for m in missing), (missing, unexpected)
    stock.tie_weights()
    b = _batch(tok, ids, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(model(**b), stock(**b).loss)


def test_same_seed_same_weights_other_seed_other_weights(tok):
    a, b, c = (pt.build_mlm("tiny", vocab_size=len(tok), seed=s) for s in (0, 0, 1))
    assert pt.param_digest(a) == pt.param_digest(b) != pt.param_digest(c)
    state = torch.get_rng_state()
    pt.build_mlm("tiny", vocab_size=len(tok), seed=5)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone


def test_configs(tok):
    bert = pt.make_config("medium", vocab_size=len(tok))
    rob = pt.make_config("small", "roberta", vocab_size=len(tok))
    assert (bert.num_hidden_layers, bert.hidden_size, bert.num_attention_heads,
            bert.intermediate_size) == (8, 512, 8, 2048)
    assert bert.max_position_embeddings == pt.MAX_POSITIONS
    assert rob.max_position_embeddings == pt.MAX_POSITIONS + 2 and rob.pad_token_id == 0
    assert bert._attn_implementation == rob._attn_implementation == "sdpa"


# ---------------------------------------------------------------------------------- data
def test_english_lines_read_as_english(tok):
    uni = pt.english_unigram(tok)
    assert uni.shape == (len(tok),) and uni.sum() == pytest.approx(1.0)
    assert (uni[tok.all_special_ids] == 0).all()
    top = set(tok.convert_ids_to_tokens(np.argsort(uni)[::-1][:10].tolist()))
    assert {"the", ".", ",", "a"} <= top, top
    common = np.argsort(uni)[::-1][:2000]

    lines = pt.line_source("english", tok)(50, np.random.default_rng(0))
    assert lines.shape == (50, pt.LINE_LENGTH) and lines.dtype == np.int64
    assert np.isin(lines, common).mean() > 0.6  # mostly everyday words
    noise = pt.line_source("uniform", tok)(50, np.random.default_rng(0))
    assert np.isin(noise, common).mean() < 0.1
    text = tok.decode(lines[0])
    words = text.split()
    assert len(words) > 40 and sum(w in {"the", "a", "and", "of", "to", "is"} for w in words) >= 3
    assert (lines == tok.sep_token_id).any()  # documents are joined by [SEP]


def test_unigram_source_follows_english_frequencies(tok):
    uni = pt.english_unigram(tok)
    lines = pt.line_source("unigram", tok)(400, np.random.default_rng(0))
    assert not np.isin(lines, tok.all_special_ids).any()
    counts = np.bincount(lines.ravel(), minlength=len(tok))
    top = np.argsort(uni)[::-1][:200]
    rho = spearmanr(uni[top], counts[top]).statistic
    assert rho > 0.5, rho


def test_each_rank_gets_its_own_data(tok):
    cfg = pt.PretrainConfig(scheme="shuffle-4", batch_size=4)
    r0, r1 = pt.batch_maker(cfg, tok, rank=0), pt.batch_maker(cfg, tok, rank=1)
    assert torch.equal(r0(3)["input_ids"], r0(3, None)["input_ids"])  # pure in the step
    assert not torch.equal(r0(3)["input_ids"], r1(3)["input_ids"])
    assert not torch.equal(r0(3)["input_ids"], r0(4)["input_ids"])
    assert "attention_mask" not in r0(0)  # nothing is padded


# ------------------------------------------------------------------------------ training
def test_pretraining_lowers_the_mlm_loss(tok):
    model = pt.build_mlm("tiny", vocab_size=len(tok), seed=0)
    cfg = pt.PretrainConfig(scheme="zipf-1.2", steps=30, batch_size=4, warmup_steps=3,
                            log_every=1)
    events = list(pt.pretrain(model, cfg, device="cpu"))
    assert [e.step for e in events] == list(range(1, 31))
    first = np.mean([e.loss for e in events[:3]])
    last = np.mean([e.loss for e in events[-5:]])
    assert first > 9.5 and last < first - 1.5, (first, last)
    assert model.training is False


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_resume_ends_where_the_uninterrupted_run_ends(tok, tmp_path):
    def cfg(folder):
        return pt.PretrainConfig(scheme="shuffle-4", steps=6, batch_size=2, warmup_steps=2,
                                 log_every=1, checkpoint_dir=str(tmp_path / folder),
                                 checkpoint_every=3)

    whole = pt.build_mlm("tiny", vocab_size=len(tok), seed=0)
    whole_losses = [e.loss for e in pt.pretrain(whole, cfg("a"), device="cpu")]

    part = pt.build_mlm("tiny", vocab_size=len(tok), seed=0)
    gen = pt.pretrain(part, cfg("b"), device="cpu")
    losses = [next(gen).loss for _ in range(3)]
    gen.close()  # stopped after step 3, the checkpoint of step 3 on disk
    saved = pt.load_checkpoint(tmp_path / "b" / pt.CHECKPOINT_NAME)
    assert saved["step"] == 3 and saved["config"]["steps"] == 6
    assert pt.param_digest(part) != pt.param_digest(whole)

    again = pt.build_mlm("tiny", vocab_size=len(tok), seed=0)
    losses += [e.loss for e in pt.pretrain(again, cfg("b"), device="cpu", resume=True)]
    assert losses == pytest.approx(whole_losses, abs=1e-5)
    a, b = _params(whole), _params(again)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6, msg=k)
    end = pt.load_checkpoint(tmp_path / "b" / pt.CHECKPOINT_NAME)
    assert end["step"] == 6
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "b").iterdir())

    with pytest.raises(InputError, match="another run"):  # a different run's checkpoint
        pt.pretrain(again, pt.PretrainConfig(**{**vars(cfg("b")), "seed": 1}), resume=True)


def test_torchrun_two_processes(tok, tmp_path):
    ck, digests = tmp_path / "ck", tmp_path / "digests"
    env = dict(os.environ, OMP_NUM_THREADS="1", SSL_LAB_DEVICE="cpu", HF_HUB_OFFLINE="1",
               PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "core", "pretrain", "--scheme", "shuffle-4", "--steps", "4",
           "--batch-size", "4", "--log-every", "1", "--checkpoint-dir", str(ck),
           "--checkpoint-every", "2", "--digest-dir", str(digests)]
    # own session: on a timeout the launcher and both workers go together
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TORCHRUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish in {TORCHRUN_TIMEOUT_S} s:\n{out[-2000:]}"
                    f"\n{err[-2000:]}")
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    assert len(steps) == 4 and steps[-1].startswith("step 4/4")  # rank 0 alone logs
    d0, d1 = ((digests / f"rank{r}.txt").read_text().strip() for r in (0, 1))
    assert d0 == d1  # the replicas stayed identical
    saved = pt.load_checkpoint(ck / pt.CHECKPOINT_NAME)
    assert saved["step"] == 4 and saved["world_size"] == 2 and len(saved["rng"]) == 2
    assert not torch.equal(saved["rng"][0]["torch"], saved["rng"][1]["torch"])
    model = pt.build_mlm("tiny", vocab_size=len(tok), seed=0)
    init = pt.param_digest(model)
    model.load_state_dict(saved["model"])
    assert pt.param_digest(model) == d0 != init  # rank 0 saved what both ranks ended with


# ---------------------------------------------------------------------------- bad inputs
def test_bad_inputs_give_clear_errors(tok, capsys):
    with pytest.raises(KeyError, match="flat-128.*english"):
        pt.line_source("nonsense", tok)
    with pytest.raises(InputError, match="no-pretraining baseline"):
        pt.line_source("scratch", tok)
    with pytest.raises(InputError, match="tiny, small, medium"):
        pt.make_config("huge", vocab_size=len(tok))
    with pytest.raises(InputError, match="bert, roberta"):
        pt.build_mlm("tiny", "gpt", vocab_size=len(tok))
    with pytest.raises(InputError, match="tiny, small, medium"):
        pt.PretrainConfig(scheme="flat-128", size="huge")
    with pytest.raises(InputError, match="steps"):
        pt.PretrainConfig(scheme="flat-128", steps=0)
    model = pt.build_mlm("tiny", vocab_size=len(tok))
    with pytest.raises(KeyError, match="unknown fake-data scheme"):  # at call time
        pt.pretrain(model, pt.PretrainConfig(scheme="nope"))
    with pytest.raises(InputError, match="checkpoint_dir"):
        pt.pretrain(model, pt.PretrainConfig(scheme="flat-128"), resume=True)
    with pytest.raises(InputError, match="embedding rows"):
        pt.pretrain(pt.build_mlm("tiny", vocab_size=1000), pt.PretrainConfig(scheme="uniform"))
    with pytest.raises(InputError, match="shape"):
        pt.mask_lines(np.zeros(5, dtype=np.int64), np.random.default_rng(0),
                      tokenizer_ids=pt.TokenIds.from_tokenizer(tok))
    from core.tools.cli import main  # the command line says what is wrong, no traceback

    assert main(["pretrain", "--scheme", "scratch", "--steps", "1"]) == 2
    assert "no-pretraining baseline" in capsys.readouterr().err
    assert main(["pretrain", "--scheme", "flat-128", "--size", "huge"]) == 2
    assert "choose one of tiny, small, medium" in capsys.readouterr().err


# -------------------------------------------------------------------------------- bench
def test_bench_flop_count_and_peaks(tok):
    from core.tools.bench import pretrain as bp

    assert bp.peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert bp.peak_flops("NVIDIA H100 PCIe") == 756e12
    assert bp.peak_flops("NVIDIA H200") == 989e12
    assert bp.peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert bp.peak_flops("Some Other GPU") is None
    h, f, layers, v, t, k = 128, 512, 2, len(tok), 128, 19
    per_layer = 4 * (h * h + h) + 2 * h * f + f + h + 2 * 2 * h  # attention, FFN, 2 LayerNorms
    want = 6 * layers * per_layer + 12 * layers * h * t + 6 * (h * h + h * v) * k / t
    model = pt.build_mlm("tiny", vocab_size=v)
    assert bp.flops_per_token(model, t, k) == pytest.approx(want)


def test_bench_runs_on_cpu():
    from core.tools.bench import pretrain as bp

    out = bp.run(steps=2, warmup=1, batch=4, with_default_run=False)
    assert out["device"] == "cpu" and out["size"] == "tiny" and out["batch"] == 4
    assert out["note"] and out["peak_flops"] is None
    for name in ("ours", "stock", "ours_end_to_end"):
        loop = out["loops"][name]
        assert loop["tokens_per_s"] > 0 and loop["mfu"] is None
        assert 8 < loop["last_loss"] < 11  # a real MLM loss over 30522 ids
    # the stock loop projects all 128 positions onto the vocabulary, ours 19 of them
    assert out["loops"]["ours"]["tokens_per_s"] > out["loops"]["stock"]["tokens_per_s"]
    assert set(out["data_ms_per_batch"]) == set(bp.DATA_SCHEMES)
    assert all(ms > 0 for ms in out["data_ms_per_batch"].values())
