"""core.speech.units and core.speech.unit_tokens on real LibriVox speech (Debian pocketsphinx-testdata).

Every extractor that runs offline goes through the same checks: `mfcc`, the shipped
`tiny-hubert` (and a random-init one), and HuBERT as a tiny random-init HubertModel (tests
never download; hubert-base's own checks are in test_hubert.py).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.common.errors import InputError
from core.speech import audio, frames, unit_tokens, units
from core.speech import extractors as registry
from core.speech import quality as unit_quality
from core.speech.hubert import HubertExtractor
from tests.helpers import librivox_files, tiny_hubert_model

SR = audio.SAMPLE_RATE
K = 16  # units in the small test codebooks (the LibriVox set has ~1,200 frames)


@pytest.fixture(scope="module")
def waves() -> list[np.ndarray]:
    return [audio.load_audio(p) for p in librivox_files()]


@pytest.fixture(scope="module")
def extractors() -> dict[str, frames.Extractor]:
    """Every extractor that runs offline, by name."""
    from core.speech.tiny_hubert import TinyHubert, TinyHubertConfig, TinyHubertExtractor

    torch.manual_seed(0)
    ours = TinyHubert(TinyHubertConfig(hidden=32, layers=2, heads=2, ffn=64, pos_groups=4))
    return {"mfcc": registry.load_extractor("mfcc"),
            "hubert-random": HubertExtractor(tiny_hubert_model(), layer=1),
            "tiny-hubert-random": TinyHubertExtractor(ours, layer=1),
            "tiny-hubert": registry.load_extractor("tiny-hubert")}  # the shipped model


@pytest.fixture(scope="module")
def mfcc_codebook(waves, extractors) -> np.ndarray:
    feats = np.concatenate([extractors["mfcc"](w) for w in waves])
    return units.fit_codebook(feats, K, seed=0)


def _check_runs(runs: units.Runs, ids: np.ndarray) -> None:
    """The invariants a timeline drawn from runs relies on."""
    u, counts, start, end = runs  # unpacks as a tuple
    assert counts.sum() == len(ids) and (counts >= 1).all()
    assert (u[1:] != u[:-1]).all()  # no two neighbouring runs share a unit
    assert np.array_equal(np.repeat(u, counts), ids)  # runs expand back to the frames
    assert start[0] == 0.0 and end[-1] == pytest.approx(len(ids) * frames.HOP_S)
    assert (np.diff(start) > 0).all() and (end > start).all()
    assert np.allclose(end[:-1], start[1:])  # contiguous, monotonic timeline


@pytest.mark.parametrize("name", ["mfcc", "hubert-random", "tiny-hubert-random", "tiny-hubert"])
def test_extractors_on_librivox(waves, extractors, name):
    ex = extractors[name]
    feats_all = []
    for wave in waves:
        feats = ex(wave)
        seconds = len(wave) / SR
        assert feats.shape == (frames.num_frames(len(wave)), ex.dims)
        assert abs(len(feats) - seconds / frames.HOP_S) <= 2  # one frame per 20 ms
        assert np.isfinite(feats).all()
        feats_all.append(feats)
    codebook = units.fit_codebook(np.concatenate(feats_all), K, seed=0)
    for wave, feats in zip(waves, feats_all):
        ids = units.units(feats, codebook)
        assert ids.min() >= 0 and ids.max() < K
        _check_runs(units.dedup(ids), ids)
        assert len(np.unique(ids)) > 3  # speech visits several units, not one
    assert ex(waves[0]).shape[1] == ex.dims


def test_mfcc_is_39_dims_normalised(waves, extractors):
    feats = extractors["mfcc"](waves[0])
    assert feats.shape[1] == 39 == registry.EXTRACTORS["mfcc"].dims
    assert np.allclose(feats.mean(axis=0), 0, atol=1e-4)  # per-clip CMVN
    assert np.allclose(feats.std(axis=0), 1, atol=1e-2)


def test_dedup_hand_example():
    u, counts, start, end = units.dedup(np.array([7, 7, 7, 3, 3, 9]))
    assert u.tolist() == [7, 3, 9] and counts.tolist() == [3, 2, 1]
    assert np.allclose(start, [0.0, 0.06, 0.10]) and np.allclose(end, [0.06, 0.10, 0.12])
    empty = units.dedup(np.array([], dtype=int))
    assert len(empty.units) == 0 and empty.counts.sum() == 0


@pytest.mark.parametrize("rate", [8_000, 44_100, 48_000, "stereo-48k"])
def test_rates_give_the_same_frames_and_units(tmp_path, waves, extractors, mfcc_codebook,
                                              rate):
    import soundfile as sf

    wave = waves[0]
    r = 48_000 if rate == "stereo-48k" else rate
    data = audio.resample(wave, SR, r)
    if rate == "stereo-48k":
        data = np.stack([data, data], axis=1)
    path = tmp_path / "clip.flac"
    sf.write(str(path), data, r, subtype="PCM_16")
    back = audio.load_audio(path)
    ex = extractors["mfcc"]
    a, b = ex(wave), ex(back)
    assert a.shape == b.shape
    same = (units.units(a, mfcc_codebook) == units.units(b, mfcc_codebook)).mean()
    if r == 8_000:  # the band above 4 kHz is gone: features move, most units stay
        assert np.mean([np.corrcoef(a[:, i], b[:, i])[0, 1] for i in range(39)]) > 0.7
        assert same > 0.4
    else:
        assert np.linalg.norm(a - b) / np.linalg.norm(a) < 0.03
        assert same > 0.95
    for ex in extractors.values():  # every extractor frames every rate alike
        assert len(ex(back)) == len(ex(wave))


def test_registry_lists_choices():
    assert registry.available_extractors()[0] == "mfcc"  # embedded first
    assert {"mfcc", "hubert-base"} <= set(registry.available_extractors())
    with pytest.raises(InputError,
                       match="choose one of mfcc, tiny-hubert, tiny-hubert-vtln, hubert-base"):
        registry.load_extractor("wav2vec9")
    assert registry.load_extractor("mfcc") is registry.load_extractor("mfcc")  # cached


def test_codebook_seeded_saved_and_checked(tmp_path, waves, extractors):
    feats = np.concatenate([extractors["mfcc"](w) for w in waves[:2]])
    a, b = units.fit_codebook(feats, K, 0), units.fit_codebook(feats, K, 0)
    assert a.shape == (K, 39) and np.array_equal(a, b)
    assert not np.allclose(a, units.fit_codebook(feats, K, 1))
    path = units.save_codebook(tmp_path / "cb.npy", a)
    assert np.array_equal(units.read_codebook(path), a)
    np.save(tmp_path / "bad.npy", np.zeros(5))
    with pytest.raises(InputError, match="bad.npy is not a codebook"):
        units.read_codebook(tmp_path / "bad.npy")
    with pytest.raises(InputError, match="fit-units"):
        units.read_codebook(tmp_path / "missing.npy")
    with pytest.raises(InputError, match="32 dims but the codebook expects 39"):
        units.units(np.zeros((10, 32)), a)
    with pytest.raises(InputError, match="needs at least 64 frames"):
        units.fit_codebook(feats[:20], 64)


def test_fit_units_writes_a_codebook(tmp_path):
    files = librivox_files()
    info = registry.fit_units("mfcc", K, files, tmp_path / "mfcc-k16.npy", seed=0)
    cb = units.read_codebook(info.path)
    assert cb.shape == (K, 39) and info.files == len(files)
    total = sum(frames.num_frames(len(audio.load_audio(f))) for f in files)
    assert info.frames == total and info.seconds == pytest.approx(24.73, abs=0.05)
    small = registry.fit_units("mfcc", K, files, tmp_path / "s.npy", max_frames=500)
    assert small.frames == 500
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    with pytest.raises(InputError, match="junk.wav"):
        registry.fit_units("mfcc", K, [files[0], junk], tmp_path / "x.npy")


def test_edit_distance_and_consistency_by_hand():
    assert unit_quality.edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert unit_quality.edit_distance(list(b"kitten"), list(b"sitting")) == 3
    assert unit_quality.edit_distance([], [4, 5]) == 2
    assert unit_quality.normalised_edit_distance([1, 2, 3, 4], [1, 9, 3, 4]) == 0.25
    c = unit_quality.unit_consistency({"a": [[1, 2, 3], [1, 2, 3]], "b": [[7, 8, 9], [7, 8, 9]]})
    assert c.within == 0.0 and c.between == 1.0 and c.ratio == 0.0 and c.takes == 4
    with pytest.raises(InputError, match="2 takes"):
        unit_quality.unit_consistency({"a": [[1]], "b": [[2], [2]]})
    # the third voice says both words in units of its own: its ratio is the between distance's
    takes = {"a": [[1, 2], [1, 2], [5, 6]], "b": [[3, 4], [3, 4], [7, 8]]}
    c = unit_quality.unit_consistency(takes, ["v1", "v2", "odd"])
    assert c.by_voice["v1"] == c.by_voice["v2"] == pytest.approx(0.5 / c.between)
    assert c.by_voice["odd"] == pytest.approx(1.0 / c.between) and c.by_voice["odd"] > c.ratio


def test_mfcc_units_know_words_across_voices(waves, extractors):
    """The same word in different voices maps to closer unit strings than different words."""
    from core.speech import voice

    if not voice.espeak_available():
        pytest.skip(voice.INSTALL_HINT)
    feats = np.concatenate([extractors["mfcc"](w) for w in waves])
    codebook = units.fit_codebook(feats, 64, seed=0)
    words = ["morning", "river", "seven", "window", "yellow", "station"]
    voices = ["en-us", "en-gb", "en-gb-scotland", "en-us+f3"]
    c = unit_quality.word_consistency(extractors["mfcc"], codebook, words, voices)
    assert c.words == 6 and c.takes == 24
    assert c.within < c.between and c.ratio < 0.85  # measured 0.78 (k=64)

    class NoiseFeatures:  # control: frames that carry nothing about the sound
        name, dims = "noise", 39

        def __call__(self, wave):
            rng = np.random.default_rng(len(wave))
            return rng.standard_normal((frames.num_frames(len(wave)), 39)).astype(np.float32)

    control = unit_quality.word_consistency(NoiseFeatures(), codebook, words, voices)
    assert control.ratio > 0.95  # measured 1.02: the metric sees no word identity in noise


# ------------------------------------------------------------------------- unit tokens
@pytest.fixture(scope="module")
def tok(tiny_model):
    return tiny_model.tokenizer  # MiniLM's real packaged BERT-uncased tokenizer


@pytest.mark.parametrize("k", [64, 128, 512])
def test_offset_map_is_dual_fixed_offset(tok, k):
    m = unit_tokens.OffsetMap(tok, k)
    ids = m.token_ids(np.arange(k))
    assert np.array_equal(ids, np.arange(k) + unit_tokens.DEFAULT_OFFSET)
    assert len(set(ids.tolist())) == k  # bijective on units
    rows = m.table()
    assert len(rows) == k and rows[0][:3] == (0, 1996, "the")
    kinds = [r[3] for r in rows]
    assert "special" not in kinds and not set(ids.tolist()) & set(tok.all_special_ids)
    assert kinds.count("word") / k > (0.95 if k == 64 else 0.85)  # mostly whole words
    assert m.tokens([0, 1, 0]) == ["the", "of", "the"]


def test_offset_map_refuses_specials_and_overflow(tok):
    with pytest.raises(InputError, match="special tokens"):
        unit_tokens.OffsetMap(tok, 64, offset=90)
    with pytest.raises(InputError, match="runs past the vocabulary"):
        unit_tokens.OffsetMap(tok, 512, offset=30_300)
    with pytest.raises(InputError, match="outside this map's 0..63"):
        unit_tokens.OffsetMap(tok, 64).token_ids([3, 64])


@pytest.mark.parametrize("k", [64, 512])
def test_random_map_whole_words_bijective_seeded(tok, k):
    m = unit_tokens.RandomWordMap(tok, k, seed=3)
    ids = m.token_ids(np.arange(k))
    assert len(set(ids.tolist())) == k
    special = set(tok.all_special_tokens)
    for unit, tid, token, kind in m.table():
        assert kind == "word" and token not in special and not token.startswith("##")
        assert token.isalpha() and len(token) >= 3 and tok.convert_tokens_to_ids(token) == tid
    again = unit_tokens.RandomWordMap(tok, k, seed=3)
    assert np.array_equal(again.ids, m.ids)  # deterministic by seed
    other = unit_tokens.RandomWordMap(tok, k, seed=4)
    assert (other.ids != m.ids).mean() > 0.9
    assert unit_tokens.make_unit_map("random", tok, k, seed=3).ids.tolist() == m.ids.tolist()
    with pytest.raises(InputError, match="choose one of offset, random"):
        unit_tokens.make_unit_map("nearest", tok, k)
