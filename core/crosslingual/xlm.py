"""The lab's own multilingual BERTs: pretrained with MLM on Bible verses of several languages
(core.crosslingual.bible), then measured on held-out parallel verses — does alignment between
languages grow with the pretraining corpus? (Liu et al. 2020, arXiv 2010.10938; Dufter &
Schuetze 2020, whose narrow-and-deep setting is the default here.)

    cfg = XlingConfig(languages=("en", "ru"), per_language=2_000, steps=300)
    model, tok = build(cfg)
    for event in pretrain(model, tok, cfg, evaluate=alignment_probe(tok, cfg.languages)):
        print(event.step, event.loss, event.metrics)   # metrics: retrieval at the probe layer
    scores = alignment(model, tok, cfg.languages)      # every layer, every pair

Every language is one stream of its drawn verses (in canonical order, [SEP] between verses);
a line is LINE_LENGTH ids cut from one language's stream, so languages are mixed across a
batch but never within a line, and no line is a translation of another. A line starts at the
first id of a random verse (packing "verse", the default): a verse then sits at the same
positions in every language, as in Dufter & Schuetze's one-sentence-per-line examples, whose
finding is that shared position embeddings are what ties languages together (packing
"stream" cuts at any id). All languages share the special tokens and the position
embeddings (one model, one vocabulary).
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.common.errors import InputError
from core.common.training import warmup_for
from core.crosslingual import bible
from core.crosslingual.analysis import cluster_ari, paired_retrieval
from core.text.embeddings import LanguageEmbedding, embed_language
from core.text.mlm import MAX_POSITIONS, SIZES, MaskedLM, TokenIds, build_mlm, mask_lines
from core.text.mlm_loop import run_mlm
from core.text.models import LoadedModel, ModelSpec

LINE_LENGTH = 62  # ids of a line (+ [CLS], [SEP] = 64 positions): about two verses
EVAL_VERSES = 500  # held-out (test-book) verses per language for the alignment measures
PROBE_VERSES = 200  # fewer, for the curve measured along a run
# Fields a resumed run must agree on with its checkpoint.
RUN_FIELDS = ("languages", "per_language", "vocab_size", "size", "steps", "batch_size",
              "line_length", "lr", "warmup_steps", "seed", "packing")
PACKINGS = ("verse", "stream")  # where a line may start: a verse's first id, or any id


@dataclass(frozen=True)
class XlingConfig:
    """One pretraining run. warmup_steps None = core.common.training.warmup_for(steps)."""

    languages: tuple[str, ...] = ("en", "de", "fr", "ru", "ar")  # bible languages (or "fake")
    per_language: int = 0  # pretraining verses drawn per language; 0 = all ~24k train verses
    vocab_size: int = 8_000  # one WordPiece vocabulary for all languages (the same every size)
    size: str = "narrow"  # core.text.mlm.SIZES: 6 layers, 64 wide, 1 head
    steps: int = 2_000  # optimizer steps
    batch_size: int = 128  # lines per step
    line_length: int = LINE_LENGTH  # ids per line, <= MAX_POSITIONS - 2
    packing: str = "verse"  # PACKINGS: lines start at a verse's first id, or at any id
    lr: float = 2e-3  # peak (AdamW, warm-up then linear decay); Dufter & Schuetze's rate
    warmup_steps: int | None = None
    seed: int = 0  # data draw, batch order, dropout and the initial weights
    log_every: int = 25  # a TrainEvent every N steps
    compile: bool | None = None  # None = only on CUDA
    fast: bool | None = None  # bf16 autocast + fused AdamW; None = only on CUDA
    checkpoint_dir: str | None = None
    checkpoint_every: int = 0

    def __post_init__(self):
        object.__setattr__(self, "languages", bible.check_bible_languages(self.languages))
        if self.size not in SIZES:
            raise InputError(f"unknown model size {self.size!r}; choose one of "
                             f"{', '.join(SIZES)}")
        if self.packing not in PACKINGS:
            raise InputError(f"unknown packing {self.packing!r}; choose one of "
                             f"{', '.join(PACKINGS)}")
        if not 1 <= self.line_length <= MAX_POSITIONS - 2:
            raise InputError(f"line_length must be 1 to {MAX_POSITIONS - 2}, "
                             f"got {self.line_length}")
        for name in ("steps", "batch_size", "log_every", "vocab_size"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.warmup_steps is None:
            object.__setattr__(self, "warmup_steps", warmup_for(self.steps))


def tokenizer_of(cfg: XlingConfig):
    """The shared vocabulary of cfg's languages (trained on all their train-book verses)."""
    return bible.bible_tokenizer(tuple(sorted(cfg.languages)), cfg.vocab_size)


