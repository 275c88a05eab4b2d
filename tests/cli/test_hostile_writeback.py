"""Hostile input to the write-back features: ``impute``, ``transform --expected`` and ``sample``.

Bad input fails with the project's own message naming the column or option, the problem and the
fix (exit 1 for data/model problems, 2 for usage), and nothing is written, replaced or removed:
each CLI case runs ``aefeatures.cli.main`` in-process in a fresh directory fingerprinted before
and after (a few run the real command in a subprocess). Odd but valid input just works: filled
columns keep the input's dtypes and present cells, zero rows give an empty table of the right
schema, and the API checks ``sample``'s arguments before anything is made.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.defaults import MAX_SAMPLE_ROWS
from aefeatures.errors import ConfigError, DataError
from aefeatures.model.filling import in_input_dtypes
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, WEIGHTS, sealed
from tests.helpers import fails_cleanly, make_mixed, run_cli

FEATURES = ["x", "y", "count", "income", "segment", "active", "seen"]  # make_mixed less id and label
IMPUTE = ("impute", "in.parquet", "--model", "imputer", "--output", "out.parquet")
EXPECTED = ("transform", "in.parquet", "--model", "model", "--output", "out.parquet", "--expected")
SAMPLE = ("sample", "--model", "model", "--output", "out.parquet")


def holed(frame: pl.DataFrame, share: float = 0.3, seed: int = 0) -> pl.DataFrame:
    """``frame`` with about ``share`` of the cells of six feature columns set missing."""
    rng = np.random.default_rng(seed)
    return frame.with_columns(
        pl.when(pl.Series(rng.random(frame.height) < share)).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("x", "y", "count", "segment", "active", "seen")
    )


def data() -> pl.DataFrame:
    return make_mixed(200, seed=3)


@pytest.fixture(scope="module")
def imputer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny model of goal imputation (it cannot sample: its network corrects a Gaussian fill)."""
    torch.set_num_threads(1)
    model = aef.fit(make_mixed(300), exclude=["id", "label"], goal="imputation", steps=200, seed=0, threads=1)
    return model.save(tmp_path_factory.mktemp("imputer") / "imputer")


@pytest.fixture(scope="module")
def imputer(imputer_dir: Path) -> aef.AutoencoderModel:
    return aef.load(imputer_dir)


