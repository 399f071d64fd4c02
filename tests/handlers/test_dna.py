"""The DNA tab's handlers with the real packaged English model (a short run)."""
from __future__ import annotations

import json

import gradio as gr
import plotly.graph_objects as go
import pytest

from core.dna.config import eval_every, live_config
from demos import dna as tab

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def trained():
    outputs = list(tab.train("splice", 0, 3, ["pretrained", "random"], 10, 1, 0, 64))
    assert len(outputs) >= 3  # live updates before the final one
    return outputs[-1]


def test_a_run_in_progress_keeps_the_model_trained_before():
    """Every live update skips the model state (Stop or a new Train keeps the old model); only
    the last update carries the new one."""
    outputs = list(tab.train("splice", 0, 3, ["random"], 10, 1, 0, 64))
    assert all(isinstance(o[2], type(gr.skip())) and o[2] == gr.skip() for o in outputs[:-1])
    assert tab.MODELS.get(outputs[-1][2]).model is not None  # the session holds a key


def test_trained_models_are_bounded_across_sessions_and_released_on_close():
    """Each session keeps only a key; the server keeps the newest MAX_MODELS models. A session
    whose model was released is told so; closing a page frees its models."""
    from types import SimpleNamespace

    keys = []
    for i in range(tab.MAX_MODELS + 1):
        request = SimpleNamespace(session_hash=f"session-{i}")
        keys.append(list(tab.train("splice", 0, 3, ["random"], 2, 1, 0, 64,
                                   request=request))[-1][2])
    assert len(tab.MODELS) == tab.MAX_MODELS and tab.MODELS.get(keys[0]) is None
    with pytest.raises(gr.Error, match=f"released to free memory.*{tab.MAX_MODELS} most"):
        tab.predict("ACGT" * 15, keys[0])
    assert set(tab.predict("ACGT" * 15, keys[-1])[0]) == {"EI", "IE", "N"}
    tab.release(SimpleNamespace(session_hash=f"session-{tab.MAX_MODELS}"))
    assert tab.MODELS.get(keys[-1]) is None and len(tab.MODELS) == tab.MAX_MODELS - 1


def test_stop_ends_the_run_cleanly_keeping_its_curves_and_the_model_before():
    """Stop (the button's handler) is seen at the next update: the run ends without an error,
    its title says where, its curves stay, and the session's model is left as it was."""
    from types import SimpleNamespace

    from demos.common import stop

    request = SimpleNamespace(session_hash="stop-test")
    run = tab.train("splice", 0, 3, ["pretrained", "random"], 60, 1, 0, 64, request=request)
    live = [next(run), next(run)]
    stop(request)
    rest = list(run)
    assert len(rest) == 1  # one last update, then the generator is done
    fig, metrics, state = rest[0]
    assert state == gr.skip() and metrics["stopped_at"] < 120
    assert f"stopped at step {metrics['stopped_at']}" in fig.layout.title.text
    assert metrics["curves"] and len(live) == 2
    rows, _, _ = tab.tables(metrics)  # the results table of what was scored so far
    assert len(rows) <= 1
    # the next run of the same session starts afresh (the old stop is forgotten)
    assert len(list(tab.train("splice", 0, 3, ["random"], 10, 1, 0, 64, request=request))) > 2


def test_runs_past_the_time_budget_are_refused_before_any_training():
    """The issue's 8-hour request: refused at once with the estimate and the command line."""
    import time

    t0 = time.perf_counter()
    with pytest.raises(gr.Error, match=r"would take about .* the web UI allows 10 min.*"
                                       r"python -m core dna-sweep"):
        next(tab.train("splice", 0, 1, ["pretrained", "re-emb", "random"], 2000, 5, 0, 0))
    assert time.perf_counter() - t0 < 60  # one measured step, not the run


def test_train_streams_curves_and_returns_metrics(trained):
    fig, metrics, state = trained
    assert isinstance(fig, go.Figure)
    assert set(metrics["runs"]) == {"pretrained", "random"}
    assert all(0.0 <= r["test_accuracy"] <= 1.0 for r in metrics["runs"].values())
    assert metrics["config"]["k"] == 3 and metrics["config"]["train_size"] == 64
    rows, mapping, files = tab.tables(metrics, state)
    assert len(rows) == 2 and len(mapping) == 64 and len({r[1] for r in mapping}) == 64
    assert all(isinstance(r[1], float) and r[1] == round(r[1], 3) for r in rows)  # rounded
    json_file, csv_file = files  # the whole run: tables, curves and config
    saved = json.loads(open(json_file).read())
    assert saved["runs"]["pretrained"]["test_accuracy"] == metrics["runs"]["pretrained"][
        "test_accuracy"] and saved["config"]["k"] == 3 and "pretrained/0" in saved["curves"]
    assert "runs.random.test_accuracy" in open(csv_file).read()


