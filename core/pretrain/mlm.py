"""The masked language model of the fake-data experiment (Chiang & Lee, AAAI 2022), and the
settings of one pretraining run.

A small BERT (or RoBERTa) over the English tokenizer's vocabulary learns to fill in masked
tokens of lines drawn from a core.pretrain.fake_data scheme, or from real English text (the
lines and the masking: core.pretrain.data; the training run: core.pretrain.loop). The
fine-tuning code then takes `model.encoder` and puts a classifier on it.

    tok = english_tokenizer()                                    # core.pretrain.data
    model = build_mlm("tiny", vocab_size=len(tok), seed=0)
    batch = mask_lines(line_source("flat-128", tok)(8, rng), rng, tokenizer_ids=tok)
    model(**batch)                                               # the mean MLM loss

The loss is computed at the chosen positions only: their hidden states are gathered before the
projection onto the 30522-id vocabulary, which is most of the saving over a stock
BertForMaskedLM (it projects every token). Attention is PyTorch's SDPA.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from core.common.errors import InputError
from core.common.training import warmup_for
from core.pretrain.data import IGNORE_INDEX, MAX_POSITIONS, VOCABS


@dataclass(frozen=True)
class ModelSize:
    """The shape of one model size (see SIZES)."""

    layers: int  # transformer blocks
    hidden: int  # model width
    heads: int  # attention heads (hidden / heads = 64 per head for all three)
    ffn: int  # feed-forward inner width (4 x hidden)


# Model sizes; "medium" is the paper's (8 layers, 512 wide).
SIZES = {"tiny": ModelSize(2, 128, 2, 512), "small": ModelSize(4, 256, 4, 1024),
         "medium": ModelSize(8, 512, 8, 2048)}
ARCHS = ("bert", "roberta")
ROBERTA_POSITION_OFFSET = 2  # RoBERTa numbers positions from padding_idx + 1: two extra rows
# Peak learning rate by size (AdamW, linear warm-up then decay): small models take larger steps.
DEFAULT_LR = {"tiny": 1e-3, "small": 5e-4, "medium": 5e-4}


# --------------------------------------------------------------------------------- model
def _check(size: str, arch: str) -> ModelSize:
    if size not in SIZES:
        raise InputError(f"unknown model size {size!r}; choose one of {', '.join(SIZES)}")
    if arch not in ARCHS:
        raise InputError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return SIZES[size]


def make_config(size: str, arch: str = "bert", *, vocab_size: int,
                attn_implementation: str = "sdpa"):
    """A transformers BertConfig / RobertaConfig for SIZES[size].

    Padding id 0 is [PAD] of the English vocabulary; RoBERTa gets ROBERTA_POSITION_OFFSET
    extra position rows. Dropout and init are BERT's defaults (0.1, N(0, 0.02)).

    Args:
        size: a key of SIZES. arch: one of ARCHS.
        vocab_size: embedding rows (len(english_tokenizer()) for the experiment).
        attn_implementation: transformers' attention backend ("sdpa"; "eager" for the bench's
            stock loop).
    Raises:
        InputError: unknown size or arch (the message lists the choices).
    """
    from transformers import BertConfig, RobertaConfig

    s = _check(size, arch)
    common = dict(vocab_size=vocab_size, hidden_size=s.hidden, num_hidden_layers=s.layers,
                  num_attention_heads=s.heads, intermediate_size=s.ffn, pad_token_id=0,
                  attn_implementation=attn_implementation)
    if arch == "roberta":
        return RobertaConfig(**common, type_vocab_size=1,
                             max_position_embeddings=MAX_POSITIONS + ROBERTA_POSITION_OFFSET)
    return BertConfig(**common, max_position_embeddings=MAX_POSITIONS)


class MLMHead(nn.Module):
    """BERT's MLM head: transform (dense + activation + LayerNorm), then a decoder whose weight
    is the word-embedding matrix (tied), plus a bias per id."""

    def __init__(self, config, word_embeddings: nn.Embedding):
        super().__init__()
        from transformers.activations import ACT2FN

        h = config.hidden_size
        self.transform = nn.Sequential(nn.Linear(h, h), ACT2FN[config.hidden_act],
                                       nn.LayerNorm(h, eps=config.layer_norm_eps))
        self.decoder = nn.Linear(h, config.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight  # tied: one tensor, two names
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        nn.init.normal_(self.transform[0].weight, std=config.initializer_range)
        nn.init.zeros_(self.transform[0].bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., H) hidden states -> (..., V) scores over the vocabulary."""
        return F.linear(self.transform(hidden), self.decoder.weight, self.bias)