@functools.lru_cache(maxsize=8)
def _streams(languages: tuple[str, ...], per_language: int, seed: int, vocab_size: int
             ) -> tuple[np.ndarray, ...]:
    """One int64 id stream per language: its drawn verses, [SEP] between them."""
    tok = bible.bible_tokenizer(tuple(sorted(languages)), vocab_size)
    out = []
    for lang, ids in bible.pretraining_ids(languages, per_language, seed).items():
        texts = [bible.verses(lang)[v] for v in ids]
        enc = tok(texts, add_special_tokens=False)["input_ids"]
        stream = np.fromiter(itertools.chain.from_iterable(e + [tok.sep_token_id] for e in enc),
                             dtype=np.int64)
        stream.flags.writeable = False
        out.append(stream)
    return tuple(out)


def corpus_tokens(cfg: XlingConfig) -> dict[str, int]:
    """Pretraining ids per language (the corpus size a run saw, in tokens)."""
    streams = _streams(cfg.languages, cfg.per_language, cfg.seed, cfg.vocab_size)
    return {lang: int(s.size) for lang, s in zip(cfg.languages, streams)}


def batch_maker(cfg: XlingConfig, tok, *, rank: int = 0):
    """make_batch(step, _): masked lines, a pure function of (cfg.seed, rank, step). A line's
    language is drawn in proportion to its stream's length (every pretraining id is equally
    likely to be read), its start uniformly among the starts cfg.packing allows."""
    streams = _streams(cfg.languages, cfg.per_language, cfg.seed, cfg.vocab_size)
    short = [lang for lang, s in zip(cfg.languages, streams) if s.size <= cfg.line_length]
    if short:
        raise InputError(f"too little text in {', '.join(short)} for one line of "
                         f"{cfg.line_length} ids: draw more verses")
    weights = np.array([s.size for s in streams], dtype=np.float64)
    weights /= weights.sum()
    if cfg.packing == "verse":  # a verse starts at 0 and after every [SEP]
        starts = [np.flatnonzero(np.r_[True, s[:-1] == tok.sep_token_id]) for s in streams]
        starts = [st[st <= s.size - cfg.line_length] for st, s in zip(starts, streams)]
    else:
        starts = [np.arange(s.size - cfg.line_length + 1) for s in streams]
    ids = TokenIds.from_tokenizer(tok)
    span = np.arange(cfg.line_length)

    def make_batch(step: int, _rng=None) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([cfg.seed, rank, step])
        which = rng.choice(len(streams), size=cfg.batch_size, p=weights)
        lines = np.stack([streams[w][starts[w][rng.integers(0, starts[w].size)] + span]
                          for w in which])  # (B, L)
        batch = mask_lines(lines, rng, tokenizer_ids=ids)
        del batch["attention_mask"]  # never padded: SDPA's fastest kernel
        return batch

    return make_batch


def build(cfg: XlingConfig) -> tuple[MaskedLM, object]:
    """A randomly initialised model (seeded by cfg.seed) over cfg's shared vocabulary."""
    tok = tokenizer_of(cfg)
    return build_mlm(cfg.size, vocab_size=len(tok), seed=cfg.seed), tok


def pretrain(model: MaskedLM, tok, cfg: XlingConfig, *, device=None, resume: bool = False,
             evaluate=None, eval_every: int = 0):
    """Pretrains `model` in place (core.text.mlm_loop.run_mlm: checkpoints, torchrun).

    Returns:
        a generator of core.common.training.TrainEvent; closing it stops training.
    Raises:
        InputError: too little text for a line; a checkpoint of another run.
    """
    first = batch_maker(cfg, tok)  # checks the data now
    return run_mlm(model, cfg, lambda rank: batch_maker(cfg, tok, rank=rank) if rank else first,
                   device=device, resume=resume, run_fields=RUN_FIELDS, evaluate=evaluate,
                   eval_every=eval_every)


