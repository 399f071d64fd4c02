"""core.spoken_qa.items: the voiced set in the cache, codebooks fitted on its train passages
only, and the questions read as units once per process."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from core.common.errors import InputError
from core.common.paths import cache_dir
from core.speech import extractors, voice
from core.speech.frames import HOP_S
from core.spoken_qa import items

needs_espeak = pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)


@pytest.mark.parametrize("extractor,dims", [("mfcc", 39), ("tiny-hubert", 256)])
def test_committed_codebooks_cover_every_k(extractor, dims):
    for k in extractors.CODEBOOK_KS:
        cb = extractors.load_codebook(extractor, k)
        assert cb.shape == (k, dims) and np.isfinite(cb).all()
        assert len(np.unique(cb.round(4), axis=0)) == k  # no two centroids alike
        assert extractors.codebook_path(extractor, k).stat().st_size < 10 * 2**20
    with pytest.raises(InputError, match="fit-units --extractor mfcc --k 7"):
        extractors.load_codebook("mfcc", 7)
    with pytest.raises(InputError, match="choose one of .*mfcc"):
        extractors.load_codebook("wav2vec", 128)


def test_each_voiced_set_has_its_own_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_LAB_CACHE", str(tmp_path))
    assert items.voiced_dir() == cache_dir() / "spoken_qa" / "voiced-all-t1"
    assert items.voiced_dir(60, 3).name == "voiced-60-t3"
    assert items.voiced_dir(60) != items.voiced_dir(None) != items.voiced_dir(None, 2)


def test_units_are_fitted_on_train_passages_only():
    entries = [{"split": "train", "passage_path": "b.flac"},
               {"split": "train", "passage_path": "a.flac"},
               {"split": "train", "passage_path": "b.flac"},  # a second question, same audio
               {"split": "dev", "passage_path": "d.flac"},
               {"split": "test", "passage_path": "t.flac"}]
    assert items.train_passage_paths(entries) == ["a.flac", "b.flac"]
    with pytest.raises(InputError, match="no voiced train passages"):
        items.fit_codebooks("mfcc", [8], entries[3:])


@needs_espeak
@pytest.mark.usefixtures("cache")
def test_unit_items_read_every_split_once_per_process():
    got = items.unit_items("mfcc", 64, limit_per_split=1)
    assert set(got) == {"train", "dev", "test"} and all(got.values())
    for split, qs in got.items():
        for q in qs:
            # the last frame may stop short of the audio's end by less than a hop
            assert 0 <= q.start_s < q.end_s <= q.passage.end_s[-1] + HOP_S, split
            assert q.question_units.max() < 64 and q.passage.units.max() < 64
    assert items.unit_items("mfcc", 64, limit_per_split=1) is got  # cached
    assert items.unit_items("mfcc", 128, limit_per_split=1) is not got


@needs_espeak
@pytest.mark.usefixtures("cache")
def test_units_are_read_once_per_audio_file_and_kept_on_disk(monkeypatch):
    items._items.cache_clear()
    first = items.unit_items("mfcc", 64, limit_per_split=1)
    kept = items.unit_cache_path("mfcc", items.codebook_digest("mfcc", 64), 1)
    real, calls = extractors.load_extractor, []

    def counting(name):
        extract = real(name)
        return lambda wave: calls.append(1) or extract(wave)

    monkeypatch.setattr(extractors, "load_extractor", counting)
    items._items.cache_clear()  # a new process: everything from the file, nothing extracted
    again = items.unit_items("mfcc", 64, limit_per_split=1)
    assert calls == []
    for split in first:
        for a, b in zip(first[split], again[split], strict=True):
            assert np.array_equal(a.question_units, b.question_units)
            assert all(np.array_equal(x, y) for x, y in zip(a.passage, b.passage))
            assert (a.start_s, a.end_s) == (b.start_s, b.end_s)
    # a file voiced again (new modification time) is read again, and only that file
    entry = items.voiced_entries(limit_per_split=1)[0]
    st = Path(entry["question_path"]).stat()
    os.utime(entry["question_path"], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    items._items.cache_clear()
    items.unit_items("mfcc", 64, limit_per_split=1)
    assert calls == [1]
    assert kept.is_file() and not list(kept.parent.glob("*.tmp.npz"))
    kept.write_bytes(b"half a file")  # unreadable: read again, and written whole
    items._items.cache_clear()
    items.unit_items("mfcc", 64, limit_per_split=1)
    assert len(calls) > 1 and items.UnitCache(kept, kept.parent).runs


def test_units_of_retrained_weights_are_kept_apart(monkeypatch, tmp_path):
    """An extractor registered with the files that decide its units (its weights) caches
    them apart once those files change; the shipped ones name theirs."""
    from core.speech import extractors

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"one")
    monkeypatch.setitem(extractors.EXTRACTORS, "mine", extractors.ExtractorSpec(
        "mine", 4, "embedded", "a test extractor", files=lambda: (weights,)))
    before = items.unit_cache_path("mine", "c0ffee", 1)
    weights.write_bytes(b"two")
    assert items.unit_cache_path("mine", "c0ffee", 1) != before
    assert items.unit_cache_path("mine", "c0ffee", 1).parent == items.voiced_dir(1)
    assert all(p.is_file() for name in ("tiny-hubert", "tiny-hubert-vtln")
               for p in items._extractor_files(name))
    assert len(items._extractor_files("tiny-hubert-vtln")) == 3  # + the warp's codebook


def test_fit_units_fits_on_the_voiced_set_it_is_told(monkeypatch, capsys):
    """`fit-units --train-takes 3 --take-voices more` reads the codebook's frames from that
    voiced set (the one a 3-take run trains on), not the one-take set."""
    from core.tools.cli import main

    seen = {}

    def entries(**kw):
        seen.update(kw)
        return [{"split": "train", "passage_path": "p.wav"}]

    def fit(extractor, ks, got, *, seed):
        seen.update(extractor=extractor, ks=ks, seed=seed, entries=got)
        return []

    monkeypatch.setattr(items, "voiced_entries", entries)
    monkeypatch.setattr(items, "fit_codebooks", fit)
    assert main(["fit-units", "--extractor", "tiny-hubert", "--k", "512", "--train-takes", "3",
                 "--take-voices", "more"]) == 0
    assert seen["train_takes"] == 3 and seen["take_voices"] == "more"
    assert seen["extractor"] == "tiny-hubert" and seen["ks"] == [512] and seen["seed"] == 0
    assert main(["fit-units", "--k", "64"]) == 0  # the defaults: the one-take set, train voices
    assert seen["train_takes"] == 1 and seen["take_voices"] == "train"
