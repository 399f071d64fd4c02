"""The spoken-QA model of DUAL (Lin et al. 2022): a text encoder reads speech units.

    question wave -> units -> dedup -> unit map -> q tokens
    passage wave  -> units -> dedup (runs with counts) -> unit map -> p tokens
    [CLS] q [SEP] p[window] [SEP]  -> BertModel -> linear (H -> 2) -> start / end logits
    best (start, end) over windows -> passage run indices -> seconds (run start / run end)

A passage longer than one window is read in overlapping windows (`stride` passage units
shared by neighbours, as Hugging Face's doc_stride); a window without the whole answer is
trained to point at [CLS], as in SQuAD. Decoding follows DUAL's post-processing
(evaluate-test.py): the top-k start and end positions of each window by log-softmax, pairs
with start <= end within a maximum span, scored (1 - w) * log p(start) + w * log p(end) with
w = END_WEIGHT = 0.6, best over all windows. Candidates are kept inside the passage (DUAL's
script also lets them fall on the question). DUAL's script ran k = 3 and a 275-unit limit on
NMSQA; here k = 20 (the usual SQuAD n-best) and MAX_ANSWER_UNITS fits our shorter answers.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:  # transformers is imported on first use: the page starts without it
    from transformers import BertModel
    from transformers.modeling_outputs import QuestionAnsweringModelOutput

from core.common.errors import InputError
from core.speech.frames import HOP_S
from core.speech.units import Runs
from core.spoken_qa.config import DOC_STRIDE, INITS, MAX_LEN, MAX_QUESTION_TOKENS
from core.spoken_qa.metrics import span_scores

TOP_K = 20  # start and end candidates per window
MAX_ANSWER_UNITS = 150  # longest span decoded: ~3.5 s of MFCC units (answers are <= 5 words)
END_WEIGHT = 0.6  # DUAL's weight on the end log-probability (start gets 1 - 0.6)
NEG_INF = -1e9  # logit given to padding before the softmax


@dataclass(frozen=True)
class QAConfig:
    max_len: int = MAX_LEN  # window length in tokens, [CLS] and both [SEP] included
    stride: int = DOC_STRIDE  # overlap between windows, in passage units
    max_question_tokens: int = MAX_QUESTION_TOKENS  # question units kept
    top_k: int = TOP_K  # DUAL decoding: candidates per window for start and for end
    max_answer_units: int = MAX_ANSWER_UNITS  # DUAL decoding: longest span in units
    end_weight: float = END_WEIGHT  # DUAL decoding: score = (1 - w) log p_s + w log p_e


def fit_config(config: QAConfig, encoder_config) -> QAConfig:
    """The config with max_len capped at the encoder's positions; checks the window room."""
    max_len = min(config.max_len, int(encoder_config.max_position_embeddings))
    room = max_len - 3 - config.max_question_tokens
    if room <= config.stride:
        raise InputError(f"a {max_len}-token window leaves {room} passage units after a "
                         f"{config.max_question_tokens}-unit question; the stride "
                         f"({config.stride}) must be smaller")
    return replace(config, max_len=max_len)


class Window(NamedTuple):
    input_ids: np.ndarray  # (L,) [CLS] question [SEP] passage slice [SEP]
    token_type_ids: np.ndarray  # (L,) 0 up to the first [SEP], 1 after it
    passage_offset: int  # position of the slice's first token in the window
    unit_start: int  # passage unit index of that token
    unit_count: int  # passage units in the slice


def make_windows(question_ids, passage_ids, *, cls_id: int, sep_id: int,
                 config: QAConfig = QAConfig()) -> list[Window]:
    """Token windows over a passage: every passage token in at least one window,
    neighbours sharing config.stride tokens."""
    q = np.asarray(question_ids, dtype=np.int64)[: config.max_question_tokens]
    p = np.asarray(passage_ids, dtype=np.int64)
    if len(q) == 0 or len(p) == 0:
        raise InputError("the question and the passage each need at least one unit")
    room = config.max_len - 3 - len(q)
    if room <= config.stride:
        raise InputError(f"windows of {config.max_len} tokens leave {room} passage units; "
                         f"the stride {config.stride} must be smaller")
    head = np.r_[cls_id, q, sep_id]
    windows, start = [], 0
    while True:
        piece = p[start: start + room]
        ids = np.r_[head, piece, sep_id]
        types = np.r_[np.zeros(len(head), np.int64), np.ones(len(piece) + 1, np.int64)]
        windows.append(Window(ids, types, len(head), start, len(piece)))
        if start + room >= len(p):
            return windows
        start += room - config.stride


