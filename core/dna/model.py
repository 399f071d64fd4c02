"""DNA classifiers and their three starting points (Kao & Lee 2021).

All three inits share one architecture - a BertModel encoder, dropout and a linear head on
the masked mean of the last hidden states - so the only thing that differs is where the
weights come from:

  pretrained  every encoder weight copied from the English role model
  re-emb      the pretrained body, but word embeddings re-drawn from N(0, initializer_range):
              the paper's control - does the transfer live in the token vectors or the body?
  random      the same config, every weight freshly initialised (seeded)

Pooling is a masked mean, not [CLS]: the embedded model (all-MiniLM-L6-v2) was tuned with
mean pooling and ships no pooler, so its [CLS] vector is not a trained summary; the mean
also gives every position a gradient, which helps short CPU runs. `pooling="cls"` (the
paper's choice, on bert-base-uncased) is there to compare.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import nn

from core.dna.config import INITS

if TYPE_CHECKING:  # transformers is imported on first use: the page starts without it
    from transformers import BertConfig, BertModel
    from transformers.modeling_outputs import SequenceClassifierOutput

POOLINGS = ("mean", "cls")


class DnaClassifier(nn.Module):
    """encoder -> pooled (B, H) -> dropout -> linear (B, C)."""

    def __init__(self, encoder: BertModel, num_labels: int, *, pooling: str = "mean",
                 dropout: float | None = None):
        super().__init__()
        if pooling not in POOLINGS:
            raise KeyError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
        cfg = encoder.config
        self.encoder = encoder
        self.pooling = pooling
        self.num_labels = num_labels
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob if dropout is None else dropout)
        self.head = nn.Linear(cfg.hidden_size, num_labels)
        nn.init.normal_(self.head.weight, std=cfg.initializer_range)  # as BERT inits its heads
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> SequenceClassifierOutput:
        """input_ids, attention_mask: (B, T); labels: (B,) class ids. Returns loss, logits."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.encoder(input_ids=input_ids,
                              attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        if self.pooling == "cls":
            pooled = hidden[:, 0]  # (B, H)
        else:
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)  # (B, H): padding ignored
        logits = self.head(self.dropout(pooled))  # (B, C)
        from transformers.modeling_outputs import SequenceClassifierOutput

        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def available_inits() -> list[str]:
    return list(INITS)


def _source_encoder(model_name: str | None, base: nn.Module | None) -> nn.Module:
    """The pretrained English encoder to copy from (never modified here)."""
    if base is not None:
        return base
    from core.text.models import default_model, load_model

    return load_model(model_name or default_model("english")).model


def _copy_weights(encoder: BertModel, source: nn.Module) -> None:
    """Copies source's encoder weights into `encoder` (a copy: the cached model is shared)."""
    own = encoder.state_dict()
    state = {k: v for k, v in source.state_dict().items() if k in own}  # drops a pooler
    missing = sorted(set(own) - set(state))
    if missing:
        raise ValueError(f"source model lacks encoder weights: {missing[:5]}")
    encoder.load_state_dict(state)  # copies into encoder's own (CPU) tensors


def _reinit_word_embeddings(encoder: BertModel) -> None:
    emb = encoder.embeddings.word_embeddings
    with torch.no_grad():
        emb.weight.normal_(0.0, encoder.config.initializer_range)
        if emb.padding_idx is not None:  # BERT's own init keeps the pad vector at zero
            emb.weight[emb.padding_idx].zero_()


def _init_pretrained(encoder: BertModel, source: nn.Module) -> None:
    _copy_weights(encoder, source)


def _init_re_emb(encoder: BertModel, source: nn.Module) -> None:
    _copy_weights(encoder, source)
    _reinit_word_embeddings(encoder)


def _init_random(encoder: BertModel, source: nn.Module) -> None:
    pass  # BertModel.__init__ already drew fresh weights from the seeded RNG


_INIT_FNS = {"pretrained": _init_pretrained, "re-emb": _init_re_emb, "random": _init_random}
assert tuple(_INIT_FNS) == INITS


def build_classifier(init: str, num_labels: int, *, model_name: str | None = None,
                     seed: int = 0, base: nn.Module | None = None,
                     pooling: str = "mean", layers: int | None = None) -> DnaClassifier:
    """A fresh DnaClassifier on CPU, in train mode, starting from `init`.

    Args:
        init: one of INITS ("pretrained", "re-emb", "random").
        num_labels: number of classes.
        model_name: English role model to take the config/weights from (default: the active
            profile's `english` model). Ignored when `base` is given.
        seed: seeds the head, the random encoder and re-emb's embeddings; the global torch
            RNG is left as it was. Same seed -> same head for all three inits.
        base: a BertModel to use as "the pretrained model" (tests pass a tiny one).
        pooling: "mean" (default, see the module docstring) or "cls".
        layers: keep only the source's first N transformer layers (None = all): a cheaper
            body for every init alike, so the comparison stays same-architecture.
    Returns:
        The classifier; its encoder has the source's config (vocabulary, sizes) in every case.
    Raises:
        KeyError: unknown init or pooling (the message lists the choices).
    """
    if init not in _INIT_FNS:
        raise KeyError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    source = _source_encoder(model_name, base)
    cfg: BertConfig = copy.deepcopy(source.config)
    if layers is not None:
        if not 1 <= layers <= cfg.num_hidden_layers:
            raise KeyError(f"layers must be between 1 and {cfg.num_hidden_layers}, got {layers}")
        cfg.num_hidden_layers = layers  # _copy_weights then copies layers 0..N-1 only
    from transformers import BertModel

    with torch.random.fork_rng(devices=[]):  # seeded here without moving the caller's RNG
        torch.manual_seed(seed)
        encoder = BertModel(cfg, add_pooling_layer=False)
        model = DnaClassifier(encoder, num_labels, pooling=pooling)
        _INIT_FNS[init](encoder, source)
    return model.train()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
