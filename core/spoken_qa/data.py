"""Spoken-QA data: BBC News passages, generated questions, espeak-ng voicing with exact spans.

Text (committed; `build_text_set(seed)` -> one record per passage, stored as JSONL):

    {"passage_id": "bbc0000", "split": "train", "topic": "business", "text": "Judy Boynton
     finally left the firm on 31 December, having spent ...", "cuts": [20, 25, ...],
     "voice": "en-us+m3", "speed": 160, "pitch": 35, "questions": [{"kind": "date",
     "question": "Judy Boynton finally left the firm on what date?",
     "answer": "31 December", "answer_start": 38}, ...]}

A passage is the complete sentences after an article's first (the corpus glues the headline
onto the first sentence; the 100-word cut leaves the last unfinished), <= MAX_PASSAGE_WORDS
words, so it voices in < 30 s. A question is one of its sentences with the answer (a name,
number, amount or date) swapped for a wh-phrase ("were 20% smaller" -> "were what percentage
smaller"), or "Who said ...?" for a quoted speaker; it is dropped when the answer occurs twice
in the passage, occurs in the question, or sits in brackets. Splits follow assets/text/bbc.csv
(one passage per article, repeats kept once: split by passage); TEST_VOICES are heard in
the test split only.

Audio (core.spoken_qa.voicing; rebuilt into a cache, never committed): the passage is voiced
in chunks cut at `cuts` - sentence ends, both edges of every answer, and seeded word boundaries
besides - one espeak-ng call a chunk, trimmed and joined with short pauses. The answer's time
span is so known exactly; every answer edge has a pause, but so does about a quarter of all
other word boundaries, so a pause does not single the answer out. Chunked, a passage runs
~15 % longer than voiced in one go (each chunk ends like an utterance).
"""
from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import NamedTuple

from core.common.errors import InputError
from core.common.paths import ASSETS
from core.speech.voice import PITCHES, SPEEDS, TRAINING_VARIANTS, VOICES
from core.text.tasks import ASSET_DIR

BBC_CSV = ASSET_DIR / "bbc.csv"
TEXT_SET = ASSETS / "spoken_qa" / "text.jsonl"  # the committed set: python -m core build-spoken-qa
SPLITS = ("train", "dev", "test")
DEFAULT_SEED = 0  # chooses questions, extra cuts, voice, speed and pitch of each passage
MAX_PASSAGE_WORDS = 60  # ~22 s at 160 wpm, < 30 s at 120 wpm
MIN_PASSAGE_WORDS = 20  # shorter leftovers give too little context to search
MIN_QUESTION_WORDS, MAX_QUESTION_WORDS = 4, 25  # 25 words at 120 wpm ~ 13 s (< 20 s limit)
MIN_CLAUSE_WORDS = 6  # a question is cut down to its clause only if that clause is this long
MAX_ANSWER_WORDS = 5
MAX_QUESTIONS_PER_PASSAGE = 4  # drawn by seed when a passage offers more
TEST_VOICES = ("en-gb-scotland", "en-us+f3")  # one accent and one variant never trained on
TRAIN_VOICES = tuple(v for v in VOICES if v not in TEST_VOICES)  # train and dev
# The voices of a train passage's extra takes (train_takes > 1): the train voices, or "more":
# with espeak-ng's female and male variants on the train accents (never a test voice's accent
# or variant; one of the two test voices is female, one of the six train voices is).
TAKE_POOLS = {"train": TRAIN_VOICES, "more": TRAIN_VOICES + TRAINING_VARIANTS}
EXTRA_CUT_P = 0.25  # each other word boundary is a chunk cut with this chance (~4 words a chunk)

_MONTH = ("(?:January|February|March|April|May|June|July|August|September|October|November|"
          "December)")
_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_CAP = r"(?:(?:Mc|Mac|O')?[A-Z][a-z]+(?:-[A-Z][a-z]+)?|[A-Z]{2,})"  # Brown, McDonald, BBC
_NAME = (rf"(?:(?:Mr|Mrs|Ms|Dr|Sir|Lord|Lady) )?{_CAP}"
         rf"(?: (?:(?:van|von|der|de|da|di|del|la|le|al) )*{_CAP}){{0,3}}")
_SPEECH = ("(?:said|says|told|added|warned|argued|claimed|announced|insisted|admitted|"
           "explained|stressed|confirmed|revealed|denied|predicted|believes|thinks)")
