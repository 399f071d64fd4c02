"""core.speech.vtln: the per-clip warp tiny-hubert-vtln picks, what it does to the units of the
voice it was made for, and how the registry, codebooks and unit cache treat it."""
from __future__ import annotations

import numpy as np
import pytest

from core.common.errors import InputError
from core.speech import extractors, quality, voice, vtln
from core.speech.audio import write_wav
from core.spoken_qa import items
from core.tools.bench.speech import QUALITY_WORDS

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(not voice.espeak_available(), reason=voice.INSTALL_HINT)]
PASSAGE = ("The city council met on a Tuesday in November to decide the budget for the coming "
           "year. Most members agreed that the new library should open before the summer, and "
           "the mayor promised seventy percent of the money.")


@pytest.fixture(scope="module")
def ex() -> vtln.VtlnExtractor:
    return extractors.load_extractor(vtln.NAME)


def test_the_high_female_test_voice_is_lowered_and_train_voices_are_left_alone(ex):
    factors = {v: ex.factor(voice.voice(PASSAGE, v)) for v in
               ("en-us+f3", "en-us", "en-gb", "en-gb-scotland")}
    assert factors["en-us+f3"] <= 0.85  # formants 20-35 % above the train voices'
    assert factors["en-us"] == factors["en-gb"] == factors["en-gb-scotland"] == 1.0
    wave = voice.voice(PASSAGE, "en-us+f3")
    d = ex.distances(wave)
    assert d.shape == (len(vtln.GRID),) and np.argmin(d) == vtln.GRID.index(factors["en-us+f3"])


def test_warped_features_are_the_plain_ones_at_factor_one_and_keep_the_frame_count(ex):
    wave = voice.voice("seven people in the garden", "en-us")
    plain = extractors.load_extractor("tiny-hubert")(wave)
    assert np.allclose(ex.features(wave, 1.0), plain, atol=1e-5)
    lowered = ex.features(wave, 0.8)
    assert np.array_equal(ex(wave), ex.features(wave, ex.factor(wave)))  # one call, same read
    assert lowered.shape == plain.shape and not np.allclose(lowered, plain, atol=1e-3)
    codebook = extractors.load_codebook(vtln.NAME, 128)
    assert np.array_equal(vtln.runs_at(wave, ex, codebook, 1.0).units,
                          vtln.runs_at(wave, extractors.load_extractor("tiny-hubert"),
                                       codebook).units)
    assert vtln.clip_factor(extractors.load_extractor("mfcc"), wave) is None


def test_normalising_makes_the_female_voice_say_words_in_the_other_voices_units(ex):
    """Unit consistency by voice (1.0 = chance): en-us+f3 is at chance with plain tiny-hubert
    units and clearly below it once each word's clip is warped."""
    words, voices = list(QUALITY_WORDS), list(voice.VOICES)
    plain = quality.word_consistency(extractors.load_extractor("tiny-hubert"),
                                     extractors.load_codebook("tiny-hubert", 128), words, voices)
    warped = quality.word_consistency(ex, extractors.load_codebook(vtln.NAME, 128), words, voices)
    assert plain.by_voice["en-us+f3"] > 0.93
    assert warped.by_voice["en-us+f3"] < plain.by_voice["en-us+f3"] - 0.05
    assert warped.ratio < plain.ratio


def test_it_reads_tiny_huberts_codebooks_and_refuses_to_fit_its_own(tmp_path):
    assert extractors.VTLN == vtln.NAME and extractors.EXTRACTORS[vtln.NAME].profile == "embedded"
    for k in extractors.CODEBOOK_KS:
        assert extractors.codebook_path(vtln.NAME, k) == extractors.codebook_path("tiny-hubert", k)
    wav = write_wav(tmp_path / "a.wav", voice.voice("seven people", "en-us"))
    with pytest.raises(InputError, match="reads tiny-hubert's codebooks"):
        extractors.fit_units(vtln.NAME, 16, [wav], tmp_path / "out.npy")
    assert not (tmp_path / "out.npy").exists()
    with pytest.raises(InputError, match="fit-units --extractor tiny-hubert --k 100`"):
        extractors.load_codebook(vtln.NAME, 100)


def test_its_unit_cache_is_its_own_and_keyed_on_the_codebook_that_judges_the_warp():
    digest = items.codebook_digest(vtln.NAME, 512)
    assert digest == items.codebook_digest("tiny-hubert", 512)
    plain = items.unit_cache_path("tiny-hubert", digest)
    warped = items.unit_cache_path(vtln.NAME, digest)
    assert plain != warped and warped.name.startswith(f"units-{vtln.NAME}-")
    assert vtln.reference_codebook_path() in items._extractor_files(vtln.NAME)
