"""`python -m core bench pretrain`: MLM pretraining throughput, this project's loop vs a stock one.

Side by side in one process, on the same batches:
  - ours:  core.pretrain.mlm's MaskedLM through core.common.training.train: SDPA attention,
           no attention mask (lines are never padded), the vocabulary projection only at the
           masked positions, and on CUDA bf16 autocast, fused AdamW and torch.compile;
  - stock: transformers BertForMaskedLM, eager attention, fp16 autocast + GradScaler (CUDA),
           torch.optim.AdamW(foreach=False, fused=False), logits over the whole vocabulary at
           every position;
  - ours_end_to_end: core.pretrain.loop.pretrain itself, data generated on the fly (BENCH_SCHEME);
  - ours_lab_vocab: ours over the lab's 8,000-id vocabulary (core.text.english) instead of the
           30,522-id one: the embedding table, the MLM head and their AdamW update shrink.
Also the time to generate (and mask) one batch for a few schemes.

MFU (model FLOPs utilisation) = tokens/s x FLOPs per token / the GPU's peak bf16 FLOP/s. FLOPs
per token (training = 3 x forward): 6 x non-embedding parameters + 12 x layers x hidden x
sequence length (attention scores and mixing) + 6 x (hidden^2 + hidden x vocab) x the masked
share (the MLM head where the loss needs it). The same count serves both loops: work the stock
loop spends on unmasked positions is not useful work. On CPU, MFU is null.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np
import torch

from core.common.device import device_info, machine_info, pick_device
from core.common.training import TrainConfig, train
from core.pretrain import data, loop, mlm

# (device type) -> (size, lines per step, warm-up steps, timed steps). Warm-up covers
# torch.compile and the allocator; it is not timed.
SETTINGS = {"cuda": ("medium", 300, 5, 20), "cpu": ("tiny", 16, 2, 8)}
BENCH_SCHEME = "flat-128"  # data of the timed batches (any scheme costs the model the same)
BENCH_LR = 5e-4  # learning rate of both loops (it does not change the speed)
TIMED_BATCHES = 4  # distinct batches the model loops cycle through
DATA_SCHEMES = ("uniform", "unigram", "flat-128", "shuffle-64", "nesting", "english")
DATA_REPEATS = 3  # batches timed per scheme
# Dense bf16/fp16 tensor-core peak FLOP/s by GPU name (first substring match wins).
PEAK_FLOPS = (("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12),
              ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12))
GIB = 2 ** 30


def peak_flops(gpu_name: str) -> float | None:
    """The GPU's dense bf16 peak in FLOP/s from PEAK_FLOPS, None when unknown."""
    return next((v for k, v in PEAK_FLOPS if k.lower() in gpu_name.lower()), None)


def flops_per_token(model: mlm.MaskedLM, seq_len: int, masked: int) -> float:
    """Training FLOPs per input token (see the module docstring for the formula)."""
    cfg = model.encoder.config
    h, layers, vocab = cfg.hidden_size, cfg.num_hidden_layers, cfg.vocab_size
    non_embedding = sum(p.numel() for p in model.encoder.encoder.parameters())
    head = 6 * (h * h + h * vocab) * masked / seq_len
    return 6 * non_embedding + 12 * layers * h * seq_len + head


def _rate(steps: int, seconds: float, tokens_per_step: int, fpt: float, peak) -> dict:
    tps = steps * tokens_per_step / seconds
    return {"s_per_step": round(seconds / steps, 4), "tokens_per_s": round(tps, 1),
            "mfu": round(tps * fpt / peak, 4) if peak else None}


def _memory(device: torch.device) -> dict:
    if device.type != "cuda":
        return {}
    return {"max_memory_gib": round(torch.cuda.max_memory_allocated(device) / GIB, 2)}