def test_predict_needs_a_model_then_works(trained):
    with pytest.raises(gr.Error, match="Train a model first"):
        tab.predict("ACGT", None)
    _, _, state = trained
    probs, fig = tab.predict(tab._example_sequences()[0][0], state)
    assert set(probs) == {"EI", "IE", "N"} and len(fig.data[0].y) == 60


@pytest.mark.parametrize("args, message", [
    (("splice", 0, 1, [], 10, 1, 0, 64), "at least one"),
    (("splice", 0, 1, ["pretrained"], 99999, 1, 0, 64), "steps must be"),
    (("viral", 0, 1, ["pretrained"], 10, 1, 0, 64), "unknown dataset"),
])
def test_bad_settings(args, message):
    with pytest.raises(gr.Error, match=message):
        list(tab.train(*args))


def test_a_long_sequence_is_explained_in_windows(trained):
    _, _, state = trained  # k=3: 510 bases = 170 k-mers, occluded in windows
    probs, fig = tab.predict("ACGT" * 127 + "AC", state)
    assert len(fig.data[0].y) == 510 and "window of" in fig.layout.title.text
    bases = tab.dna.occlusion_window(170) * 3  # 23 windows of 8 k-mers: 24 bases share a score
    assert bases == 24 and f"window of {bases} bases" in fig.layout.title.text
    assert len(set(fig.data[0].y[:bases])) == 1 and len(set(fig.data[0].y)) > 1


def test_bad_sequence(trained):
    _, _, state = trained
    with pytest.raises(gr.Error, match="'U' at 3"):
        tab.predict("ACUG", state)
    with pytest.raises(gr.Error, match="no DNA sequence given"):
        tab.predict("   ", state)


def test_intro_is_written_from_the_reference_run():
    from core.dna import finding as dna_finding

    ref = tab.REFERENCE
    assert ref is not None
    assert dna_finding.reference_finding(ref) in tab.intro()
    pretrained = ref["datasets"]["splice"]["runs"]["pretrained"]["test_accuracy"]
    assert f"pretrained {pretrained:.3f}" in tab.intro()


def test_tab_builds_without_a_reference_run(monkeypatch):
    monkeypatch.setattr(tab, "REFERENCE", None)
    assert isinstance(tab.build(), gr.Blocks)


def test_learning_rates_typed_per_start():
    assert tab._parse_lrs("pretrained=1e-4, random = 3e-4") == (("pretrained", 1e-4),
                                                                 ("random", 3e-4))
    assert tab._parse_lrs("") == () and tab._parse_lrs(None) == ()
    with pytest.raises(Exception, match="could not read 'random=fast'"):
        tab._parse_lrs("random=fast")


def test_short_runs_evaluate_every_10_updates_and_long_ones_less_often():
    assert tab.DEFAULTS.steps <= 100 and eval_every(tab.DEFAULTS.steps) == 10
    assert [eval_every(s) for s in (100, 200, 450, 2000)] == [10, 25, 50, 250]
    assert "400 labelled sequences, the first 50 updates (at pretrained " in tab.intro()


def test_a_live_run_takes_the_reference_body_and_schedule():
    ref = tab.REFERENCE
    cfg = live_config(ref, steps=300)
    assert cfg.layers == ref["config"]["layers"] and cfg.schedule_steps == ref["config"]["steps"]
    assert cfg.steps == 300 and cfg.eval_every == 25
    assert live_config(ref).eval_every == 10
    shared = {"config": {"lrs": {"pretrained": 1e-4, "random": 1e-4}, "layers": 3,
                         "steps": 200}}
    assert live_config(shared).lrs == (("pretrained", 1e-4), ("random", 1e-4))
    mixed = live_config(shared, lrs=(("random", 3e-4),))  # a rate typed in wins for its start
    assert dict(mixed.lrs) == {"pretrained": 1e-4, "random": 3e-4}
    assert live_config(shared, lr=2e-4).lrs == ()  # one rate typed in for all
    bare = live_config(None, train_size=100)  # no reference committed: the full body, defaults
    assert bare.layers is None and bare.train_size == 100
    assert bare.schedule_steps == tab.DEFAULTS.schedule_steps
