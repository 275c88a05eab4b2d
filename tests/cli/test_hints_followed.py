"""Hints that work (issue 26, class 3): each hint that suggests a command or an option is taken
from the real error, followed as written, and must lead to a command that works, down to the
model transforming the data it was fitted on.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import leave_out
from tests.helpers import drifted_frame, make_mixed


def _numbers(rows: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})


def _hint(capsys: pytest.CaptureFixture[str]) -> str:
    error = capsys.readouterr().err
    assert "Hint: " in error, error
    return " ".join(error.split("Hint: ", 1)[1].split())


def _options(hint: str, option: str) -> list[str]:
    """Every ``option VALUE`` pair the hint gives, the value read as the shell reads it."""
    word = r"""(?:'[^']*'|"[^"]*"|[^\s;,()'"]+)+"""
    found = re.findall(rf"(?<![\w-]){re.escape(option)} ({word})", hint)
    return [item for value in found for item in (option, shlex.split(value)[0])]


FIT = ["--epochs", "1", "--threads", "1", "--quiet"]


@pytest.mark.parametrize("name", ["ae_error", "ae_z0", "ae_outlier", "ae_error__x", "ae_imputed"])
def test_the_output_name_clash_hint_at_fit_leads_to_a_model_that_transforms_its_own_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    data = tmp_path / "d.parquet"
    _numbers().with_columns(pl.col("x").alias(name)).write_parquet(data)
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *FIT]) == 1
    options = _options(_hint(capsys), "--prefix")
    assert options == ["--prefix", "ae2_"]
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *options, *FIT]) == 0
    assert (
        main(
            ["transform", str(data), "--model", str(tmp_path / "m"), "--output", str(tmp_path / "o.parquet")]
        )
        == 0
    )
    assert pl.read_parquet(tmp_path / "o.parquet").columns[-1] == "ae2_outlier"