def answer_units(runs: Runs, start_s: float, end_s: float) -> tuple[int, int]:
    """Indices (first, last) of the runs that cover [start_s, end_s]: the run holding the
    span's first frame and the run holding its last."""
    if len(runs.units) == 0:
        raise InputError("the passage has no units")
    if not end_s > start_s:
        raise InputError(f"an answer span must end after it starts: {start_s}-{end_s} s")
    eps = HOP_S / 2  # a span edge on a frame boundary belongs to the frame after it
    first = int(np.searchsorted(runs.end_s, start_s + eps, side="right"))
    last = int(np.searchsorted(runs.start_s, end_s - eps, side="left")) - 1
    first = min(first, len(runs.units) - 1)
    return first, max(first, min(last, len(runs.units) - 1))


def units_to_seconds(runs: Runs, first: int, last: int) -> tuple[float, float]:
    """Run indices -> (start of the first run, end of the last run) in seconds."""
    return float(runs.start_s[first]), float(runs.end_s[last])


def window_labels(window: Window, first: int, last: int) -> tuple[int, int]:
    """Start/end token positions of the answer units in a window; (0, 0) = [CLS] when the
    window does not hold the whole answer."""
    lo, hi = window.unit_start, window.unit_start + window.unit_count
    if first < lo or last >= hi:
        return 0, 0
    return window.passage_offset + first - lo, window.passage_offset + last - lo