def _reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _time_events(events, warm: int) -> tuple[float, int]:
    """Seconds between the event at step `warm` and the last one, and the steps in between.
    Each event's elapsed time is taken after its loss reached the host (a device sync)."""
    marks = {e.step: e.elapsed_s for e in events}
    last = max(marks)
    return marks[last] - marks[warm], last - warm


def _ours(size, batches, warm, steps, device, vocab) -> tuple[dict, float]:
    model = mlm.build_mlm(size, vocab_size=vocab, seed=0)
    fpt = flops_per_token(model, batches[0]["input_ids"].shape[1],
                          batches[0]["masked_positions"].shape[1])
    inputs = [{k: v for k, v in b.items() if k != "attention_mask"} for b in batches]
    net = torch.compile(model) if device.type == "cuda" else model
    cfg = TrainConfig(max_steps=warm + steps, lr=BENCH_LR, warmup_steps=1, log_every=warm)
    events = list(train(net, lambda s, _rng: inputs[s % len(inputs)], cfg, device=device))
    seconds, n = _time_events(events, warm)
    return {"seconds": seconds, "steps": n, "last_loss": round(events[-1].loss, 3)}, fpt


def _stock(size, batches, warm, steps, device, vocab) -> dict:
    from transformers import BertForMaskedLM

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = BertForMaskedLM(mlm.make_config(size, vocab_size=vocab,
                                               attn_implementation="eager")).to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=BENCH_LR, foreach=False, fused=False)
    cuda = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    t0 = loss = None
    for step in range(warm + steps):
        if step == warm:
            if cuda:
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
        batch = {k: v.to(device) for k, v in batches[step % len(batches)].items()
                 if k != "masked_positions"}
        with (torch.autocast("cuda", dtype=torch.float16) if cuda
              else contextlib.nullcontext()):
            loss = model(**batch).loss  # logits (B, T, V) at every position
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
    last = loss.detach().item()  # waits for the device
    return {"seconds": time.perf_counter() - t0, "steps": steps, "last_loss": round(last, 3)}


def _end_to_end(size, batch, warm, steps, device, vocab) -> dict:
    model = mlm.build_mlm(size, vocab_size=vocab, seed=0)
    cfg = mlm.PretrainConfig(scheme=BENCH_SCHEME, size=size, steps=warm + steps,
                            batch_size=batch, lr=BENCH_LR, warmup_steps=1, log_every=warm)
    events = list(loop.pretrain(model, cfg, device=device))
    seconds, n = _time_events(events, warm)
    return {"seconds": seconds, "steps": n, "last_loss": round(events[-1].loss, 3)}


def _batches(tok, batch: int) -> list[dict[str, torch.Tensor]]:
    """TIMED_BATCHES distinct masked batches of BENCH_SCHEME over tok's vocabulary, cycled by
    the loops (attention mask included)."""
    source, ids = data.line_source(BENCH_SCHEME, tok), data.TokenIds.from_tokenizer(tok)
    out = []
    for step in range(TIMED_BATCHES):
        rng = np.random.default_rng(step)
        out.append(data.mask_lines(source(batch, rng), rng, tokenizer_ids=ids))
    return out


def data_ms_per_batch(batch: int, schemes=DATA_SCHEMES, repeats: int = DATA_REPEATS) -> dict:
    """Milliseconds to generate and mask one batch of `batch` lines, per scheme."""
    tok = data.english_tokenizer()
    out = {}
    for scheme in schemes:
        make = loop.batch_maker(mlm.PretrainConfig(scheme=scheme, batch_size=batch), tok)
        make(repeats)  # first call fills caches (the English corpus is tokenized once)
        t0 = time.perf_counter()
        for step in range(repeats):
            make(step)
        out[scheme] = round((time.perf_counter() - t0) / repeats * 1e3, 2)
    return out


