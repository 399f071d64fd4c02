"""core.spoken_qa.data: generated questions from BBC News, splits, and exact answer spans."""
from __future__ import annotations

import re

import numpy as np
import pytest

from core.common.errors import InputError
from core.speech import audio, voice
from core.spoken_qa import data, voicing

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)


@pytest.fixture(scope="module")
def records():
    return data.build_text_set(data.DEFAULT_SEED)


def test_every_answer_sits_once_in_its_passage_and_not_in_its_question(records):
    qs = data.examples(records)
    assert len(records) > 1000 and len(qs) > 1500  # from 2,113 articles
    assert {q["kind"] for q in qs} == {"date", "number", "amount", "name"}
    for q in qs:
        text, a, start = q["text"], q["answer"], q["answer_start"]
        assert text[start: start + len(a)] == a, q["id"]
        assert len(re.findall(rf"(?<!\w){re.escape(a)}(?!\w)", text)) == 1, q["id"]
        assert a.lower() not in q["question"].lower(), q["id"]
        assert q["question"].endswith("?") and not q["question"][0].islower()
        assert data.MIN_QUESTION_WORDS <= len(q["question"].split()) <= \
            data.MAX_QUESTION_WORDS
        assert len(text.split()) <= data.MAX_PASSAGE_WORDS
        # the answer's edges are chunk cuts, so its time span can be measured
        assert start == 0 or start - 1 in q["cuts"]


def test_a_chunk_of_bare_punctuation_only_sits_between_two_answers(records):
    # optional cuts never isolate a lone dash (espeak-ng voices it as silence); answer edges
    # may ("on Friday - 67% of people"), and voicing gives such a chunk no sound
    for r in records:
        edges = {q["answer_start"] - 1 for q in r["questions"]} | {
            data.answer_end_cut(r["text"], q["answer_start"], q["answer"])
            for q in r["questions"]}
        bounds = [0] + r["cuts"] + [len(r["text"])]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if not any(c.isalnum() for c in r["text"][lo:hi]):
                assert lo in edges and hi in edges, (r["passage_id"], lo, hi)


@needs_espeak
def test_a_dash_between_two_answers_voices_as_a_pause(records):
    r = next(r for r in records if "Friday - 67%" in r["text"])
    wave, spans = voicing.voice_chunks(r["text"], r["cuts"], "en-us", 160, 50)
    dash = next(s for s in spans if r["text"][s[0]:s[1]].strip() == "-")
    assert dash[2] == dash[3]  # no sound of its own
    assert all(a[3] <= b[2] for a, b in zip(spans, spans[1:]))  # times keep their order
    assert abs(spans[-1][3] - len(wave) / audio.SAMPLE_RATE) < 1e-6


def test_same_seed_same_set_other_seed_other_draws(records):
    assert data.build_text_set(data.DEFAULT_SEED) == records
    other = data.build_text_set(data.DEFAULT_SEED + 1)
    assert [r["text"] for r in other] == [r["text"] for r in records]  # same passages
    assert [r["cuts"] for r in other] != [r["cuts"] for r in records]  # other draws
    assert [r["voice"] for r in other] != [r["voice"] for r in records]


def test_splits_are_disjoint_by_passage_and_test_voices_are_held_out(records):
    by_split = {s: [r for r in records if r["split"] == s] for s in data.SPLITS}
    assert all(len(v) > 50 for v in by_split.values())
    ids = [r["passage_id"] for r in records]
    assert len(ids) == len(set(ids))
    texts = {s: {r["text"] for r in rs} for s, rs in by_split.items()}
    assert not texts["train"] & texts["dev"] and not texts["train"] & texts["test"]
    assert not texts["dev"] & texts["test"]
    test_voices = {r["voice"] for r in by_split["test"]}
    seen_voices = {r["voice"] for r in by_split["train"] + by_split["dev"]}
    assert test_voices == set(data.TEST_VOICES)
    assert not seen_voices & set(data.TEST_VOICES) and len(seen_voices) >= 4


