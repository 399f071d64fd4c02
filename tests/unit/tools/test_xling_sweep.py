"""`python -m core xling-size-sweep` on a tiny scale: the cells it runs, what it records, and
resuming a sweep cut off in the middle of a run."""
from __future__ import annotations

import json

import pytest

from core.tools.sweeps import xling

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = dict(languages=("en", "de"), sizes=(100, 300), seeds=2, steps=8, batch_size=8,
            vocab_size=1_000, line_length=30, probe_points=2, probe_verses=10, test_verses=20)


class Cut(Exception):
    pass


def test_sweep_runs_every_size_and_the_control_per_seed_and_resumes_a_cut_run(tmp_path):
    progress, work = tmp_path / "progress.json", tmp_path / "work"
    seen = []

    def cut_in_the_second_cell(key, point):
        if key == "300/0" and point.get("layer") is not None:
            raise Cut  # killed right after its first probe point (and checkpoint)

    with pytest.raises(Cut):
        xling.sweep(**TINY, workdir=work, progress_path=progress, on_event=cut_in_the_second_cell)
    saved = json.loads(progress.read_text())
    assert set(saved["cells"]) == {"untrained/0", "untrained/1", "untrained-fake/0",
                                   "untrained-fake/1", "100/0"}
    assert [p["step"] for p in saved["running"]["300/0"]] == [1, 2, 3, 4]
    report = xling.sweep(**TINY, progress_path=progress, report=True)  # runs nothing
    assert report["planned"] == ["300/0", "fake/0", "100/1", "300/1", "fake/1"]
    assert set(report["summary"]) == {"100", "untrained", "untrained-fake"}
    assert report["config"]["packing"] == "verse" and report["config"]["train_verses"] > 20_000
    assert report["config"]["architecture"].startswith("6 layers, 64 wide, 1 attention head")
    record = xling.sweep(**TINY, workdir=work, progress_path=progress, resume=True,
                         on_cell=lambda k, v: seen.append(k))
    assert seen == ["300/0", "fake/0", "100/1", "300/1", "fake/1"]
    cells = record["cells"]
    assert cells["300/0"]["resumed_at"] == 4 and cells["100/0"]["resumed_at"] is None
    assert [p["step"] for p in cells["300/0"]["curve"]] == list(range(1, 9))  # none lost
    assert [p["step"] for p in cells["300/0"]["curve"] if "layer" in p] == [4, 8]
    assert cells["100/0"]["tokens"]["en"] < cells["300/0"]["tokens"]["en"]
    assert set(cells["fake/0"]["test"]["pairs"][0]) >= {"source", "target", "mrr_centered"}
    s = record["summary"]
    assert set(s) == {"100", "300", "fake", "untrained-fake", "untrained"}
    assert s["300"]["seeds"] == [0, 1] and s["300"]["mrr_centered"]["n"] == 2
    gain = s["300"]["mrr_centered_gain"]
    assert gain["seeds"] == [0, 1]
    floor = s["untrained"]["mrr_centered"]["per_seed"]
    assert gain["per_seed"] == pytest.approx(
        [a - b for a, b in zip(s["300"]["mrr_centered"]["per_seed"], floor)])
    assert "mrr_centered_gain" not in s["untrained"]
    assert record["config"]["sizes"] == [100, 300] and record["wall_s"] >= 0
    for cell in cells.values():
        assert 0 <= cell["test"]["p_at_1_raw"] <= 1 and len(cell["test"]["by_layer"]) == 7
    # a finished cell ships as a registry entry that scores as recorded
    from core.common.errors import InputError
    from core.text import models

    folder = tmp_path / "models" / "lab-mbert-300"
    meta = xling.export_cell(progress, work, "300/0", folder)
    assert meta["shipped_test"]["layer"] == cells["300/0"]["test"]["layer"]
    for m in xling.MEASURES:
        assert meta["shipped_test"][m] == pytest.approx(cells["300/0"]["test"][m], abs=1e-3)
    assert "300 verses of en, de" in meta["about"]
    spec = models.lab_specs(tmp_path / "models")["lab-mbert-300"]
    assert (spec.role, spec.profile, spec.source) == ("multilingual", "embedded", "folder")
    assert sum(f.stat().st_size for f in folder.iterdir()) < 10 * 2**20
    with pytest.raises(InputError, match="no finished cell 'nope'"):
        xling.export_cell(progress, work, "nope", folder)
    with pytest.raises(InputError, match="untrained floor has no pretrained model"):
        xling.export_cell(progress, work, "untrained/0", folder)
    # a model that does not score as recorded is refused and nothing takes the name
    tampered = json.loads(progress.read_text(encoding="utf-8"))
    tampered["cells"]["100/1"]["test"]["mrr_centered"] += 0.5
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered), encoding="utf-8")
    with pytest.raises(InputError, match="scores otherwise than recorded"):
        xling.export_cell(bad, work, "100/1", tmp_path / "models" / "lab-mbert-100")
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["lab-mbert-300"]
    with pytest.raises(ValueError, match="other settings"):
        xling.sweep(**{**TINY, "steps": 9}, progress_path=progress, resume=True)