def default_run() -> dict:
    """Times the tab's default run (two schemes + scratch: pretrain, fine-tune, test)."""
    from core.pretrain.lab import PretrainRunConfig, estimate_s
    from core.pretrain.lab import run as run_lab

    cfg = PretrainRunConfig()
    data.english_tokenizer()  # loading is the app's start-up, not the run
    t0 = time.perf_counter()
    state = None
    for state in run_lab(cfg):
        pass
    m = state.metrics()
    return {"config": m["config"], "wall_s": round(time.perf_counter() - t0, 1),
            "estimate_s": round(estimate_s(cfg, pick_device().type) or 0, 1),
            "test_accuracy": {s: round(r["test_accuracy"], 3) for s, r in m["runs"].items()}}


def run(*, steps: int | None = None, warmup: int | None = None,
        batch: int | None = None, with_default_run: bool = True) -> dict:
    """Times both loops (and the end-to-end path) on this machine; returns a JSON-ready dict.

    Args:
        steps: timed steps per loop (default from SETTINGS by device).
        warmup: untimed steps before them (default from SETTINGS; at least 1).
        batch: lines per step (default from SETTINGS).
        with_default_run: also time the tab's default run (a few minutes on a CPU).
    """
    device = pick_device()
    kind = "cuda" if device.type == "cuda" else "cpu"
    size, default_batch, warm, n = SETTINGS[kind]
    warm, n, batch = max(1, warmup or warm), max(1, steps or n), max(1, batch or default_batch)
    tok = data.english_tokenizer()
    vocab = len(tok)
    batches = _batches(tok, batch)
    seq_len = int(batches[0]["input_ids"].shape[1])
    tokens = batch * seq_len
    info = device_info()
    peak = peak_flops(info.name) if kind == "cuda" else None

    loops = {}
    _reset(device)
    ours, fpt = _ours(size, batches, warm, n, device, vocab)
    loops["ours"] = {**_rate(ours["steps"], ours["seconds"], tokens, fpt, peak),
                     "last_loss": ours["last_loss"], **_memory(device)}
    _reset(device)
    stock = _stock(size, batches, warm, n, device, vocab)
    loops["stock"] = {**_rate(stock["steps"], stock["seconds"], tokens, fpt, peak),
                      "last_loss": stock["last_loss"], **_memory(device)}
    _reset(device)
    e2e = _end_to_end(size, batch, warm, n, device, vocab)
    loops["ours_end_to_end"] = {**_rate(e2e["steps"], e2e["seconds"], tokens, fpt, peak),
                                "last_loss": e2e["last_loss"], **_memory(device)}
    _reset(device)
    lab = data.tokenizer_for("lab")
    small, lab_fpt = _ours(size, _batches(lab, batch), warm, n, device, len(lab))
    loops["ours_lab_vocab"] = {**_rate(small["steps"], small["seconds"], tokens, lab_fpt, peak),
                               "vocab": len(lab), "last_loss": small["last_loss"],
                               **_memory(device)}
    note = ("CUDA: the paper's medium model at batch 300 x 128 tokens." if kind == "cuda" else
            "CPU: the tiny model at a small batch so the benchmark ends in about a minute; "
            "float32 for both loops (no autocast, no compile); MFU is not defined here.")
    return {
        "benchmark": "pretrain",
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "device": kind, "device_name": info.name, "size": size, "batch": batch,
        "seq_len": seq_len, "masked_per_line": int(batches[0]["masked_positions"].shape[1]),
        "warmup_steps": warm, "timed_steps": n,
        "flops_per_token": round(fpt), "peak_flops": peak,
        "loops": loops,
        "speedup_vs_stock": round(loops["ours"]["tokens_per_s"]
                                  / loops["stock"]["tokens_per_s"], 2),
        "speedup_lab_vocab": round(loops["ours_lab_vocab"]["tokens_per_s"]
                                   / loops["ours"]["tokens_per_s"], 2),
        "data_ms_per_batch": data_ms_per_batch(batch),
        "default_run": default_run() if with_default_run else None,
        "note": note,
    }