@pytest.mark.parametrize("sentence,question,answer", [
    ("Judy Boynton finally left the firm on 31 December, having spent the time abroad.",
     "Judy Boynton finally left the firm on what date?", "31 December"),
    ("In January 2004, Shell told shocked investors that its reserves were 20% smaller.",
     "Shell told shocked investors that its reserves were 20% smaller in what month?",
     "January 2004"),
    ("In January 2004, Shell told shocked investors that its reserves were 20% smaller.",
     "In January 2004, Shell told shocked investors that its reserves were what percentage "
     "smaller?", "20%"),
    ("The firm cut 2,500 jobs in Europe last year.", "The firm cut how many jobs in Europe "
     "last year?", "2,500"),
    ("Below the forecast of Chancellor Gordon Brown's team.",
     "Below the forecast of which chancellor's team?", "Gordon Brown"),
    ("The economy grew by 3% last year, Mr Brown said.", "Who said the economy grew by 3% "
     "last year?", "Mr Brown"),
])
def test_question_rules_on_known_sentences(sentence, question, answer):
    found = {(q.question, q.answer) for q in data.sentence_questions(sentence)}
    assert (question, answer) in found


def test_bad_questions_are_not_made():
    # "London which mayor" and "the how much settlement" would not read as questions
    assert not [q for q in data.sentence_questions("London mayor Ken Livingstone has again "
                                                   "refused to retract it.") if
                q.kind == "name"]
    made = data.sentence_questions(data.spoken_text("The £3.2bn settlement was agreed."))
    assert not [q for q in made if q.kind == "amount"]
    # an answer found twice in the passage is ambiguous in speech: dropped
    answers = [q.answer for q in
               data.passage_questions("Sales rose 5% in May. Costs rose 5% in June too.")]
    assert answers == ["May", "June"]


def test_spoken_text_writes_money_out():
    assert data.spoken_text('pay $1m ("£522,000") & 1.16bn euros') == \
        "pay 1 million dollars (522,000 pounds) and 1.16 billion euros"


def test_text_set_round_trips_through_jsonl(records, tmp_path):
    path = data.write_text_set(tmp_path / "qa.jsonl", records[:20])
    assert data.read_text_set(path) == records[:20]
    with pytest.raises(InputError, match="text set not found"):
        data.read_text_set(tmp_path / "missing.jsonl")


def test_committed_text_set_is_what_build_spoken_qa_makes(records):
    assert data.load_records() == records


@needs_espeak
def test_answer_span_is_the_answer_chunk_to_the_sample(records):
    rec = next(r for r in records if len(r["questions"]) >= 2)
    for ex in data.examples([rec]):
        passage, question, start_s, end_s = voicing.voice_example(ex)
        duration = audio.duration_s(passage)
        assert 0.0 <= start_s < end_s <= duration
        assert audio.duration_s(question) > 1.0
        # the samples inside the span are the answer's chunk voiced on its own
        lo = ex["answer_start"]
        hi = ex["text"].find(" ", lo + len(ex["answer"]))
        chunk = ex["text"][lo: hi if hi > 0 else len(ex["text"])]
        alone = voicing.trim(voice.voice(chunk, ex["voice"], speed=ex["speed"],
                                      pitch=ex["pitch"]))
        assert np.array_equal(audio.cut(passage, start_s, end_s), alone)
        # and about as long as the bare answer voiced alone
        bare = voicing.trim(voice.voice(ex["answer"], ex["voice"], speed=ex["speed"],
                                     pitch=ex["pitch"]))
        assert abs((end_s - start_s) - audio.duration_s(bare)) < 0.15
    # voiced in chunks, the passage is about as long as voiced in one go
    whole = voicing.trim(voice.voice(rec["text"], rec["voice"], speed=rec["speed"],
                                  pitch=rec["pitch"]))
    assert 0.9 < duration / audio.duration_s(whole) < 1.35


