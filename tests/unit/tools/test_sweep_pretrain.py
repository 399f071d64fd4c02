"""`python -m core pretrain-sweep` (core.tools.sweeps.pretrain): a reference the tab can show."""
from __future__ import annotations

import json

from core.pretrain import lab as pretrain_lab
from core.pretrain import view
from core.pretrain.data import LINE_LENGTH
from core.tools.cli import main


def test_sweep_writes_a_reference_the_tab_can_show(tmp_path, capsys):
    path = tmp_path / "reference.json"
    assert main(["pretrain-sweep", "--schemes", "shuffle-4", "--steps", "3", "--seeds", "1",
                 "--finetune-steps", "2", "--batch-size", "4", "--out", str(path)]) == 0
    assert f"written to {path}" in capsys.readouterr().out
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.count("\n") == 1  # compact JSON, one line
    back = pretrain_lab.load_reference(path)
    committed = pretrain_lab.load_reference()
    assert list(back) == list(committed)  # the keys of the committed file, in its order
    assert list(back["metrics"]) == list(committed["metrics"])
    assert set(back["metrics"]["runs"]) == {"shuffle-4", "scratch"}
    assert back["metrics"]["config"]["schemes"] == ["shuffle-4"]
    assert len(back["mlm"]["shuffle-4"]) >= 1 and back["wall_s"] > 0
    assert set(back["finetune"]) == {"shuffle-4/0", "scratch/0"}
    assert {"device", "torch"} <= set(back["machine"]) and back["started"]
    assert ("--schemes shuffle-4 --size tiny --steps 3 --batch-size 4 --seeds 1"
            in view.reference_summary(back, line_length=LINE_LENGTH))
    assert json.loads(text) == back