# --------------------------------------------------------------------------- measuring
def _loaded(model: MaskedLM, tok) -> LoadedModel:
    spec = ModelSpec("lab-trained", "multilingual", "embedded", "lab", "", "pretrained here")
    return LoadedModel(spec, model.encoder.eval(), tok, next(model.parameters()).device)


def embed_verses(loaded: LoadedModel, languages, *, n_verses: int = EVAL_VERSES,
                 split: str = "test", depth: int | None = None
                 ) -> dict[str, LanguageEmbedding]:
    """Every layer's vectors of the first n_verses `split` verses held by all `languages`
    (the same verses, in the same order, in each), from an encoder with its tokenizer."""
    ids = bible.split_ids(split, list(languages))[:n_verses]
    with torch.no_grad():
        return {lang: embed_language(loaded, lang, [bible.verses(lang)[v] for v in ids],
                                     depth=depth) for lang in languages}


def layer_scores(embs: dict[str, LanguageEmbedding], layer: int) -> dict:
    """At one layer: retrieval for every ordered pair, raw and centered (each language's
    mean vector subtracted), their means, and how strongly verses cluster by language."""
    pairs = []
    for a, b in itertools.permutations(embs, 2):
        row = {"source": a, "target": b}
        for mode in ("raw", "centered"):
            va, vb = (embs[x].sentence_vecs[layer] for x in (a, b))
            if mode == "centered":
                va, vb = va - embs[a].mean[layer], vb - embs[b].mean[layer]
            for k, v in paired_retrieval(va, vb).items():
                row[f"{k}_{mode}"] = v
        pairs.append(row)
    out = {"layer": int(layer), "pairs": pairs}
    for key in ("p_at_1_raw", "p_at_1_centered", "mrr_raw", "mrr_centered"):
        out[key] = float(np.mean([p[key] for p in pairs]))
    mats = [e.sentence_vecs[layer] for e in embs.values()]
    out["language_ari"] = cluster_ari(mats)
    out["language_ari_centered"] = cluster_ari([m - e.mean[layer]
                                                for m, e in zip(mats, embs.values())])
    return out


def alignment(model: MaskedLM, tok, languages, *, n_verses: int = EVAL_VERSES,
              split: str = "test") -> list[dict]:
    """layer_scores at every layer (0 = the embeddings' output) on held-out verses."""
    return alignment_of(_loaded(model, tok), languages, n_verses=n_verses, split=split)


def alignment_of(loaded: LoadedModel, languages, *, n_verses: int = EVAL_VERSES,
                 split: str = "test") -> list[dict]:
    """`alignment` of an encoder with its tokenizer (e.g. an exported model, loaded through
    the registry)."""
    embs = embed_verses(loaded, languages, n_verses=n_verses, split=split)
    return [layer_scores(embs, layer) for layer in range(min(e.depth for e in embs.values()) + 1)]


def export(model: MaskedLM, tok, folder, meta: dict) -> Path:
    """Writes the encoder (safetensors), its tokenizer and `meta` (lab.json) to `folder`: a
    model core.text.models registers as `folder`'s name (the MLM head is left out).

    Returns: the folder."""
    import json

    from core.text.models import LAB_META

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    (folder / LAB_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return folder


def alignment_probe(tok, languages, *, n_verses: int = PROBE_VERSES, split: str = "dev"):
    """evaluate(model) for a run: mean retrieval over pairs (raw and centered) at the best
    layer on `split` verses — the curve of alignment along pretraining."""
    def evaluate(model: MaskedLM) -> dict[str, float]:
        rows = alignment(model, tok, languages, n_verses=n_verses, split=split)
        best = max(rows[1:] or rows, key=lambda r: r["mrr_centered"])
        return {"layer": float(best["layer"]), "p_at_1_raw": best["p_at_1_raw"],
                "p_at_1_centered": best["p_at_1_centered"], "mrr_raw": best["mrr_raw"],
                "mrr_centered": best["mrr_centered"]}
    return evaluate