def test_excluding_a_clashing_column_is_not_offered_and_does_not_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old hint (--exclude ae_error) fitted a model that refused its own training data."""
    data = tmp_path / "d.parquet"
    _numbers().with_columns(ae_error=pl.col("x")).write_parquet(data)
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), "--exclude", "ae_error", *FIT]) == 1
    assert "--exclude" not in _hint(capsys) and not (tmp_path / "m").exists()


def test_the_clash_hint_skips_a_prefix_that_clashes_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.parquet"
    _numbers().with_columns(ae_error=pl.col("x"), ae2_error=pl.col("y")).write_parquet(data)
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *FIT]) == 1
    options = _options(_hint(capsys), "--prefix")
    assert options == ["--prefix", "ae3_"]
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *options, *FIT]) == 0
    assert (
        main(
            ["transform", str(data), "--model", str(tmp_path / "m"), "--output", str(tmp_path / "o.parquet")]
        )
        == 0
    )


def test_the_clash_hint_at_transform_leads_to_a_working_transform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _numbers().write_parquet(tmp_path / "train.parquet")
    _numbers(seed=1).with_columns(ae_error=pl.col("x")).write_parquet(tmp_path / "new.parquet")
    assert main(["fit", str(tmp_path / "train.parquet"), "--model", str(tmp_path / "m"), *FIT]) == 0
    out = ["--output", str(tmp_path / "o.parquet")]
    assert main(["transform", str(tmp_path / "new.parquet"), "--model", str(tmp_path / "m"), *out]) == 1
    options = _options(_hint(capsys), "--prefix")
    assert options == ["--prefix", "ae2_"]
    assert (
        main(["fit", str(tmp_path / "train.parquet"), "--model", str(tmp_path / "m2"), *options, *FIT]) == 0
    )
    assert main(["transform", str(tmp_path / "new.parquet"), "--model", str(tmp_path / "m2"), *out]) == 0


@pytest.mark.parametrize("name", ["empty col", "it's", "-dash", "naïve"])
def test_the_leave_out_hint_works_for_awkward_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    data = tmp_path / "d.parquet"
    _numbers().with_columns(pl.lit(None, dtype=pl.Float64).alias(name)).write_parquet(data)
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *FIT]) == 1
    hint = _hint(capsys)
    options = _options(hint, "--exclude")
    assert options == ["--exclude", name], hint
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *[f"{o}" for o in options], *FIT]) == 0
    assert (
        main(
            ["transform", str(data), "--model", str(tmp_path / "m"), "--output", str(tmp_path / "o.parquet")]
        )
        == 0
    )


def test_a_name_the_command_line_cannot_give_gets_the_python_form_that_works() -> None:
    frame = _numbers().with_columns(pl.lit(None, dtype=pl.Float64).alias("a,b"))
    with pytest.raises(aef.DataError) as info:
        aef.fit(frame, epochs=1, threads=1)
    assert "exclude=['a,b'] in Python" in info.value.hint and "--exclude" not in info.value.hint
    model = aef.fit(frame, exclude=["a,b"], epochs=1, threads=1)  # the hint, followed
    assert model.transform(frame).height == frame.height
    assert leave_out("") == "exclude=[''] in Python (the command line cannot name '': rename it)"


def test_the_mkdir_hint_creates_the_directory_even_with_spaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _numbers().write_parquet(tmp_path / "d.parquet")
    model = tmp_path / "my models" / "new dir" / "m"
    assert main(["fit", str(tmp_path / "d.parquet"), "--model", str(model), *FIT]) == 1
    hint = _hint(capsys)
    command = hint.split("create it first: ", 1)[1]
    subprocess.run(command, shell=True, check=True, cwd=tmp_path)
    assert main(["fit", str(tmp_path / "d.parquet"), "--model", str(model), *FIT]) == 0


def test_the_overwrite_hint_replaces_the_earlier_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _numbers().write_parquet(tmp_path / "d.parquet")
    assert main(["fit", str(tmp_path / "d.parquet"), "--model", str(tmp_path / "m"), *FIT]) == 0
    out = [
        "transform",
        str(tmp_path / "d.parquet"),
        "--model",
        str(tmp_path / "m"),
        "--output",
        str(tmp_path / "o.parquet"),
    ]
    assert main(out) == 0
    capsys.readouterr()
    assert main(out) == 1
    assert "pass --overwrite" in _hint(capsys)
    assert main([*out, "--overwrite"]) == 0


def test_the_drift_hint_lets_the_transform_go_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_mixed(400).write_parquet(tmp_path / "train.parquet")
    drifted_frame().write_parquet(tmp_path / "new.parquet")
    assert main(["fit", str(tmp_path / "train.parquet"), "--model", str(tmp_path / "m"), *FIT]) == 0
    out = [
        "transform",
        str(tmp_path / "new.parquet"),
        "--model",
        str(tmp_path / "m"),
        "--output",
        str(tmp_path / "o.parquet"),
    ]
    assert main([*out, "--on-drift", "fail"]) == 1
    options = _options(_hint(capsys), "--on-drift")
    assert options == ["--on-drift", "warn"]
    assert main([*out, *options]) == 0 and pl.read_parquet(tmp_path / "o.parquet").height == 400


def test_the_infinite_value_hint_fits_without_the_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "d.parquet"
    _numbers().with_columns(
        pl.when(pl.col("x") > 1).then(float("inf")).otherwise(pl.col("x")).alias("rate x")
    ).write_parquet(data)
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *FIT]) == 1
    hint = _hint(capsys)
    options = _options(hint, "--exclude")
    assert options == ["--exclude", "rate x"], hint
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *options, *FIT]) == 0
    replaced = tmp_path / "replaced.parquet"  # or the values replaced as the hint writes it: the column kept
    expression = hint.split("e.g. ", 1)[1].split("; a fit can also", 1)[0]
    pl.read_parquet(data).with_columns(eval(expression, {"pl": pl})).write_parquet(replaced)
    assert main(["fit", str(replaced), "--model", str(tmp_path / "m2"), *FIT]) == 0
    assert "rate x" in aef.load(tmp_path / "m2").columns


def test_the_broken_checkpoint_hint_removes_it_and_the_fit_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _numbers().write_parquet(tmp_path / "d.parquet")
    checkpoint = tmp_path / "my models" / "m.checkpoint"
    checkpoint.mkdir(parents=True)
    (checkpoint / "state.json").write_text("{not json")
    (checkpoint / "state.safetensors").write_bytes(b"")
    fit = ["fit", str(tmp_path / "d.parquet"), "--model", str(tmp_path / "my models" / "m"), *FIT]
    assert main([*fit, "--resume"]) == 1
    hint = _hint(capsys)
    command = hint.split("delete it (", 1)[1].split(") and fit again", 1)[0]
    subprocess.run(command, shell=True, check=True)
    assert not checkpoint.exists() and "without --resume" in hint
    assert main(fit) == 0


@pytest.mark.parametrize(("name", "write"), [("d.csv", "write_csv"), ("d.tsv", "write_csv")])
def test_a_table_in_another_format_is_named_and_its_conversion_hint_makes_parquet_that_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, write: str
) -> None:
    data = tmp_path / name
    frame = _numbers()
    getattr(frame, write)(data, **({"separator": "\t"} if name.endswith(".tsv") else {}))
    assert main(["fit", str(data), "--model", str(tmp_path / "m"), *FIT]) == 1
    error = capsys.readouterr().err
    assert f"{str(data)!r} looks like a " in error and "aefeatures reads Parquet only" in error
    command = error.split("Hint: convert it once with polars: ", 1)[1].strip()
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-c"], command
    subprocess.run([sys.executable, "-c", argv[2]], check=True)
    assert pl.read_parquet(tmp_path / "d.parquet").equals(frame)
    assert main(["fit", str(tmp_path / "d.parquet"), "--model", str(tmp_path / "m"), *FIT]) == 0