_TITLE = ("(?:chief executive|prime minister|chancellor|minister|president|chairman|boss|mayor|"
          "manager|coach|director|spokesman|spokeswoman|leader|secretary|singer|actor|actress|"
          "striker|captain|champion|analyst|economist|governor|founder|producer|designer)")
_NUMBER_WORDS = ("two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
                 "thirty|forty|fifty|hundred")
# Capitalised words that start sentences without being names.
_NOT_NAMES = set("The A An It He She They We I You This That These Those But And In On At For "
                 "If When While However Both Some Many Its His Her Their Our There Also After "
                 "Before Last Next Now So Yet As One Other Such Most More Even".split())
# Plural-looking words after a number that are not what it counts ("pounds" is an amount).
_NOT_NOUNS = set("was is has as this its his does plus less across us thus yes pounds dollars "
                 "euros".split())
# Words that may come right before "<title> <name>" ("London mayor Ken ..." and
# "Vibe magazine president ..." would make "London which mayor"; these do not).
_TITLE_LEADS = set("the to by with from for of and as that former said says but while new "
                   "then".split())
# "the 3.2 billion pounds settlement": an amount used as a modifier makes no question.
_DETERMINERS = set("the a an its his her their our this that".split())
_FUNCTION_WORDS = _NOT_NAMES - {"I"}  # lower-cased when a question moves them mid-sentence
# (rule kind, pattern with a group "a" = the answer, wh-phrase that replaces group "r")
_RULES: tuple[tuple[str, re.Pattern, str], ...] = tuple((k, re.compile(p), w) for k, p, w in (
    ("date", rf"(?P<r>\b(?i:on) (?P<a>\d{{1,2}} {_MONTH}(?: \d{{4}})?))\b", "on what date"),
    ("date", rf"(?P<r>\b(?i:on) (?P<a>{_DAY}))\b", "on what day"),
    ("date", rf"(?P<r>\b(?i:in) (?P<a>{_MONTH}(?: \d{{4}})?))\b", "in what month"),
    ("date", r"(?P<r>\b(?P<p>(?i:in|since|by|until)) (?P<a>(?:19|20)\d\d))\b(?![-/%])",
     "{p} what year"),
    ("number", r"(?P<r>(?P<a>\b\d+(?:\.\d+)?%))", "what percentage"),
    ("amount", r"(?P<r>(?P<a>\b\d[\d,]*(?:\.\d+)? (?:(?:thousand|million|billion) )?"
               r"(?:pounds|dollars|euros)))\b", "how much"),
    ("number", rf"(?P<r>(?P<a>(?<![\d.,])\b(?:\d{{1,3}}(?:,\d{{3}})+|\d{{1,3}}|"
               rf"(?i:{_NUMBER_WORDS}))))(?= (?P<n>[a-z]+s)\b)", "how many"),
    ("name", rf"(?P<r>(?<![\w-])(?i:(?P<t>{_TITLE})) (?P<a>{_NAME}))(?P<s>'s)?\b"
             r"(?! [A-Z])", "which {t}"),
    ("name", rf"^(?P<r>(?P<a>{_NAME}))(?= {_SPEECH}\b)", "who"),
))
_ATTRIBUTION = re.compile(rf"^(?P<c>.+), (?:(?P<a>{_NAME}) (?P<v>said|says|added|warned)"
                          rf"|(?P<v2>said|says|added) (?P<a2>{_NAME}))\.$")


class Question(NamedTuple):
    kind: str  # "date" | "number" | "amount" | "name"
    question: str
    answer: str
    answer_start: int  # character offset of the answer in the passage


