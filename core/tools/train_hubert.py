"""Pretraining tiny-hubert (`python -m core train-hubert`): data, loop, and layer choice.

    mels, targets = clip_features(paths, mfcc_codebook)   # (N, 40) float16, (N,) units
    # a second iteration: targets from the trained model's own units
    mels, targets = clip_features(paths, th_codebook, target_extractor=load_extractor("tiny-hubert"))
    model, log = pretrain(mels, targets, TinyHubertConfig(), TrainConfig(max_steps=20_000))
    pick_layer(model, ...)                                 # the layer with the best units

The audio is the voiced train passages of the spoken-QA set (6 train voices x 3 speeds x 3
pitches; `--takes N` voices each passage N times) plus the LibriVox utterances of Debian's
pocketsphinx-testdata when installed. A GPU machine without espeak-ng trains from features
exported here (`--export-features F.npz`, carried over).
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.common.training import TrainConfig, train
from core.speech.audio import SAMPLE_RATE, load_audio
from core.speech.frames import Extractor, MfccExtractor
from core.speech.tiny_hubert import (
    CROP_FRAMES,
    TinyHubert,
    TinyHubertConfig,
    batch_maker,
    normalised_mels,
)
from core.speech.units import units

LIBRIVOX_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")  # Debian pocketsphinx-testdata


def librivox_paths() -> list[Path]:
    return sorted(LIBRIVOX_DIR.glob("*.wav")) if LIBRIVOX_DIR.is_dir() else []


def clip_features(paths, codebook: np.ndarray, *, max_hours: float | None = None,
                  progress=None, target_extractor: Extractor | None = None
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Every clip's normalised log mels and its frames' units, concatenated.

    Args:
        paths: audio files.
        codebook: the k-means centroids the targets are drawn from, in target_extractor's
            feature space.
        target_extractor: the features the targets are units of: MFCC frames (None, HuBERT's
            first iteration) or a trained model's (its second iteration: tiny-hubert's own).
    Returns:
        mels (N, 40) float16, targets (N,) int16 (unit ids), seconds of audio read.
    """
    extract = target_extractor or MfccExtractor()
    mels, targets, seconds = [], [], 0.0
    paths = list(paths)
    for i, path in enumerate(paths, 1):
        wave = load_audio(path)
        m = normalised_mels(wave).astype(np.float16)
        t = units(extract(wave), codebook).astype(np.int16)
        if len(t) != len(m):  # every extractor here frames at the same hop
            raise ValueError(f"{path}: {len(t)} target frames for {len(m)} mel frames")
        mels.append(m)
        targets.append(t)
        seconds += len(wave) / SAMPLE_RATE
        if progress is not None:
            progress(i, len(paths))
        if max_hours and seconds >= max_hours * 3600:
            break
    return np.concatenate(mels), np.concatenate(targets), seconds


def save_features(path, mels: np.ndarray, targets: np.ndarray, seconds: float) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, mels=mels, targets=targets, seconds=np.float64(seconds))
    return path


def load_features(path) -> tuple[np.ndarray, np.ndarray, float]:
    data = np.load(path)
    return data["mels"], data["targets"], float(data["seconds"])


def pretrain(mels: np.ndarray, targets: np.ndarray, cfg: TinyHubertConfig, tc: TrainConfig, *,
             device=None, on_event=None) -> tuple[TinyHubert, dict]:
    """Masked-unit prediction through the shared loop; returns the model and its log."""
    import torch

    torch.manual_seed(tc.seed)
    model = TinyHubert(cfg)
    # Masked-frame accuracy on a fixed held-back stretch (the last 5 % of frames).
    cut = int(len(mels) * 0.95)
    crop = min(CROP_FRAMES, cut - 1)  # a small corpus (tests) gets shorter crops
    dev_batch = batch_maker(mels[cut:], targets[cut:], cfg, 8,
                            min(crop, len(mels) - cut - 1))(0, np.random.default_rng(1))

    def evaluate(m) -> dict[str, float]:
        dev = {k: v.to(next(m.parameters()).device) for k, v in dev_batch.items()}
        hidden = m.hidden_states(dev["mels"], dev["mask"])[-1]
        pred = m.head(m.norm_out(hidden[dev["mask"]])).argmax(-1)
        return {"masked_accuracy": float((pred == dev["targets"][dev["mask"]]).float().mean())}

    log = {"config": asdict(cfg), "train": asdict(tc), "frames": int(cut),
           "hours": round(cut * 0.02 / 3600, 2), "curve": []}
    t0 = time.perf_counter()
    make_batch = batch_maker(mels[:cut], targets[:cut], cfg, tc.batch_size, crop)
    for event in train(model, make_batch, tc, evaluate=evaluate, device=device):
        point = {"step": event.step, "loss": round(event.loss, 4), "s": round(event.elapsed_s, 1)}
        if event.metrics:
            point.update(event.metrics)
        log["curve"].append(point)
        if on_event is not None:
            on_event(point)
    log["wall_s"] = round(time.perf_counter() - t0, 1)
    return model.cpu().eval(), log