@needs_espeak
def test_voice_and_speed_can_be_overridden(records):
    ex = data.examples(records[:1])[0]
    slow = voicing.voice_example(ex, "en-gb", 120)
    fast = voicing.voice_example(ex, "en-gb", 200)
    assert 0.5 < len(fast.passage) / len(slow.passage) < 0.8  # 120 / 200 = 0.6
    assert fast.end_s - fast.start_s < slow.end_s - slow.start_s


@needs_espeak
def test_voiced_set_is_cached_and_reloaded(records, tmp_path):
    calls = []
    entries = voicing.build_voiced_set(records, tmp_path, splits=("test",), limit_per_split=1,
                                    progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 1)]
    assert entries and {e["split"] for e in entries} == {"test"}
    assert {e["voice"] for e in entries} <= set(data.TEST_VOICES)
    stamp = [(tmp_path / "manifest.json").stat().st_mtime_ns]
    again = voicing.build_voiced_set(records, tmp_path, splits=("test",), limit_per_split=1,
                                  progress=lambda done, total: calls.append((done, total)))
    assert again == entries and len(calls) == 1  # nothing re-voiced
    assert stamp == [(tmp_path / "manifest.json").stat().st_mtime_ns]
    passage, question, start_s, end_s = voicing.load_voiced(entries[0])
    assert 0 <= start_s < end_s <= audio.duration_s(passage) + 1e-6
    assert abs(audio.duration_s(passage) - entries[0]["duration_s"]) < 1e-3


@needs_espeak
def test_train_passages_can_be_voiced_in_several_takes(records, tmp_path):
    entries = voicing.build_voiced_set(records, tmp_path, splits=("train",), limit_per_split=1,
                                    train_takes=2)
    n_questions = len(records[0]["questions"])
    assert len(entries) == 2 * n_questions and len({e["id"] for e in entries}) == len(entries)
    takes = {(e["voice"], e["speed"], e["pitch"]) for e in entries}
    assert takes == set(voicing.voicings(records[0], 2))
    assert {e["voice"] for e in entries} <= set(data.TRAIN_VOICES)
    assert len({e["passage_path"] for e in entries}) == 2


def test_more_take_voices_add_variants_but_never_a_test_voice(records):
    more = data.TAKE_POOLS["more"]
    assert set(data.TAKE_POOLS["train"]) < set(more) and len(set(more)) == len(more)
    test_parts = {part for v in data.TEST_VOICES for part in v.split("+")} - {"en-us"}
    assert not {part for v in more for part in v.split("+")} & test_parts  # no Scottish, no f3
    assert sum("+f" in v for v in more) >= len(more) // 3  # female voices, as one test voice is
    train = [r for r in records if r["split"] == "train"][:40]
    drawn = {name for r in train for name, _, _ in voicing.voicings(r, 3, "more")[1:]}
    assert drawn <= set(more) and drawn - set(data.TRAIN_VOICES)
    assert [voicing.voicings(r, 3, "more")[0] for r in train] == \
        [voicing.voicings(r, 3)[0] for r in train]  # a passage's own voicing stays
    test = next(r for r in records if r["split"] == "test")
    assert voicing.voicings(test, 1, "more") == voicing.voicings(test, 1)


@needs_espeak
def test_passages_voiced_side_by_side_keep_the_records_order(records, tmp_path):
    calls = []
    entries = voicing.build_voiced_set(records, tmp_path, splits=("dev",), limit_per_split=3,
                                    progress=lambda done, total: calls.append((done, total)))
    chosen = [r for r in records if r["split"] == "dev"][:3]
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert [e["id"] for e in entries] == [f"{ex['id']}-t0" for ex in data.examples(chosen)]
    assert all(e["passage_path"].endswith(f"{e['passage_id']}-t0.flac") for e in entries)


def test_voicing_without_espeak_says_how_to_get_it(records, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no espeak-ng anywhere
    with pytest.raises(InputError, match="apt-get install espeak-ng"):
        voicing.build_voiced_set(records, tmp_path / "cache", limit_per_split=1)