@pytest.fixture
def workdir(
    tmp_path: Path, fitted_model_dir: Path, imputer_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fresh directory holding ``model`` (the default goal, which samples) and ``imputer``."""
    shutil.copytree(fitted_model_dir, tmp_path / "model")
    shutil.copytree(imputer_dir, tmp_path / "imputer")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def works(argv: tuple[str, ...]) -> pl.DataFrame:
    """Run ``argv`` (its output is ``out.parquet``), assert exit 0, and read the output."""
    extra = ["--quiet"] if argv[0] == "sample" else ["--quiet", "--on-drift", "ignore"]
    assert main([*argv, *extra]) == 0
    return pl.read_parquet("out.parquet")


def write(frame: pl.DataFrame, name: str = "in.parquet") -> Callable[[Path], None]:
    return lambda d: frame.write_parquet(d / name)


def edit_manifest(
    model: str, change: Callable[[dict], object], *, reseal: bool = False
) -> Callable[[Path], None]:
    """Change ``model``'s manifest; ``reseal`` recomputes its checksum, as a forger would."""

    def build(d: Path) -> None:
        path = d / model / MANIFEST
        manifest = json.loads(path.read_text())
        change(manifest)
        if reseal:
            manifest.pop(MANIFEST_DIGEST)
            manifest = sealed(manifest)
        path.write_text(json.dumps(manifest))

    return build


def truncate_weights(model: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        content = (d / model / WEIGHTS).read_bytes()
        (d / model / WEIGHTS).write_bytes(content[: len(content) // 2])

    return build


def zero_weights(manifest: dict) -> None:
    density = manifest["generation"]["density"]
    density["weights"] = [0.0] * len(density["weights"])


def earlier_sample(d: Path) -> None:
    assert main([*SAMPLE, "--rows", "5", "--seed", "1", "--quiet"]) == 0


def everything(*builds: Callable[[Path], object]) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        for step in builds:
            step(d)

    return build


def nothing(d: Path) -> None:
    return None


def foreign_output(d: Path) -> None:
    (d / "out.parquet").write_bytes(b"yesterday's file, not written by aefeatures")


good = write(data())

FAILING: list[tuple[str, Callable[[Path], object], tuple[str, ...], int, tuple[str, ...]]] = [
    # impute: the data does not match the model
    (
        "impute-text-for-float",
        write(data().with_columns(pl.lit("n/a").alias("x"))),
        IMPUTE,
        1,
        ("'x'", "cannot be converted", "n/a"),
    ),
    (
        "impute-missing-column",
        write(data().drop("y")),
        IMPUTE,
        1,
        ("'y'", "missing from the data", "add the missing"),
    ),
    (
        "impute-zero-columns",
        lambda d: pq.write_table(pa.table({}), d / "in.parquet"),
        IMPUTE,
        1,
        ("'x'", "missing"),
    ),
    (
        "impute-fraction-for-int",
        write(data().with_columns(pl.col("count").cast(pl.Float64) + 0.5)),
        IMPUTE,
        1,
        ("'count'", "only whole numbers", "(200 values, e.g. 0.5)"),
    ),
    (
        "impute-inf",
        write(data().with_columns(pl.when(pl.col("id") == 5).then(float("-inf")).otherwise("x").alias("x"))),
        IMPUTE,
        1,
        ("'x'", "infinite", "first is at row 5 of", ".parquet", "replace +/-inf with null"),
    ),
    (
        "impute-time-zone",
        write(data().with_columns(pl.col("seen").dt.replace_time_zone("UTC"))),
        IMPUTE,
        1,
        ("'seen'", "time zones differ", "replace_time_zone(None)"),
    ),
    (
        "impute-count-column-taken",
        write(holed(data()).with_columns(ae_imputed=pl.lit(0, pl.Int32))),
        (*IMPUTE, "--count-filled"),
        1,
        ("'ae_imputed'", "already exists", "drop it"),
    ),
    (
        # the holes are what impute fills (their rates are not tested); values that moved are drift
        "impute-drift-fail",
        write(holed(data()).with_columns(pl.col("x") + 100.0)),
        (*IMPUTE, "--on-drift", "fail"),
        1,
        ("'x'", "outside the training range", "--on-drift warn"),
    ),
    # impute: the output cannot be written
    (
        "impute-output-is-input",
        good,
        ("impute", "in.parquet", "-m", "imputer", "-o", "./in.parquet", "--overwrite"),
        1,
        ("is an input of this command", "outside the input data"),
    ),
    (
        "impute-output-links-to-input",
        lambda d: (good(d), os.symlink("in.parquet", d / "out.parquet")),
        (*IMPUTE, "--overwrite"),
        1,
        ("'out.parquet' is an input",),
    ),
    (
        "impute-output-in-model",
        good,
        ("impute", "in.parquet", "-m", "imputer", "-o", "imputer/out.parquet"),
        1,
        ("is inside", "imputer", "an input of this command"),
    ),
    (
        "impute-output-dir-missing",
        good,
        ("impute", "in.parquet", "-m", "imputer", "-o", "no/such/out.parquet"),
        1,
        ("'no/such'", "does not exist", "mkdir -p no/such"),
    ),
    ("impute-output-exists", everything(good, foreign_output), IMPUTE, 1, ("'out.parquet' already exists",)),
    (
        "impute-overwrite-foreign-file",
        everything(good, foreign_output),
        (*IMPUTE, "--overwrite"),
        1,
        ("not replaced, even with --overwrite", "did not write this file"),
    ),
    (
        "impute-output-is-directory",
        lambda d: (good(d), (d / "out.parquet").mkdir(), (d / "out.parquet" / "keep.txt").write_text("mine")),
        (*IMPUTE, "--overwrite"),
        1,
        ("did not write this directory",),
    ),
    # impute: the model directory
    (
        "impute-no-model",
        good,
        ("impute", "in.parquet", "-m", "nowhere", "-o", "out.parquet"),
        1,
        ("'nowhere' is not a model directory", "--model DIR"),
    ),
    (
        "impute-manifest-not-an-object",
        lambda d: (good(d), (d / "imputer" / MANIFEST).write_text("[]")),
        IMPUTE,
        1,
        (MANIFEST, "is not an aefeatures manifest", "re-fit"),
    ),
    (
        "impute-manifest-cut",
        lambda d: (good(d), (d / "imputer" / MANIFEST).write_text('{"format": "aefe')),
        IMPUTE,
        1,
        (MANIFEST, "not valid JSON", "re-fit"),
    ),
    ("impute-weights-cut", everything(good, truncate_weights("imputer")), IMPUTE, 1, (WEIGHTS, "checksum")),
    ("impute-bad-batch-rows", good, (*IMPUTE, "--batch-rows", "0"), 2, ("--batch-rows", "at least 1")),
    # transform --expected
    (
        "expected-column-taken",
        write(data().with_columns(ae_expected__x=pl.lit(0.0))),
        EXPECTED,
        1,
        ("'ae_expected__x'", "already exists", "--prefix"),
    ),
    (
        "expected-error-column-taken",
        write(data().with_columns(ae_error__seen=pl.lit(0.0))),
        EXPECTED,
        1,
        ("'ae_error__seen'", "already exists"),
    ),
    (
        "expected-text-for-datetime",
        write(data().with_columns(pl.col("seen").dt.to_string())),
        EXPECTED,
        1,
        ("'seen'", "type"),
    ),
    ("expected-weights-cut", everything(good, truncate_weights("model")), EXPECTED, 1, (WEIGHTS, "checksum")),
    (
        "expected-output-is-input",
        good,
        ("transform", "in.parquet", "-m", "model", "-o", "in.parquet", "--expected", "--overwrite"),
        1,
        ("is an input of this command",),
    ),
    # sample
    ("sample-negative-rows", nothing, (*SAMPLE, "--rows", "-5"), 2, ("--rows", "greater than or equal to 0")),
    ("sample-fraction-rows", nothing, (*SAMPLE, "--rows", "2.5"), 2, ("--rows", "valid integer")),
    ("sample-text-rows", nothing, (*SAMPLE, "--rows", "1e3"), 2, ("--rows", "valid integer")),
    ("sample-negative-seed", nothing, (*SAMPLE, "--rows", "3", "--seed", "-1"), 2, ("--seed",)),
    ("sample-where-no-equals", nothing, (*SAMPLE, "--rows", "3", "--where", "segment"), 2, ("COLUMN=LEVEL",)),
    (
        "sample-where-unknown-level",
        nothing,
        (*SAMPLE, "--rows", "3", "--where", "segment=platinum"),
        1,
        ("'platinum' is not a level", "'bronze', 'gold', 'silver'"),
    ),
    (
        "sample-where-numeric-column",
        nothing,
        (*SAMPLE, "--rows", "3", "--where", "x=1"),
        1,
        ("'x' is not a categorical feature", "'segment'"),
    ),
    (
        "sample-imputation-model",
        nothing,
        ("sample", "-m", "imputer", "-o", "out.parquet", "--rows", "3"),
        1,
        ("cannot sample rows", "gaussian_start=false"),
    ),
    ("sample-output-exists", foreign_output, (*SAMPLE, "--rows", "3"), 1, ("'out.parquet' already exists",)),
    (
        "sample-output-in-model",
        nothing,
        ("sample", "-m", "model", "-o", "model/rows.parquet", "--rows", "3"),
        1,
        ("is inside", "an input of this command"),
    ),
    (
        "sample-output-slash",
        nothing,
        ("sample", "-m", "model", "-o", "rows/", "--rows", "3"),
        2,
        ("ends in '/'",),
    ),
    (
        "sample-edited-manifest",
        edit_manifest("model", lambda m: m.pop("generation")),
        (*SAMPLE, "--rows", "3"),
        1,
        (MANIFEST, "edited", "re-fit"),
    ),
    (
        "sample-forged-zero-weights",
        edit_manifest("model", zero_weights, reseal=True),
        (*SAMPLE, "--rows", "3"),
        1,
        ("'generation.density.weights'", "positive, finite total", "re-fit"),
    ),
    (
        "sample-compare-to-missing",
        nothing,
        (*SAMPLE, "--rows", "3", "--compare-to", "nope.parquet"),
        1,
        ("'nope.parquet'", "no Parquet data"),
    ),
    (
        "sample-compare-to-wrong-columns",
        write(data().drop("x"), "train.parquet"),
        (*SAMPLE, "--rows", "3", "--compare-to", "train.parquet"),
        1,
        ("'x'", "missing from the data"),
    ),
    (
        "sample-compare-to-missing-keeps-earlier-output",
        earlier_sample,
        (*SAMPLE, "--rows", "5", "--seed", "2", "--overwrite", "--compare-to", "nope.parquet"),
        1,
        ("'nope.parquet'",),
    ),
]


def test_the_matrix_spans_the_three_features() -> None:
    assert len(FAILING) >= 30 and len({case[0] for case in FAILING}) == len(FAILING)
    assert {case[2][0] for case in FAILING} == {"impute", "transform", "sample"}


@pytest.mark.parametrize(
    ("build", "argv", "code", "says"), [c[1:] for c in FAILING], ids=[c[0] for c in FAILING]
)
def test_bad_input_fails_clearly_and_writes_nothing(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    build: Callable[[Path], object],
    argv: tuple[str, ...],
    code: int,
    says: tuple[str, ...],
) -> None:
    build(workdir)
    capsys.readouterr()
    fails_cleanly(workdir, capsys, argv, code, *says)


def test_real_subprocess_exit_codes_and_no_traceback(workdir: Path) -> None:
    data().with_columns(pl.lit("n/a").alias("x")).write_parquet(workdir / "in.parquet")
    bad = run_cli(*IMPUTE, cwd=workdir)
    huge = run_cli(*SAMPLE, "--rows", str(10**12), "--json", cwd=workdir, timeout=120)  # refused, not begun
    assert bad.returncode == 1 and "'x'" in bad.stderr and "Hint:" in bad.stderr
    said = " ".join(huge.stderr.replace("│", " ").split())
    assert huge.returncode == 2 and f"{MAX_SAMPLE_ROWS:,}" in said and "Hint: e.g. --rows 1000" in said
    assert json.loads(huge.stdout)["exit_code"] == 2
    assert "Traceback" not in bad.stderr + huge.stderr
    assert not (workdir / "out.parquet").exists()


# --- odd but valid input just works --------------------------------------------------------------


def test_impute_zero_rows_gives_an_empty_table_of_the_same_schema(workdir: Path) -> None:
    frame = data().head(0)
    frame.write_parquet(workdir / "in.parquet")
    out = works((*IMPUTE, "--count-filled"))
    assert out.height == 0 and out.schema == pl.Schema({**frame.schema, "ae_imputed": pl.Int32})


def test_impute_fills_all_null_columns_nan_and_a_row_with_every_feature_missing(workdir: Path) -> None:
    frame = (
        data()
        .with_columns(
            pl.lit(None, pl.Float64).alias("y"),  # every cell of a column
            pl.lit(None).alias("income"),  # every cell, and of dtype Null: it takes the model's Float64
            pl.when(pl.col("id") % 5 == 0)
            .then(float("nan"))
            .otherwise(pl.col("x"))
            .alias("x"),  # NaN is missing
            *(
                pl.when(pl.col("id") == 3).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("count", "segment", "active", "seen")
            ),
        )
        .with_columns(pl.when(pl.col("id") == 3).then(None).otherwise(pl.col("x")).alias("x"))
    )
    frame.write_parquet(workdir / "in.parquet")
    out = works((*IMPUTE, "--count-filled"))
    assert out.schema == pl.Schema({**frame.schema, "income": pl.Float64, "ae_imputed": pl.Int32})
    assert out.select(FEATURES).null_count().sum_horizontal().item() == 0
    assert not out["x"].is_nan().any()
    assert out.filter(pl.col("id") == 3)["ae_imputed"].item() == len(FEATURES)
    present = frame["x"].is_not_nan() & frame["x"].is_not_null()
    assert out["x"].filter(present).equals(frame["x"].filter(present))
    assert set(out["segment"].unique()) <= {"bronze", "gold", "silver"}


def test_impute_keeps_unseen_levels_far_dates_and_extra_columns_as_they_are(workdir: Path) -> None:
    frame = holed(data()).with_columns(
        pl.when(pl.col("id") % 2 == 0).then(pl.lit("platinum")).otherwise(pl.col("segment")).alias("segment"),
        pl.when(pl.col("id") == 1).then(datetime(9999, 12, 31)).when(pl.col("id") == 2).then(datetime(1, 1, 1))
        .otherwise(pl.col("seen")).alias("seen"),
        note=pl.lit("kept"),
        ae_imputed=pl.lit(-1, pl.Int32),  # only --count-filled writes it: without, the input's passes
    )  # fmt: skip
    frame.write_parquet(workdir / "in.parquet")
    out = works(IMPUTE)
    assert out.schema == frame.schema and out.select(FEATURES).null_count().sum_horizontal().item() == 0
    for name in frame.columns:
        present = frame[name].is_not_null()
        assert out[name].filter(present).equals(frame[name].filter(present)), name
    filled = frame["segment"].is_null()
    assert set(out["segment"].filter(filled).unique()) <= {"bronze", "gold", "silver"}


def test_impute_keeps_converted_columns_in_their_own_dtype_and_present_text_as_written(
    workdir: Path, imputer: aef.AutoencoderModel
) -> None:
    """Numbers written as text, an Int32 where fit saw Int64, a Date where it saw a Datetime: the
    schema converts them to score, but the output keeps the input's dtype and every present cell
    (``1.50`` stays ``1.50``, not ``1.5``); only the holes are written, in the input's dtype."""
    base = data().head(6)
    frame = base.with_columns(
        pl.Series("x", ["1.50", "2", "1e3", None, "0.1", "-0"]),
        pl.Series("count", [1, None, 3, 4, None, 6], pl.Int32),
        pl.Series("seen", [None, *base["seen"].dt.date().to_list()[1:]], pl.Date),
    )
    frame.write_parquet(workdir / "in.parquet")
    streamed = works(IMPUTE)
    for out in (
        streamed,
        imputer.impute(frame),
        imputer.impute(frame.lazy()).collect(),
        pl.from_arrow(imputer.impute(frame.to_arrow())),
    ):
        assert isinstance(out, pl.DataFrame) and out.schema == frame.schema
        assert out["x"].to_list()[:3] == ["1.50", "2", "1e3"] and out["x"].to_list()[4:] == ["0.1", "-0"]
        assert out["x"][3] is not None and np.isfinite(float(out["x"][3]))
        assert out["count"].null_count() == 0 and out["count"].filter(frame["count"].is_not_null()).equals(
            frame["count"].drop_nulls()
        )
        assert out["seen"].null_count() == 0 and out["seen"][1:].equals(frame["seen"][1:])
    assert imputer.impute(frame.lazy()).collect_schema() == frame.schema


def test_a_fill_the_input_dtype_cannot_hold_is_refused_naming_the_column() -> None:
    frame = pl.DataFrame({"c": pl.Series(["a", None], dtype=pl.Enum(["a", "b"]))})
    with pytest.raises(DataError, match="column 'c' is Enum.*cannot hold the model's fill 'z'") as raised:
        in_input_dtypes(frame, pl.DataFrame({"c": ["a", None]}), pl.DataFrame({"c": ["a", "z"]}))
    assert "cast the column to the model's type first" in raised.value.hint
    kept = in_input_dtypes(frame, pl.DataFrame({"c": ["a", None]}), pl.DataFrame({"c": ["a", "b"]}))[0]
    assert kept.dtype == frame["c"].dtype and kept.to_list() == ["a", "b"]


def test_impute_streams_a_wide_row_group_and_a_directory_as_the_whole_table(
    workdir: Path, imputer: aef.AutoencoderModel
) -> None:
    frame = holed(make_mixed(2500, seed=5))
    frame.write_parquet(workdir / "in.parquet", row_group_size=2500)
    assert works((*IMPUTE, "--batch-rows", "700")).equals(imputer.impute(frame))
    (workdir / "parts").mkdir()
    frame.head(40).write_parquet(workdir / "parts" / "a.parquet")
    frame.tail(30).write_parquet(workdir / "parts" / "b.parquet")
    assert main(["impute", "parts", "-m", "imputer", "-o", "filled", "--quiet", "--on-drift", "ignore"]) == 0
    assert pl.read_parquet(workdir / "filled" / "b.parquet").equals(imputer.impute(frame.tail(30)))


def test_impute_api_refuses_a_taken_count_column_lazily_and_keeps_a_pandas_index_and_dtypes(
    imputer: aef.AutoencoderModel,
) -> None:
    frame = holed(data())
    with pytest.raises(DataError, match="'ae_imputed' already exists"):
        imputer.impute(frame.with_columns(ae_imputed=pl.lit(0)).lazy(), count_filled=True).collect()
    pandas = frame.to_pandas()
    pandas.index = [f"row{i}" for i in range(len(pandas))]
    pandas.index.name = "key"
    out = imputer.impute(pandas, count_filled=True)
    assert list(out.index) == list(pandas.index) and out.index.name == "key"
    assert (
        out[FEATURES].isna().sum().sum() == 0
        and out["ae_imputed"].sum() == frame.select(FEATURES).null_count().sum_horizontal().item()
    )
    assert out["count"].dtype == pandas["count"].dtype  # float64 with NaN holes stays float64
    assert (out["x"][pandas["x"].notna()] == pandas["x"][pandas["x"].notna()]).all()


def test_sklearn_imputer_keeps_a_pandas_index_and_the_columns_dtypes() -> None:
    pytest.importorskip("sklearn")
    from aefeatures.sklearn import AutoencoderImputer

    train = make_mixed(200).drop("id", "label")
    imputer = AutoencoderImputer(steps=30, threads=1).set_output(transform="pandas").fit(train.to_pandas())
    X = holed(data()).drop("id", "label").to_pandas()
    X.index = np.arange(len(X)) * 10 + 7
    out = imputer.transform(X)
    assert list(out.index) == list(X.index) and out.isna().sum().sum() == 0
    dtypes = {**dict(X.dtypes.astype(str)), "active": "bool"}  # booleans with None are object in pandas
    assert dict(out.dtypes.astype(str)) == dtypes  # count (float64: its holes are NaN) stays float64


def test_expected_values_of_missing_cells_zero_rows_and_converted_columns(
    workdir: Path, model: aef.AutoencoderModel
) -> None:
    frame = (
        data()
        .with_columns(pl.col("count").cast(pl.Int32))
        .with_columns(pl.when(pl.col("id") == 3).then(None).otherwise(pl.col(c)).alias(c) for c in FEATURES)
        .with_columns(pl.when(pl.col("id") == 4).then(float("nan")).otherwise(pl.col("x")).alias("x"))
    )
    frame.write_parquet(workdir / "in.parquet")
    out = works(EXPECTED)
    expected = [f"ae_expected__{c}" for c in FEATURES]
    assert out.select(frame.columns).equals(frame, null_equal=True)
    assert out.select(expected).null_count().sum_horizontal().item() == 0  # a missing cell's is its fill
    assert out["ae_expected__count"].dtype == pl.Int64 and not out["ae_expected__x"].is_nan().any()
    assert bool(out["ae_error"].is_finite().all())
    frame.head(0).write_parquet(workdir / "in.parquet")
    empty = works((*EXPECTED, "--overwrite"))
    assert empty.height == 0 and empty.schema == model.output_schema(frame.schema, expected=True)


def test_sample_zero_rows_writes_the_models_columns_and_any_whole_seed_works(
    workdir: Path, model: aef.AutoencoderModel
) -> None:
    empty = works((*SAMPLE, "--rows", "0"))
    assert empty.height == 0 and empty.schema == pl.Schema(model.feature_dtypes())
    (workdir / "out.parquet").unlink()
    rows = works((*SAMPLE, "--rows", "7", "--seed", str(2**70)))
    assert rows.height == 7 and rows.equals(model.sample(7, seed=2**70))
    assert model.sample(np.int64(3), seed=np.uint8(2)).equals(model.sample(3, seed=2))


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda m: m.sample(2.5), "rows=2.5 must be a whole number"),
        (lambda m: m.sample(True), "rows=True must be a whole number"),
        (lambda m: m.sample(-1), "rows=-1 must be a whole number from 0"),
        (
            lambda m: m.sample_batches(10**12),
            "rows=1,000,000,000,000 must be a whole number from 0 to 4,294,967,295",
        ),
        (lambda m: m.sample("10"), "rows='10' must be a whole number"),
        (lambda m: m.sample(3, seed=-1), "seed=-1 must be a whole number, 0 or more"),
        (lambda m: m.sample(3, seed=None), "seed=None must be a whole number"),
        (lambda m: m.sample(3, seed=1.5), "seed=1.5 must be a whole number"),
        (lambda m: m.sample(3, where="segment=gold"), "where='segment=gold' is a str; where takes a dict"),
        (lambda m: m.sample_batches(-1), "rows=-1"),  # checked when called, not when first read
        (lambda m: m.sample_batches(3, where={"segment": "platinum"}), "'platinum' is not a level"),
    ],
    ids=[
        "float",
        "bool",
        "negative",
        "huge",
        "text",
        "seed-negative",
        "seed-none",
        "seed-float",
        "where-text",
        "batches-rows",
        "batches-where",
    ],
)
def test_sample_api_checks_its_arguments_first(
    model: aef.AutoencoderModel, call: Callable[[aef.AutoencoderModel], object], says: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        call(model)
    assert says in str(raised.value) and raised.value.hint


def test_unicode_and_padded_names_without_missing_values_at_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model fitted on a table with no missing value, whose names are unicode or padded with
    spaces, still fills holes, explains cells and samples rows in the table's own types."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=300)
    train = pl.DataFrame(
        {
            "größe ü": z,
            " padded name ": 2 * z + 0.1 * rng.normal(size=300),
            "n": pl.Series(np.round(3 * z), dtype=pl.Int16),
            "día": [date(2024, 1, 1 + int(v) % 28) for v in range(300)],
            "flag": z > 0,
        }
    )
    model = aef.fit(train, steps=100, threads=1, seed=0)
    model.save(tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    holes = train.head(10).with_columns(
        pl.when(pl.int_range(10) % 2 == 0).then(None).otherwise(pl.col(c)).alias(c) for c in train.columns
    )
    holes.write_parquet(tmp_path / "in.parquet")
    filled = works(("impute", "in.parquet", "-m", "m", "-o", "out.parquet", "--count-filled"))
    assert filled.schema == pl.Schema({**train.schema, "ae_imputed": pl.Int32})
    assert filled.null_count().sum_horizontal().item() == 0 and filled["ae_imputed"].to_list() == [5, 0] * 5
    assert filled.equals(model.impute(holes, count_filled=True))
    out = model.transform(holes, expected=True)
    assert out["ae_expected__ padded name "].null_count() == 0 and out.schema["ae_expected__día"] == pl.Date
    assert model.sample(20, seed=1).schema == train.schema