def spoken_text(text: str) -> str:
    """Text as it should be voiced: currency written out, quotes dropped, spaces squashed.

    e.g. 'pay $1m ("£522,000")' -> 'pay 1 million dollars (522,000 pounds)'.
    """
    units = {"£": "pounds", "$": "dollars", "€": "euros"}
    scales = {"bn": "billion", "m": "million", "k": "thousand"}

    def money(m: re.Match) -> str:
        scale = scales.get(m.group(3) or "", m.group(3) or "")
        return " ".join(p for p in (m.group(2), scale, units[m.group(1)]) if p)

    text = re.sub(r"[\"“”]", "", text.replace("’", "'").replace("&", " and "))
    text = re.sub(r"([£$€])(\d[\d,]*(?:\.\d+)?)(bn|m|k|billion|million)?\b", money, text)
    text = re.sub(r"\b(\d[\d,]*(?:\.\d+)?)bn\b", r"\1 billion", text)  # "1.16bn euros"
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    """Splits on . ! ? followed by a space and a capital or digit, keeping 'U.S.' whole."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(])", text)
    out: list[str] = []
    for part in parts:
        if out and re.search(r"\b(?:[A-Z]\.){2,}$|\b(?:St|No|Dr)\.$", out[-1]):
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def make_passage(article: str) -> str | None:
    """The passage of an article (or None): complete sentences after the first, at most
    MAX_PASSAGE_WORDS words, starting from the earliest sentence that gives enough."""
    sents = sentences(spoken_text(article))
    complete = [s for s in sents[1:] if re.search(r"[.!?][)']?$", s)]
    for first in range(len(complete)):
        words, chosen = 0, []
        for s in complete[first:]:
            if words + len(s.split()) > MAX_PASSAGE_WORDS:
                break
            words += len(s.split())
            chosen.append(s)
        if words >= MIN_PASSAGE_WORDS:
            return " ".join(chosen)
    return None


def _tidy(question: str) -> str:
    """Brackets dropped, end punctuation replaced by '?', first letter capitalised."""
    q = " ".join(re.sub(r"\s*\([^)]*\)", "", question).split()).rstrip(" .,;:!?'")
    return q[:1].upper() + q[1:] + "?"


def _lower_first(clause: str) -> str:
    first = clause.split(" ", 1)[0]
    return clause[:1].lower() + clause[1:] if first in _FUNCTION_WORDS else clause


def _clause_with(text: str, phrase: str) -> str:
    """The text up to the end of the comma-delimited clause holding the wh-phrase, when that
    keeps MIN_CLAUSE_WORDS words: drops trailing asides ("..., Halifax said") so questions
    stay short, and never starts a question mid-sentence."""
    clauses = text.split(", ")
    for i, clause in enumerate(clauses):
        if phrase in clause:
            kept = ", ".join(clauses[: i + 1])
            relative = clause.split(" ", 1)[0] in ("which", "who", "where", "when")
            return kept if len(kept.split()) >= MIN_CLAUSE_WORDS and not relative else text
    return text


def sentence_questions(sentence: str) -> list[Question]:
    """Every rule's questions for one sentence (answer_start relative to the sentence)."""
    out = []
    for kind, rule, wh in _RULES:
        for m in rule.finditer(sentence):
            groups = m.groupdict()
            before = sentence[:m.start()].split()
            if (kind == "name" and m.group("a").split(" ")[0] in _NOT_NAMES
                    or groups.get("t") and before and before[-1] not in _TITLE_LEADS
                    or groups.get("n") in _NOT_NOUNS
                    or kind != "name" and before and before[-1].lower() in _DETERMINERS):
                continue
            phrase = wh.format(**{k: (v or "").lower() for k, v in groups.items()})
            phrase += (" " + groups["n"] if groups.get("n") else "") \
                + ("'s" if groups.get("s") else "")
            lo, hi = m.start("r"), m.end("n") if groups.get("n") else m.end()
            rest = sentence[hi:].lstrip()
            if lo == 0 and rest.startswith(","):  # fronted phrase: move the question to the end
                text = _lower_first(rest[1:].strip()).rstrip(" .!?") + " " + phrase
            else:
                glue = "" if not rest or rest[0] in ",.;:!?)'" else " "
                text = sentence[:lo] + phrase + glue + rest
            out.append(Question(kind, _tidy(_clause_with(text, phrase)), m.group("a"),
                                m.start("a")))
    m = _ATTRIBUTION.match(sentence)
    if m:
        name, verb = (m.group("a"), m.group("v")) if m.group("a") else (m.group("a2"),
                                                                          m.group("v2"))
        if name.split(" ")[0] not in _NOT_NAMES:
            start = m.start("a") if m.group("a") else m.start("a2")
            out.append(Question("name", _tidy(f"who {verb} {_lower_first(m.group('c'))}"),
                                name, start))
    return out


def _valid(q: Question, passage: str) -> bool:
    """The filters that make a question answerable from the audio alone."""
    a, start = q.answer, q.answer_start
    end = start + len(a)
    n_q = len(q.question.split())
    hits = re.findall(rf"(?<![\w]){re.escape(a)}(?![\w])", passage)
    inside_brackets = passage.rfind("(", 0, start) > passage.rfind(")", 0, start)
    return (passage[start:end] == a and len(hits) == 1 and not inside_brackets
            and (start == 0 or passage[start - 1] == " ")
            and (end == len(passage) or passage[end] in " .,;:!?")
            and 1 <= len(a.split()) <= MAX_ANSWER_WORDS
            and MIN_QUESTION_WORDS <= n_q <= MAX_QUESTION_WORDS
            and a.lower() not in q.question.lower())


