"""Hostile command-line input: each fails with the project's own message naming the option or value,
the problem and the fix (exit 1 for data/model problems, 2 for usage), and writes nothing.

The CLI runs in-process (``aefeatures.cli.main``, the one place exceptions become exit codes) in a
fresh directory that is fingerprinted before and after. Also here: the checks the API shares with
the CLI (``FitConfig.validate``), pass-through Arrow types and the Spark job's output rules.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.cli.jobs import check_spark_output
from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError, OutputExistsError
from aefeatures.integrations.spark import SPARK_MARKER, SPARK_ROW_METADATA, is_spark_output
from aefeatures.transform.streaming import transform_path
from tests.helpers import fails_cleanly, make_mixed, run_cli

FIT = ("fit", "train.parquet", "--exclude", "id,label", "--epochs", "1", "--threads", "1", "--quiet")


@pytest.fixture
def workdir(tmp_path: Path, fitted_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_mixed(300, seed=4).write_parquet(tmp_path / "train.parquet")
    shutil.copytree(fitted_model_dir, tmp_path / "model")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- fit settings: one type check for the CLI and the API -----------------------------------------


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--set", "trim=abc"], ("trim='abc' is a string", "trim takes a number", "--set trim=")),
        (["--set", "l1_hidden=1"], ("l1_hidden=1 is an integer", "true or false")),
        (["--set", "noise=5"], ("noise=5", "takes a string")),
        (["--set", "patience=2.5"], ("patience=2.5 is a float", "whole number")),
        (["--hidden", "100000000000"], ("100,000,000,000 units", "65,536", "--hidden 256,64")),
        (["--hidden", "20000,20000"], ("parameters", "at most 200,000,000", "narrower hidden layers")),
        (["--latent-dim", "5000"], ("latent_dim=5000", "1 to 4096")),
    ],
    ids=["trim-text", "bool-as-int", "choice-as-int", "int-as-float", "7TB-layer", "huge-network", "latent"],
)
def test_bad_fit_settings_name_the_setting_and_the_fix(
    workdir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: tuple[str, ...]
) -> None:
    fails_cleanly(workdir, capsys, [*FIT, "--model", "m", *extra], 1, *says)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([*FIT, "--hidden", ""], ("--hidden", "empty item", "'none' for no hidden layer")),
        ([*FIT, "--hidden", "64,,32"], ("--hidden", "'64,,32' has an empty item")),
        ([*FIT, "--set", "epoch=3"], ("--set", "did you mean epochs?")),
        ([*FIT, "--threads", "5000"], ("--threads", "less than or equal to 1024")),
        ([*FIT, "--columns", ""], ("--columns", "names no column")),
        (["compare", "train.parquet", "--kinds", ""], ("--kinds", "names no kind")),
        (["compare", "train.parquet", "--kinds", ","], ("--kinds", "names no kind")),
        (["report", "model", "-o", "pages/"], ("--output", "ends in '/'", "pages/NAME")),
        (["schema", "infer", "train.parquet", "-o", "schemas/"], ("--output", "ends in '/'")),
        (["export", "model", "--onnx", "exports/"], ("--onnx", "ends in '/'")),
        (["demo", "--rows", "1", "--dir", "demo"], ("--rows", "outside 200 to 10,000,000")),
        (["demo", "--rows", "100000000000", "--dir", "demo"], ("--rows", "100,000,000,000")),
        (["demo", "--seed", "-1", "--dir", "demo"], ("--seed",)),
    ],
    ids=[
        "hidden-empty",
        "hidden-empty-item",
        "set-typo",
        "threads-huge",
        "columns-empty",
        "kinds-empty",
        "kinds-comma",
        "report-slash",
        "schema-slash",
        "onnx-slash",
        "demo-one-row",
        "demo-huge",
        "demo-negative-seed",
    ],  # fmt: skip
)
def test_usage_errors_exit_2_before_anything_is_written(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: tuple[str, ...]
) -> None:
    fails_cleanly(workdir, capsys, argv, 2, *says)


def test_hidden_none_is_the_explicit_spelling_of_no_hidden_layer(workdir: Path) -> None:
    assert main([*FIT, "--model", "m", "--hidden", "none"]) == 0
    assert aef.load(workdir / "m").info()["hidden"] == []


def test_a_file_named_models_is_refused_and_a_failed_fit_leaves_no_models_directory(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "models").write_text("my notes")
    fails_cleanly(workdir, capsys, list(FIT), 1, "'models'", "is a file", "--model DIR")
    (workdir / "models").unlink()
    fails_cleanly(
        workdir, capsys, [*FIT, "--set", "trim=abc"], 1, "trim='abc'"
    )  # models/ was created, then removed


def test_arguments_that_are_not_utf8_are_refused_by_name(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = b"caf\xe9.parquet".decode("utf-8", "surrogateescape")  # as Python reads a Latin-1 file name
    fails_cleanly(
        workdir, capsys, ["transform", name, "--model", "model", "-o", "o.parquet"], 2, "caf\\xe9", "UTF-8"
    )


def test_debug_set_to_zero_means_off(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEFEATURES_DEBUG", "0")
    fails_cleanly(workdir, capsys, ["info", "nope"], 1, "not a model directory")
    monkeypatch.setenv("AEFEATURES_DEBUG", "1")
    with pytest.raises(aef.ModelFileError):
        main(["info", "nope"])


# --- outputs --------------------------------------------------------------------------------------


def test_a_trailing_slash_on_a_file_input_is_refused_not_written_as_a_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails_cleanly(
        workdir, capsys, ["transform", "train.parquet", "-m", "model", "-o", "out/"], 1,
        "'out/' ends in '/'", "out/train_features.parquet",
    )  # fmt: skip


def test_a_trailing_slash_on_a_directory_input_writes_the_directory(workdir: Path) -> None:
    (workdir / "parts").mkdir()
    make_mixed(100, seed=5).write_parquet(workdir / "parts" / "a.parquet")
    assert main(["transform", "parts", "-m", "model", "-o", "out.parquet/", "--quiet"]) == 0
    assert (workdir / "out.parquet" / "a.parquet").is_file()


def test_demo_checks_everything_before_writing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "demo").write_text("a file")
    fails_cleanly(workdir, capsys, ["demo", "--dir", "demo", "--rows", "500"], 1, "'demo'", "not a directory")
    (workdir / "demo").unlink()
    (workdir / "demo").mkdir()
    (workdir / "demo" / "customers.parquet").write_text("a user's file")
    fails_cleanly(workdir, capsys, ["demo", "--dir", "demo", "--rows", "500"], 1, "customers.parquet")


def test_compare_refuses_a_one_class_label(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_mixed(300).with_columns(pl.lit(False).alias("label")).write_parquet(workdir / "one.parquet")
    fails_cleanly(
        workdir, capsys,
        ["compare", "one.parquet", "--label", "label", "--rank-by", "roc_auc", "--exclude", "id",
         "--kinds", "deep", "--sizes", "2", "--epochs", "1", "--threads", "1", "--quiet"],
        1, "label column 'label' has the single value False", "both classes", "rank by valid_loss",
    )  # fmt: skip


# --- the API shares the checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"columns": "income"}, "columns='income' is a string; columns takes a list of strings"),
        (
            {"hidden": 64},
            "hidden=64 is an integer; hidden takes a list of whole numbers, e.g. hidden=[64, 32]",
        ),
        ({"epochs": 2.5}, "epochs=2.5 is a float; epochs takes a whole number"),
        ({"seed": True}, "seed=True is a boolean"),
        ({"exclude": ["id", 3]}, "exclude[1]=3 is an integer; each item of exclude must be a string"),
        ({"trim": "abc"}, "trim='abc' is a string"),
        ({"epoch": 3}, "unknown fit parameter 'epoch'; did you mean 'epochs'?"),
        ({"columns": ()}, "columns=() names no column"),
    ],
    ids=[
        "columns-string",
        "hidden-int",
        "epochs-float",
        "seed-bool",
        "exclude-item",
        "trim-text",
        "typo",
        "no-columns",
    ],
)
def test_api_type_errors_are_config_errors_naming_the_field(params: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        aef.fit(make_mixed(50), **params)
    assert says in str(raised.value) and raised.value.hint


def test_api_accepts_other_sequences_and_numpy_numbers() -> None:
    frame = make_mixed(50)
    config = FitConfig(
        exclude=pd.Index(["id", "label"]),  # type: ignore[arg-type]
        columns={"y", "x"},  # type: ignore[arg-type]
        seed=np.int64(3),  # type: ignore[arg-type]
        learning_rate=1,
    ).validate()
    assert config.exclude == ("id", "label") and config.columns == ("x", "y")  # a set is sorted
    assert type(config.seed) is int and type(config.learning_rate) is float
    assert aef.fit(frame, columns=["x", "y"], epochs=np.int64(1), threads=1).columns == ["x", "y"]


# --- pass-through columns keep their Arrow types --------------------------------------------------


def _typed_table(rows: int = 300) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table(
        {
            "x": rng.normal(size=rows),
            "y": rng.normal(size=rows),
            "blob": pa.array([b"\x00\x01"] * rows, pa.binary()),
            "fixed": pa.array([b"ab"] * rows, pa.binary(2)),
            "clock": pa.array(list(range(rows)), pa.time32("ms")),
            "note": pa.array(["n"] * rows, pa.string()),
            "code": pa.array(["a", "b", "c"] * (rows // 3)).dictionary_encode(),
            "tags": pa.array([[1, 2]] * rows, pa.list_(pa.int32())),
            "at": pa.array(list(range(rows)), pa.timestamp("s")),
        }
    )


def test_pass_through_columns_keep_their_arrow_types(tmp_path: Path) -> None:
    table = _typed_table()
    model = aef.fit(table.select(["x", "y"]), epochs=1, threads=1)
    pq.write_table(table, tmp_path / "in.parquet")
    read_back = pq.read_table(tmp_path / "in.parquet")
    transform_path(model, tmp_path / "in.parquet", tmp_path / "out.parquet", batch_rows=100)
    streamed = pq.read_table(tmp_path / "out.parquet")
    assert streamed.schema.remove_metadata().field("blob").type == pa.binary()
    for out, source in ((streamed, read_back), (model.transform(table), table)):
        head = pa.schema(list(out.schema.remove_metadata())[: source.num_columns])
        assert head.equals(source.schema.remove_metadata())
        assert (
            out.select(source.column_names).to_pylist() == source.to_pylist()
        )  # dictionaries differ per batch
    batch = model.transform_batch(table.to_batches()[0])
    assert pa.schema(list(batch.schema)[: table.num_columns]).equals(table.schema)


# --- the Spark job's output rules (no Spark needed) -----------------------------------------------


def test_spark_job_output_rules(tmp_path: Path) -> None:
    data = tmp_path / "in.parquet"
    make_mixed(20).write_parquet(data)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="an input of this command"):
        check_spark_output(str(data), True, inputs=[str(data)])
    with pytest.raises(OutputExistsError, match="holding"):
        check_spark_output(str(tmp_path), True, inputs=[str(data)])
    with pytest.raises(OutputExistsError, match="not Parquet output written by aefeatures"):
        check_spark_output(f"file://{user}", True, inputs=[str(data)])
    check_spark_output(str(user), False, inputs=[str(data)])  # Spark's errorifexists refuses it later
    with pytest.raises(OutputExistsError, match="Spark would delete the data being read"):
        check_spark_output("s3a://bucket/events", True, inputs=["s3a://bucket/events/day=1"])
    check_spark_output("s3a://bucket/features", True, inputs=["s3a://bucket/events"])  # not checkable


def test_spark_written_aefeatures_output_is_recognised(tmp_path: Path) -> None:
    def spark_part(folder: Path, marked: bool) -> None:
        folder.mkdir()
        fields = [
            {
                "name": "ae_error",
                "type": "double",
                "nullable": True,
                "metadata": SPARK_MARKER if marked else {},
            }
        ]
        row_metadata = json.dumps({"type": "struct", "fields": fields})
        table = pa.table({"ae_error": [0.5]}).replace_schema_metadata({SPARK_ROW_METADATA: row_metadata})
        pq.write_table(table, folder / "part-00000-x.snappy.parquet")
        (folder / "_SUCCESS").write_text("")
        (folder / ".part-00000-x.snappy.parquet.crc").write_bytes(b"crc")

    spark_part(tmp_path / "ours", marked=True)
    spark_part(tmp_path / "theirs", marked=False)
    assert is_spark_output(tmp_path / "ours") and not is_spark_output(tmp_path / "theirs")
    check_spark_output(str(tmp_path / "ours"), True, inputs=[])
    (tmp_path / "ours" / "notes.txt").write_text("a file of the user's")
    assert not is_spark_output(tmp_path / "ours")


def test_a_name_with_terminal_escapes_is_printed_escaped_in_errors_hints_and_warnings(tmp_path: Path) -> None:
    name = "\x1b]0;PWNED\x07\x1b[2J"
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"x": rng.normal(size=200), name: rng.normal(size=200), "row": np.arange(200)})
    frame.with_columns(
        pl.when(pl.col("x") > 2).then(float("inf")).otherwise(pl.col(name)).alias(name)
    ).write_parquet(tmp_path / "bad.parquet")
    failed = run_cli(
        "fit", tmp_path / "bad.parquet", "--model", tmp_path / "m", "--epochs", "1", cwd=tmp_path
    )
    assert failed.returncode == 1 and "infinite" in failed.stderr and "Hint:" in failed.stderr
    frame.write_parquet(tmp_path / "ok.parquet")  # fits, warning that 'row' looks like an identifier
    done = run_cli("fit", tmp_path / "ok.parquet", "--model", tmp_path / "m", "--epochs", "1", cwd=tmp_path)
    assert done.returncode == 0 and "identifiers" in done.stderr
    for output in (failed.stderr, done.stderr, done.stdout):
        assert "\x1b" not in output and "\x07" not in output
    assert "\\x1b]0;PWNED\\x07" in failed.stderr
