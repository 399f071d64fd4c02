import csv
import json
import os
import time

from core.common import export


def test_flatten_gives_every_leaf_with_its_path_in_order():
    record = {"config": {"k": 1}, "runs": {"random": {"per_seed": [0.5, 0.6]}}, "ok": True}
    assert export.flatten(record) == [("config.k", 1), ("runs.random.per_seed.0", 0.5),
                                      ("runs.random.per_seed.1", 0.6), ("ok", True)]


def test_exports_hold_the_whole_record_as_json_and_csv():
    record = {"runs": {"pretrained": {"test_accuracy": 0.6543210987654321,
                                      "ci95": float("nan")}},
              "curves": {"pretrained/0": [{"step": 25, "dev_accuracy": 0.5}]}}
    json_path, csv_path = export.write_exports(record, "dna-run")
    assert json_path.endswith("dna-run.json") and csv_path.endswith("dna-run.csv")
    back = json.loads(open(json_path).read())  # strict JSON: NaN became null
    assert back["runs"]["pretrained"] == {"test_accuracy": 0.6543210987654321, "ci95": None}
    rows = list(csv.reader(open(csv_path)))
    assert rows[0] == ["field", "value"]
    assert ["runs.pretrained.test_accuracy", "0.6543210987654321"] in rows  # full precision
    assert ["curves.pretrained/0.0.dev_accuracy", "0.5"] in rows


def test_old_exports_are_swept():
    json_path, _ = export.write_exports({"a": 1}, "old")
    folder = os.path.dirname(json_path)
    hour_ago = time.time() - export.EXPORT_TTL_S - 10
    os.utime(folder, (hour_ago, hour_ago))
    assert export.sweep() >= 1 and not os.path.exists(folder)
