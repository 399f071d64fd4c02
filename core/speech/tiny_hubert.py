"""tiny-hubert: the lab's own self-supervised speech model, pretrained HuBERT-style.

    wave -> log-mel frames (T, 40), 20 ms hop (core.speech.frames.log_mel, per-clip normalised)
         -> linear 40 -> H; masked frames (spans of `mask_span`, each frame starting one with
            chance `mask_prob`, as HuBERT) replaced by a learned vector
         -> + grouped-conv positional embedding -> L pre-norm Transformer layers
         -> linear H -> k: the MFCC k-means unit of every masked frame (cross-entropy)

HuBERT's first iteration predicts k-means clusters of MFCC frames from masked audio; the
model has to infer what it cannot see from context, so its middle layers come to encode
which sound is being said rather than the voice saying it. Units for spoken QA are the
k-means clusters of one layer's output (`feature_layer`, chosen by unit consistency: see
`pick_layer`). The front end is log-mel frames instead of HuBERT's convolutions over the raw
wave: the same 20 ms frames, a fraction of the compute.

Shipped (when trained; `python -m core train-hubert`) in assets/speech/tiny-hubert/:
model.safetensors (float16), config.json, train_log.json.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.common.errors import ModelUnavailable
from core.common.paths import ASSETS
from core.speech.frames import N_MELS, log_mel, mel, mel_centres_hz
from core.speech.hubert import HUBERT_CHUNK_FRAMES

MODEL_DIR = ASSETS / "speech" / "tiny-hubert"
WEIGHTS, CONFIG, LOG = "model.safetensors", "config.json", "train_log.json"
CROP_FRAMES = 400  # 8 s of speech per training example


@dataclass(frozen=True)
class TinyHubertConfig:
    n_mels: int = N_MELS  # input features per frame
    hidden: int = 256  # model width
    layers: int = 4  # Transformer layers
    heads: int = 4  # attention heads
    ffn: int = 1024  # feed-forward width
    pos_kernel: int = 33  # positional conv width in frames (~0.66 s), odd
    pos_groups: int = 16  # grouped conv, as HuBERT's
    dropout: float = 0.1
    targets: int = 128  # k of the MFCC codebook whose units are predicted
    mask_prob: float = 0.08  # chance a frame starts a masked span (HuBERT: 0.08)
    mask_span: int = 10  # frames per span (HuBERT: 10), so ~50 % of frames are masked
    feature_layer: int = 2  # the layer (1..layers) whose output becomes units
    warp: float = 0.0  # training only: each crop's frequency axis stretched by a factor drawn
    # from [1 - warp, 1 + warp] (vocal-tract-length perturbation) while its targets stay the
    # unwarped audio's units, so voices with longer or shorter vocal tracts map to one unit


def normalised_mels(wave: np.ndarray) -> np.ndarray:
    """Per-clip mean/variance-normalised log mels (T, 40) float32: channel and loudness out."""
    m = log_mel(wave)
    return ((m - m.mean(axis=0)) / (m.std(axis=0) + 1e-5)).astype(np.float32)


def warp_mels(mels: torch.Tensor, factors: np.ndarray) -> torch.Tensor:
    """mels (B, T, 40) -> the same crops with crop b's frequency axis stretched by factors[b]:
    channel i takes the spectrum at its centre frequency / factor (linear between channels,
    the edge channels held), so factor > 1 moves every formant up, as a shorter vocal tract."""
    centres = mel_centres_hz()
    index = np.arange(len(centres), dtype=np.float64)
    src = np.stack([np.interp(mel(centres / f), mel(centres), index) for f in factors])
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, len(centres) - 1)
    frac = torch.from_numpy(src - lo).to(mels.dtype)[:, None, :]  # (B, 1, 40)
    lo_t = torch.from_numpy(lo)[:, None, :].expand(-1, mels.shape[1], -1)
    hi_t = torch.from_numpy(hi)[:, None, :].expand(-1, mels.shape[1], -1)
    return mels.gather(2, lo_t) * (1 - frac) + mels.gather(2, hi_t) * frac


def span_mask(rng: np.random.Generator, batch: int, frames: int, prob: float, span: int
              ) -> np.ndarray:
    """(batch, frames) bool: each frame starts a masked span of `span` frames with chance
    `prob`; at least one span per row."""
    starts = rng.random((batch, frames)) < prob
    starts[np.arange(batch), rng.integers(0, max(1, frames - span), batch)] = True
    mask = np.zeros((batch, frames + span), dtype=bool)
    for offset in range(span):
        mask[:, offset: offset + frames] |= starts
    return mask[:, :frames]


class TinyHubert(nn.Module):
    def __init__(self, cfg: TinyHubertConfig):
        super().__init__()
        self.config = cfg
        self.norm_in = nn.LayerNorm(cfg.n_mels)
        self.proj = nn.Linear(cfg.n_mels, cfg.hidden)
        self.mask_emb = nn.Parameter(torch.randn(cfg.hidden) * 0.02)
        self.pos_conv = nn.Conv1d(cfg.hidden, cfg.hidden, cfg.pos_kernel,
                                  padding=cfg.pos_kernel // 2, groups=cfg.pos_groups)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(cfg.hidden, cfg.heads, cfg.ffn, cfg.dropout,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(cfg.layers))
        self.norm_out = nn.LayerNorm(cfg.hidden)
        self.head = nn.Linear(cfg.hidden, cfg.targets)

    def hidden_states(self, mels: torch.Tensor, mask: torch.Tensor | None = None,
                      upto: int | None = None) -> list[torch.Tensor]:
        """mels (B, T, 40), mask (B, T) bool -> the output of layers 1..upto, each (B, T, H)."""
        x = self.proj(self.norm_in(mels))  # (B, T, H)
        if mask is not None:
            x = torch.where(mask[..., None], self.mask_emb.to(x.dtype), x)
        x = x + nn.functional.gelu(self.pos_conv(x.transpose(1, 2))).transpose(1, 2)
        out = []
        for layer in self.layers[: upto or len(self.layers)]:
            x = layer(x)
            out.append(x)
        return out

    def forward(self, mels, targets, mask) -> torch.Tensor:
        """Masked prediction loss: cross-entropy of the unit at every masked frame."""
        hidden = self.hidden_states(mels, mask)[-1]  # (B, T, H)
        logits = self.head(self.norm_out(hidden[mask]))  # (M, k) masked frames only
        return nn.functional.cross_entropy(logits.float(), targets[mask])


def batch_maker(mels: np.ndarray, targets: np.ndarray, cfg: TinyHubertConfig, batch_size: int,
                crop: int = CROP_FRAMES):
    """make_batch(step, rng) for core.common.training.train: random crops of the concatenated
    clips (mels (N, 40), targets (N,)) with a fresh span mask each (and warped: cfg.warp)."""
    if len(mels) != len(targets) or len(mels) <= crop:
        raise ValueError(f"need more than {crop} frames with one target each; got "
                         f"{len(mels)} frames, {len(targets)} targets")
    mels_t, targets_t = torch.from_numpy(mels), torch.from_numpy(targets.astype(np.int64))

    def make_batch(step: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        idx = rng.integers(0, len(mels) - crop, batch_size)[:, None] + np.arange(crop)
        idx = torch.from_numpy(idx)
        mask = span_mask(rng, batch_size, crop, cfg.mask_prob, cfg.mask_span)
        crops = mels_t[idx].float()
        if cfg.warp:  # drawn after the mask, so warp=0 keeps the unwarped runs' streams
            crops = warp_mels(crops, rng.uniform(1 - cfg.warp, 1 + cfg.warp, batch_size))
        return {"mels": crops, "targets": targets_t[idx], "mask": torch.from_numpy(mask)}

    return make_batch


class TinyHubertExtractor:
    """Registered as "tiny-hubert": 20 ms frames -> the `feature_layer` output (T, H)."""

    name = "tiny-hubert"

    def __init__(self, model: TinyHubert, layer: int | None = None):
        self.model = model.eval()
        self.layer = int(layer or model.config.feature_layer)
        self.dims = model.config.hidden

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        return self.from_mels(torch.from_numpy(normalised_mels(wave)))

    @torch.no_grad()
    def from_mels(self, mels: torch.Tensor) -> np.ndarray:
        """(T, 40) normalised (perhaps warped) log mels -> (T, H) features."""
        device = next(self.model.parameters()).device
        parts = []
        for lo in range(0, len(mels), HUBERT_CHUNK_FRAMES):  # bounded attention memory
            chunk = mels[lo: lo + HUBERT_CHUNK_FRAMES][None].to(device)
            parts.append(self.model.hidden_states(chunk, upto=self.layer)[-1][0].float().cpu())
        return torch.cat(parts).numpy()


def save(model: TinyHubert, folder, log: dict | None = None) -> Path:
    """model.safetensors (float16) + config.json (+ train_log.json)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().half().contiguous().cpu() for k, v in model.state_dict().items()},
              str(folder / WEIGHTS))
    (folder / CONFIG).write_text(json.dumps(asdict(model.config), indent=2) + "\n")
    if log is not None:
        (folder / LOG).write_text(json.dumps(log, indent=1) + "\n")
    return folder


def load(folder=MODEL_DIR) -> TinyHubert:
    """The model saved in `folder`, float32, eval mode, on CPU."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        raise ModelUnavailable("tiny-hubert is not trained yet (no assets/speech/tiny-hubert/"
                               "model.safetensors): train it with `python -m core train-hubert` "
                               "(a GPU is best), or use the 'mfcc' extractor")
    cfg = TinyHubertConfig(**json.loads((folder / CONFIG).read_text()))
    model = TinyHubert(cfg)
    model.load_state_dict({k: v.float() for k, v in load_file(str(folder / WEIGHTS)).items()})
    return model.eval()


def load_extractor(folder=MODEL_DIR) -> TinyHubertExtractor:
    return TinyHubertExtractor(load(folder))
