"""benchmarks/drift.py runs end to end on the generated table, the old check beside the new."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import REPO, run_script


def test_drift_benchmark_prints_false_alarms_and_detections(tmp_path: Path) -> None:
    options = ("--tables", "synthetic", "--batches", "3", "--epochs", "3", "--json", tmp_path / "out.json")
    result = run_script("benchmarks", "drift.py", *options, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "| cell | tables | new check (mean) | new (worst table) | old check (mean) |" in result.stdout
    for cell in ("false alarms, 30 rows", "false alarms, 100000 rows", "detected: 10% more nulls @ 1000"):
        assert f"| {cell} | 1 |" in result.stdout, result.stdout
    table = json.loads((tmp_path / "out.json").read_text())["results"][0]
    assert table["table"] == "synthetic" and table["held_out"] == 2000
    assert set(table["false_alarms"]) == {"30", "100", "1000", "100000"}
    assert len(table["detections"]) == 10  # five shifts at 200 and 1,000 rows
    assert table["detections"]["10% more nulls @ 1000"]["new"] == 1.0  # caught by every check
    assert all(
        0.0 <= cell["new"] <= 1.0 and 0.0 <= cell["old"] <= 1.0 for cell in table["false_alarms"].values()
    )