class MaskedLM(nn.Module):
    """An encoder (`.encoder`, a plain BertModel / RobertaModel without pooler) and BERT's MLM
    head (`.head`, an MLMHead tied to the encoder's word embeddings)."""

    def __init__(self, config):
        super().__init__()
        from transformers import BertModel, RobertaModel

        encoder_cls = RobertaModel if config.model_type == "roberta" else BertModel
        self.encoder = encoder_cls(config, add_pooling_layer=False)
        self.head = MLMHead(config, self.encoder.get_input_embeddings())

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None,
                masked_positions: torch.Tensor | None = None) -> torch.Tensor:
        """The mean MLM cross-entropy over the predicted positions (a scalar).

        Args:
            input_ids: (B, T). attention_mask: (B, T) or None (= attend everywhere).
            labels: (B, T), IGNORE_INDEX where nothing is predicted. None: return the (B, T, V)
                logits of every position instead of a loss.
            masked_positions: (B, k) positions of the labelled tokens, as mask_lines gives
                them: a fixed shape (no host sync, torch.compile-friendly). Without it the
                labelled positions are found from `labels`.
        """
        hidden = self.encoder(input_ids=input_ids,
                              attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        if labels is None:
            return self.head(hidden)
        if masked_positions is not None:
            idx = masked_positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, k, H)
            picked = hidden.gather(1, idx).flatten(0, 1)  # (B*k, H)
            target = labels.gather(1, masked_positions).flatten()  # (B*k,)
        else:
            keep = labels != IGNORE_INDEX  # (B, T)
            picked, target = hidden[keep], labels[keep]  # (M, H), (M,)
        return F.cross_entropy(self.head(picked).float(), target)


def build_mlm(size: str, arch: str = "bert", *, vocab_size: int, seed: int = 0,
              attn_implementation: str = "sdpa") -> MaskedLM:
    """A randomly initialised MaskedLM; the same arguments give the same weights.

    The global torch RNG is left as it was (the init draws from a forked one).

    Args:
        size, arch, vocab_size, attn_implementation: as make_config.
        seed: seeds the initial weights.
    Raises:
        InputError: unknown size or arch.
    """
    config = make_config(size, arch, vocab_size=vocab_size,
                         attn_implementation=attn_implementation)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MaskedLM(config)


def stats_matched(model: MaskedLM, seed: int = 0) -> MaskedLM:
    """A copy of `model` whose every parameter tensor is redrawn i.i.d. normal with that
    tensor's own mean and standard deviation (Wu et al. 2022): a pretrained model's scale of
    weights, per matrix, LayerNorm and bias, with none of its structure. Against it, a gain
    of the pretrained model is structure, not the size of its weights.

    The global torch RNG is left as it was; `model` is not changed.
    """
    out = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(out.named_parameters(), key=lambda kv: kv[0]):
            x = p.detach().float()
            std = float(x.std()) if x.numel() > 1 else 0.0
            noise = torch.randn(p.shape, generator=gen)
            p.copy_((float(x.mean()) + std * noise).to(p.dtype))
    return out


def param_digest(model: nn.Module) -> str:
    """sha256 over the names and bytes of every tensor in model.state_dict() (hex).

    Two replicas (or a model and its checkpoint) agree exactly iff their digests are equal.
    """
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# ------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class PretrainConfig:
    """One pretraining run. lr and warmup_steps left at None are filled in from the size and
    the steps, so a saved config (dataclasses.asdict) always holds the values used."""

    scheme: str  # line_source name: a fake-data scheme or "english"
    size: str = "tiny"  # key of SIZES
    arch: str = "bert"  # one of ARCHS
    steps: int = 1000  # optimizer steps
    batch_size: int = 32  # lines per step, per process (torchrun: times the world size)
    lr: float | None = None  # peak learning rate; None = DEFAULT_LR[size]
    warmup_steps: int | None = None  # None = training.warmup_for(steps): 10 %, >= 1
    seed: int = 0  # model-independent: data, dropout (the init is build_mlm's seed)
    log_every: int = 10  # a TrainEvent every N steps (and at the last)
    compile: bool | None = None  # torch.compile the model; None = only on CUDA
    fast: bool | None = None  # bf16 autocast + fused AdamW; None = only on CUDA (TrainConfig)
    checkpoint_dir: str | None = None  # where last.pt goes; None = no checkpoints
    checkpoint_every: int = 0  # save every N steps; 0 = at the end only (needs checkpoint_dir)
    vocab: str = "bert"  # core.pretrain.data.VOCABS: the ids lines are written in

    def __post_init__(self):
        _check(self.size, self.arch)
        if self.vocab not in VOCABS:
            raise InputError(f"unknown vocabulary {self.vocab!r}; choose one of "
                             f"{', '.join(VOCABS)}")
        for name in ("steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.checkpoint_every < 0:
            raise InputError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.size])
        if self.warmup_steps is None:
            object.__setattr__(self, "warmup_steps", warmup_for(self.steps))
