"""Run records: a progress file is replaced whole or not at all."""
import json

from core.common import records


def test_write_replaces_the_file_and_leaves_no_part_files(tmp_path):
    path = tmp_path / "runs" / "progress.json"
    records.write(path, {"cells": {"a": 1}})
    records.write(path, {"cells": {"a": 1, "b": 2}})
    assert json.loads(path.read_text(encoding="utf-8")) == {"cells": {"a": 1, "b": 2}}
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]

