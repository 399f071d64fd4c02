"""`python -m core bench pretrain` (core.tools.bench.pretrain): the FLOP count, a CPU run and the
committed GPU runs."""
from __future__ import annotations

import json

import pytest

from core.common.paths import ASSETS
from core.pretrain.mlm import build_mlm
from core.tools.bench import pretrain as bp

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tok():
    from core.pretrain.data import english_tokenizer

    return english_tokenizer()


def test_bench_flop_count_and_peaks(tok):
    assert bp.peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert bp.peak_flops("NVIDIA H100 PCIe") == 756e12
    assert bp.peak_flops("NVIDIA H200") == 989e12
    assert bp.peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert bp.peak_flops("Some Other GPU") is None
    h, f, layers, v, t, k = 128, 512, 2, len(tok), 128, 19
    per_layer = 4 * (h * h + h) + 2 * h * f + f + h + 2 * 2 * h  # attention, FFN, 2 LayerNorms
    want = 6 * layers * per_layer + 12 * layers * h * t + 6 * (h * h + h * v) * k / t
    model = build_mlm("tiny", vocab_size=v)
    assert bp.flops_per_token(model, t, k) == pytest.approx(want)


def test_bench_runs_on_cpu():
    out = bp.run(steps=2, warmup=1, batch=4, with_default_run=False)
    assert out["device"] == "cpu" and out["size"] == "tiny" and out["batch"] == 4
    assert out["note"] and out["peak_flops"] is None
    for name in ("ours", "stock", "ours_end_to_end"):
        loop = out["loops"][name]
        assert loop["tokens_per_s"] > 0 and loop["mfu"] is None
        assert 8 < loop["last_loss"] < 11  # a real MLM loss over 30522 ids
    # the stock loop projects all 128 positions onto the vocabulary, ours 19 of them
    assert out["loops"]["ours"]["tokens_per_s"] > out["loops"]["stock"]["tokens_per_s"]
    lab = out["loops"]["ours_lab_vocab"]
    assert lab["vocab"] == 8_000 and 7 < lab["last_loss"] < 10  # ln(8000) = 9.0
    assert out["speedup_lab_vocab"] == round(lab["tokens_per_s"]
                                             / out["loops"]["ours"]["tokens_per_s"], 2)
    assert set(out["data_ms_per_batch"]) == set(bp.DATA_SCHEMES)
    assert all(ms > 0 for ms in out["data_ms_per_batch"].values())


def test_the_committed_gpu_benchmarks_ran_on_cuda_and_our_loop_beat_the_stock_one():
    folder = ASSETS / "bench" / "nvidia-h100"
    runs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    assert set(runs) == {"pretrain", "xling", "probe"}
    for run in runs.values():
        assert run["device"] == "cuda" and "H100" in run["machine"]["device"]
    loops = runs["pretrain"]["loops"]
    assert loops["ours"]["s_per_step"] < loops["stock"]["s_per_step"]
    assert 0 < loops["ours"]["mfu"] < 1 and runs["pretrain"]["size"] == "medium"