class SpanQA(nn.Module):
    """BertModel -> linear (H -> 2): start and end logits for every token."""

    def __init__(self, encoder: BertModel):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 2)
        nn.init.normal_(self.head.weight, std=encoder.config.initializer_range)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None,
                start_positions=None, end_positions=None) -> QuestionAnsweringModelOutput:
        """(B, T) tensors in; start/end logits (B, T), padding at NEG_INF; loss = mean of
        the start and end cross-entropies when positions (B,) are given."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state  # (B, T, H)
        logits = self.head(hidden).float()  # (B, T, 2)
        logits = logits.masked_fill(attention_mask[..., None] == 0, NEG_INF)
        start, end = logits.unbind(dim=-1)  # (B, T) each
        loss = None
        if start_positions is not None and end_positions is not None:
            ce = nn.functional.cross_entropy
            loss = (ce(start, start_positions) + ce(end, end_positions)) / 2
        from transformers.modeling_outputs import QuestionAnsweringModelOutput

        return QuestionAnsweringModelOutput(loss=loss, start_logits=start, end_logits=end)


def build_qa_model(init: str, *, model_name: str | None = None, base: nn.Module | None = None,
                   seed: int = 0, layers: int | None = None) -> SpanQA:
    """A fresh SpanQA on CPU in train mode.

    Args:
        init: "pretrained" (the English model's encoder weights) or "random" (same config,
            fresh weights).
        model_name: English role model (default: the active profile's); ignored with `base`.
        base: a BertModel standing in for the English model (tests pass a tiny one).
        seed: seeds the head and the random encoder; the caller's torch RNG is untouched.
        layers: keep the encoder's first N layers (None = all): a cheaper body, the same for
            both starts.
    """
    if init not in INITS:
        raise InputError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    if base is None:
        from core.text.models import default_model, load_model

        base = load_model(model_name or default_model("english")).model
    from transformers import BertModel

    config = copy.deepcopy(base.config)
    if layers is not None:
        if not 1 <= layers <= config.num_hidden_layers:
            raise InputError(f"layers must be between 1 and {config.num_hidden_layers}, "
                             f"got {layers}")
        config.num_hidden_layers = layers
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = BertModel(config, add_pooling_layer=False)
        model = SpanQA(encoder)
    if init == "pretrained":
        own = encoder.state_dict()
        encoder.load_state_dict({k: v for k, v in base.state_dict().items() if k in own})
    return model.train()


class Span(NamedTuple):
    first: int  # passage run index where the answer starts
    last: int  # passage run index where it ends (inclusive)
    score: float  # (1 - w) log p(start) + w log p(end)
    window: int  # which window gave it


def best_span(start_logits, end_logits, lo: int, hi: int, *, top_k: int = TOP_K,
              max_answer_units: int = MAX_ANSWER_UNITS, end_weight: float = END_WEIGHT
              ) -> tuple[float, int, int]:
    """DUAL's decoding in one window: (score, start position, end position), both in
    [lo, hi) with start <= end < start + max_answer_units. Padding must be at NEG_INF."""
    ls = torch.log_softmax(torch.as_tensor(start_logits, dtype=torch.float32), -1)
    le = torch.log_softmax(torch.as_tensor(end_logits, dtype=torch.float32), -1)
    ls, le = ls.detach().cpu().numpy(), le.detach().cpu().numpy()  # (T,) each
    if not 0 <= lo < hi <= len(ls):
        raise InputError(f"no passage positions to decode in {lo}..{hi}")
    starts = lo + np.argsort(-ls[lo:hi], kind="stable")[:top_k]
    ends = lo + np.argsort(-le[lo:hi], kind="stable")[:top_k]
    s, e = np.meshgrid(starts, ends, indexing="ij")  # (k, k) candidate pairs
    ok = (e >= s) & (e - s < max_answer_units)
    if not ok.any():  # no top-k pair is valid: search every pair in the window
        s, e = np.meshgrid(np.arange(lo, hi), np.arange(lo, hi), indexing="ij")
        ok = (e >= s) & (e - s < max_answer_units)
    score = np.where(ok, (1 - end_weight) * ls[s] + end_weight * le[e], -np.inf)
    i = np.unravel_index(int(np.argmax(score)), score.shape)
    return float(score[i]), int(s[i]), int(e[i])


def decode(start_logits, end_logits, windows: list[Window], config: QAConfig = QAConfig()
           ) -> Span:
    """The best span over all windows; start/end logits are (W, T) for W windows."""
    best = None
    for w, win in enumerate(windows):
        lo = win.passage_offset
        score, s, e = best_span(start_logits[w], end_logits[w], lo, lo + win.unit_count,
                                top_k=config.top_k, max_answer_units=config.max_answer_units,
                                end_weight=config.end_weight)
        if best is None or score > best.score:
            best = Span(win.unit_start + s - lo, win.unit_start + e - lo, score, w)
    return best


def collate(windows: list[Window], pad_id: int, labels=None) -> dict[str, torch.Tensor]:
    """Windows (+ optional (start, end) labels) -> padded (N, T) tensors for the model."""
    width = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(windows), width), dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for i, w in enumerate(windows):
        ids[i, : len(w.input_ids)] = torch.from_numpy(w.input_ids)
        types[i, : len(w.input_ids)] = torch.from_numpy(w.token_type_ids)
        mask[i, : len(w.input_ids)] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    if labels is not None:
        batch["start_positions"] = torch.tensor([s for s, _ in labels], dtype=torch.long)
        batch["end_positions"] = torch.tensor([e for _, e in labels], dtype=torch.long)
    return batch


class QAItem(NamedTuple):
    """One spoken question about one spoken passage, as units."""

    question_units: np.ndarray  # (Rq,) deduplicated unit ids of the question
    passage: Runs  # deduplicated passage units with counts and times
    start_s: float  # gold answer span in the passage audio
    end_s: float
    voice: str = ""  # the espeak-ng voice it was spoken in (voiced sets)


def _windows_for(item: QAItem, unit_map, config: QAConfig) -> list[Window]:
    tok = unit_map.tokenizer
    return make_windows(unit_map.token_ids(item.question_units),
                        unit_map.token_ids(item.passage.units), cls_id=tok.cls_token_id,
                        sep_id=tok.sep_token_id, config=config)


def encode_items(items: list[QAItem], unit_map, config: QAConfig = QAConfig()
                 ) -> dict[str, torch.Tensor]:
    """Training tensors, one row per window of every item (for core.common.training.batch_sampler):
    input_ids, attention_mask, token_type_ids (N, T); start_positions, end_positions (N,).
    `config` must fit the model: pass fit_config(config, model.encoder.config)."""
    if not items:
        raise InputError("no spoken-QA examples to encode")
    windows, labels = [], []
    for item in items:
        first, last = answer_units(item.passage, item.start_s, item.end_s)
        for win in _windows_for(item, unit_map, config):
            windows.append(win)
            labels.append(window_labels(win, first, last))
    return collate(windows, unit_map.tokenizer.pad_token_id, labels)


def answer_windows(data: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The rows of encode_items' tensors whose window holds the answer (the rest point at
    [CLS]): what a held-out span loss is measured on."""
    keep = data["start_positions"] > 0
    return {name: t[keep] for name, t in data.items()}


@torch.no_grad()
def span_loss(model: SpanQA, data: dict[str, torch.Tensor], batch_size: int = 32) -> float:
    """Mean start/end cross-entropy of the model on these windows (e.g. answer_windows of
    held-out questions): it falls as soon as the model learns where answers are, before the
    decoded spans (FF1) get them right. NaN for no windows."""
    n = len(data["input_ids"])
    if not n:
        return float("nan")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total = 0.0
    for lo in range(0, n, batch_size):
        batch = {k: v[lo:lo + batch_size].to(device) for k, v in data.items()}
        total += float(model(**batch).loss) * len(batch["input_ids"])
    model.train(was_training)
    return total / n


class Prediction(NamedTuple):
    start_s: float  # answer span in the passage audio
    end_s: float
    first: int  # passage run indices (inclusive)
    last: int
    confidence: float  # exp(score): (1 - w, w)-weighted geometric mean of p(start), p(end)
    windows: int  # windows the passage was read in


@torch.no_grad()
def predict(model: SpanQA, unit_map, question_units, passage: Runs,
            config: QAConfig = QAConfig()) -> Prediction:
    """The answer span of one spoken question in one spoken passage."""
    config = fit_config(config, model.encoder.config)
    item = QAItem(np.asarray(question_units), passage, 0.0, 0.0)
    windows = _windows_for(item, unit_map, config)
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in
             collate(windows, unit_map.tokenizer.pad_token_id).items()}
    was_training = model.training
    model.eval()
    out = model(**batch)
    model.train(was_training)
    span = decode(out.start_logits.cpu(), out.end_logits.cpu(), windows, config)
    start_s, end_s = units_to_seconds(passage, span.first, span.last)
    return Prediction(start_s, end_s, span.first, span.last, float(np.exp(span.score)),
                      len(windows))


def evaluate(model: SpanQA, unit_map, items: list[QAItem], config: QAConfig = QAConfig()
             ) -> dict[str, float]:
    """Mean FF1 and AOS (DUAL's metrics) of the model's spans on items: {"ff1", "aos", "n"}."""
    preds = [predict(model, unit_map, it.question_units, it.passage, config)[:2]
             for it in items]
    return span_scores(preds, [(it.start_s, it.end_s) for it in items])


def items_from_voiced(entries: list[dict], read_units: Callable[[str], Runs]) -> list[QAItem]:
    """Cached voiced examples of one split (core.spoken_qa.voicing.build_voiced_set) -> unit
    QAItems; read_units: an audio file's path -> its runs (core.spoken_qa.items caches them)."""
    items, passages = [], {}  # a passage is read once for all its questions
    for entry in entries:
        key = entry["passage_path"]
        if key not in passages:
            passages[key] = read_units(key)
        question = read_units(entry["question_path"])
        items.append(QAItem(question.units, passages[key], float(entry["start_s"]),
                            float(entry["end_s"]), entry.get("voice", "")))
    return items
