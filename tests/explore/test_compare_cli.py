"""``aefeatures compare`` on the command line: the printed fit command, failed candidates, exit codes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.explore import grid
from tests.helpers import make_mixed, run_cli


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare_cli") / "mixed data.parquet"  # a name the shell must quote
    make_mixed(600).write_parquet(path)
    return path


def test_the_printed_fit_command_trains_the_winner(mixed_file: Path, tmp_path: Path) -> None:
    args = ["--label", "label", "--exclude", "id", "--kinds", "deep,denoising", "--sizes", "2,3"]
    done = run_cli(
        "compare", mixed_file, *args, "--epochs", "6", "--threads", "1", "--set", "noise_level=0.2"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ranked by the ROC-AUC of ae_error against 'label'")
    best = re.search(r"^best: (\S+) at latent (\d+): the highest roc_auc", done.stdout, re.MULTILINE)
    assert best is not None
    command = next(line.removeprefix("train it: ") for line in lines if line.startswith("train it: "))
    words = shlex.split(command)
    assert words[:3] == ["aefeatures", "fit", str(mixed_file)]
    assert "--exclude" in words and words[words.index("--exclude") + 1] == "id,label"
    # denoising's own setting: in the command only when the winner uses it
    assert ("noise_level=0.2" in command) == (best.group(1) == "denoising")
    trained = run_cli(*words[1:], "-m", tmp_path / "again", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    model = aef.load(tmp_path / "again")
    assert (model.config.kind, model.latent_dim) == (best.group(1), int(best.group(2)))
    assert model.config.goal == "outliers" and "label" not in model.columns


def test_a_diverging_candidate_is_marked_and_the_command_succeeds(mixed_file: Path) -> None:
    done = run_cli(
        "compare", mixed_file, "--exclude", "id,label", "--kinds", "deep", "--sizes", "2",
        "--epochs", "3", "--threads", "1", "--set", "learning_rate=10", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    statuses = {run["kind"]: (run["status"], run["rank"]) for run in payload["runs"]}
    assert statuses == {"pca": ("finished", 1), "deep": ("failed", None)}
    failed = next(run for run in payload["runs"] if run["status"] == "failed")
    assert "training diverged" in failed["why"] and "learning rate" in failed["why"]
    assert "deep latent 2: failed: training diverged" in done.stderr  # the progress line says which
    assert payload["best"]["kind"] == "pca"


def test_no_finished_candidate_prints_the_table_and_exits_1(
    mixed_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of device memory")  # every candidate, PCA included, fails

    monkeypatch.setattr(grid, "train_prepared", broken)
    kept = tmp_path / "best"
    code = main(
        ["compare", str(mixed_file), "-x", "id,label", "--kinds", "deep", "--sizes", "2", "--threads", "1",
         "--keep-best", str(kept)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1 and not kept.exists()
    assert "failed: deep at latent 2: RuntimeError: out of device memory" in out
    assert "failed: pca at latent 2: RuntimeError: out of device memory" in out
    assert "no candidate finished" in out and "no candidate finished" in err


def test_a_label_of_three_classes_shows_the_value_that_is_not_0_or_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import polars as pl

    data = tmp_path / "three.parquet"
    make_mixed(300).with_columns(grade=pl.Series([0] * 290 + [1] * 5 + [2] * 5)).write_parquet(data)
    assert main(["compare", str(data), "-x", "id,label", "--label", "grade", "--sizes", "2"]) == 1
    assert "with values such as [2]" in capsys.readouterr().err
