"""The committed spoken-QA reference run and the shipped QA model it saved."""
from __future__ import annotations

import json

import pytest

from core.speech import extractors
from core.spoken_qa import lab, ship, view
from core.spoken_qa.config import settings_of


@pytest.fixture(scope="module")
def ref():
    ref = lab.load_reference()
    assert ref is not None, "assets/spoken_qa/reference.json is missing"
    return ref


def test_reference_covers_both_starts_on_every_test_question(ref):
    assert set(ref["runs"]) == {"pretrained", "random"}
    assert ref["config"]["test_questions"] is None and ref["config"]["train_questions"] is None
    for init, r in ref["runs"].items():
        assert r["n"] == 177 and 0 <= r["ff1"] <= 1 and 0 <= r["aos"] <= r["ff1"] + 1e-9
        assert r["curve"][-1]["step"] == ref["config"]["steps"], init
        assert "dev_ff1" in r["curve"][-1]


@pytest.mark.parametrize("init,folder", [("pretrained", ship.SHIP_DIR),
                                         ("random", ship.RANDOM_SHIP_DIR)])
def test_shipped_model_is_small_and_scores_what_the_trained_one_did(ref, init, folder):
    """Both starts are shipped (the tab answers with both): each file is small, scores
    what its trained model scored, and that is the reference run's score for its start
    (the same settings and seed; the random net is redrawn from that seed)."""
    meta = json.loads((folder / ship.META).read_text())
    size = (folder / ship.WEIGHTS).stat().st_size
    assert size == meta["bytes"] <= ship.MAX_FILE_BYTES
    assert meta.get("init", "pretrained") == init
    trained, shipped = meta["trained_test"], meta["shipped_test"]
    assert trained["n"] == shipped["n"] == 177
    assert trained["ff1"] == pytest.approx(ref["runs"][init]["ff1"], abs=0.02)
    # Rank-64 deltas: within 0.02 (about 3 of the 177 questions) of the trained model's scores.
    assert abs(shipped["ff1"] - trained["ff1"]) <= 0.02
    assert abs(shipped["aos"] - trained["aos"]) <= 0.02
    cfg = ref["config"]  # the reference run is the one the shipped model came from
    assert meta["extractor"] == cfg["extractor"]
    assert extractors.EXTRACTORS[cfg["extractor"]].profile == "embedded"  # the lab's own units
    assert meta["k"] == cfg["k"] and meta["unit_map"] == cfg["unit_map"] == "offset"
    default = settings_of(lab.SpokenQARunConfig())  # settings added since: their default

    def settings(c):
        return {k: v for k, v in {**default, **c}.items() if k != "inits"}
    assert settings(meta["train_config"]) == settings(cfg)


def test_the_command_each_committed_run_states_makes_its_settings_again(monkeypatch):
    """The tab and the README give a run's command: parsed by the CLI, it must ask for the
    very settings the record holds (every non-default one named)."""
    from core.tools import cli
    from core.tools.sweeps import spoken_qa as sweeps

    class Asked(Exception):
        pass

    def stop(cfg, **_):
        raise Asked(cfg)

    monkeypatch.setattr(sweeps, "sweep", stop)
    for run in lab.load_runs():
        command = view.run_command(run["config"])
        assert command.startswith("python -m core train-spoken-qa ")
        with pytest.raises(Asked) as asked:
            cli.main(command.split()[3:])
        settings, default = settings_of(asked.value.args[0]), settings_of(lab.SpokenQARunConfig())
        # Older records predate some settings: those ran at the default.
        assert settings == {**default, **run["config"]}, command


def test_tab_intro_states_the_committed_scores_and_units(ref):
    from demos.spoken_qa import intro

    meta, twin = ship.shipped_meta(), ship.shipped_meta(ship.RANDOM_SHIP_DIR)
    text = intro(ref, meta, twin)
    assert f"random-init run of the same settings, shipped the same way (test FF1 " \
           f"{twin['shipped_test']['ff1']:.3f})" in text
    for init in ("pretrained", "random"):
        r = ref["runs"][init]
        assert f"{r['ff1']:.3f} / " in text and f"{r['aos']:.3f}" in text
    assert f"{meta['extractor']} units (k={meta['k']})" in text
    assert ("vocal-tract-length normalisation" in text) == (meta["extractor"] == extractors.VTLN)
    assert f"test FF1 {meta['shipped_test']['ff1']:.3f}" in text
    assert "Finding" in intro(None, None) and "reference run" not in intro(None, None)


def test_every_committed_run_scores_both_starts_on_the_whole_test_split():
    runs = lab.load_runs()
    assert runs[0] == lab.load_reference()
    for run in runs:
        cfg = run["config"]
        assert extractors.codebook_path(cfg["extractor"], cfg["k"]).is_file()  # its units ship
        assert set(run["runs"]) == {"pretrained", "random"}, cfg
        for init, r in run["runs"].items():
            assert r["n"] == 177 and r["curve"][-1]["step"] == cfg["steps"], (cfg, init)
    rows = view.comparison_rows(runs)
    assert len({tuple(r[:8]) for r in rows}) == len(rows)  # no run committed twice


def test_live_reference_is_the_live_default_over_five_paired_seeds():
    """The bands under a live run and the tab's "what a run shows" come from this file: it
    must be of the live default's settings, complete, and its summary must match its seeds."""
    from core.spoken_qa import config, live

    rec = live.load_live()
    assert live.same_setting(rec, config.LIVE_RUN) and rec["config"]["seeds"] == [0, 1, 2, 3, 4]
    steps = list(range(config.LIVE_RUN.eval_every, config.LIVE_RUN.steps + 1,
                       config.LIVE_RUN.eval_every))
    for cell in rec["seeds"].values():
        for init in ("pretrained", "random"):
            run = cell["runs"][init]
            assert [p["step"] for p in run["curve"] if "dev_loss" in p] == steps
            assert run["n"] == config.LIVE_RUN.test_questions
    assert rec["paired"] == json.loads(json.dumps(live.paired_summary(rec["seeds"])))
    assert "5 paired seeds, 80 steps" in live.live_finding(rec)