def passage_questions(passage: str) -> list[Question]:
    """Valid questions of a passage, one per answer span, in passage order."""
    seen, out, offset = set(), [], 0
    for sent in sentences(passage):
        offset = passage.index(sent, offset)
        for q in sentence_questions(sent):
            q = q._replace(answer_start=q.answer_start + offset)
            if q.answer_start not in seen and _valid(q, passage):  # first rule wins
                seen.add(q.answer_start)
                out.append(q)
        offset += len(sent)
    return sorted(out, key=lambda q: q.answer_start)


def answer_end_cut(text: str, start: int, answer: str) -> int:
    """The word boundary right after an answer (trailing punctuation goes with it)."""
    space = text.find(" ", start + len(answer))
    return len(text) if space < 0 else space


def chunk_cuts(text: str, questions: list[dict], rng: random.Random) -> list[int]:
    """Indices of the spaces where the passage is voiced in separate chunks."""
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    must = {i for i in spaces if text[i - 1] in ".!?"}
    inside = set()
    for q in questions:
        start, end = q["answer_start"], answer_end_cut(text, q["answer_start"], q["answer"])
        must |= {c for c in (start - 1, end) if 0 < c < len(text)}
        inside |= set(range(start, end))
    # One draw per candidate space, whether or not it may be cut, so the draws (and the voice
    # drawn after them) do not depend on where the text has dashes.
    extra = {i for i in spaces if i not in inside and rng.random() < EXTRA_CUT_P
             and _words_either_side(text, i)}
    return sorted(must | extra)


def _words_either_side(text: str, space: int) -> bool:
    """Whether the tokens before and after a space both hold a letter or digit: a cut next to
    a lone dash could leave a chunk of punctuation, which espeak-ng voices as silence."""
    before = text[:space].rsplit(" ", 1)[-1]
    after = text[space + 1:].split(" ", 1)[0]
    return any(c.isalnum() for c in before) and any(c.isalnum() for c in after)


def build_text_set(seed: int = DEFAULT_SEED, *, csv_path: Path = BBC_CSV) -> list[dict]:
    """Passage records with their questions, cuts and voicing (see the module docstring).

    Same csv and seed -> the same records (every draw is seeded by seed and passage id).
    """
    with open(csv_path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    records, seen = [], set()
    for i, row in enumerate(rows):
        text = make_passage(row["text"])
        # Articles repeated under another headline give the same passage: keep the first,
        # so no passage is in two splits.
        found = [] if text is None or text in seen else passage_questions(text)
        if not found:
            continue
        seen.add(text)
        pid = f"bbc{i:04d}"
        rng = random.Random(f"{seed}:{pid}")  # str seeds are hashed with sha512: stable
        chosen = sorted(rng.sample(found, min(MAX_QUESTIONS_PER_PASSAGE, len(found))),
                        key=lambda q: q.answer_start)
        questions = [q._asdict() for q in chosen]
        voices = TEST_VOICES if row["split"] == "test" else TRAIN_VOICES
        records.append({"passage_id": pid, "split": row["split"], "topic": row["label"],
                        "text": text, "cuts": chunk_cuts(text, questions, rng),
                        "voice": rng.choice(voices), "speed": rng.choice(SPEEDS),
                        "pitch": rng.choice(PITCHES), "questions": questions})
    return records


def write_text_set(path, records: list[dict]) -> Path:
    """Writes records as JSONL (one passage a line, keys sorted); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def read_text_set(path) -> list[dict]:
    """Reads a JSONL text set written by write_text_set."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"spoken-QA text set not found: {path} (build it with `python -m "
                         "core build-spoken-qa`)")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_records() -> list[dict]:
    """Returns: the committed text set (TEXT_SET), one record per passage."""
    return read_text_set(TEXT_SET)


def examples(records: list[dict], split: str | None = None) -> list[dict]:
    """One dict per question, carrying its passage's fields; id = '<passage_id>-q<i>'."""
    out = []
    for r in records:
        if split is not None and r["split"] != split:
            continue
        base = {k: v for k, v in r.items() if k != "questions"}
        for i, q in enumerate(r["questions"]):
            out.append(dict(base, **q, id=f"{r['passage_id']}-q{i}"))
    return out
