"""The bad-input matrix: every case fails with a message naming the column, the problem and the fix,
exits 1 (2 for usage errors), and writes or overwrites nothing.

CLI cases run ``aefeatures.cli.main`` in-process (the one place exceptions become exit codes);
a few run the real command in a subprocess. Each case builds its inputs in a fresh directory,
which is fingerprinted before and after the command: no file may appear, change or vanish.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file, save_file

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.fitting.checkpoint import Checkpoint
from aefeatures.io.sinks import file_sha256
from aefeatures.model.manifest import MANIFEST, MANIFEST_DIGEST, SCHEMA, WEIGHTS, sealed
from tests.helpers import fails_cleanly, make_mixed, run_cli, snapshot

GOOD = "good.parquet"
MODEL = "model"
NAMES = ("ae_error", "ae_error_pct", "ae_outlier", "ae_z0", "ae_z1")  # outputs of the test model


@dataclass(frozen=True)
class Case:
    """One bad input: how to build it, the command, what the message must say, the exit code."""

    name: str
    build: Callable[[Path], None]
    argv: tuple[str, ...]
    says: tuple[str, ...]
    code: int = 1


def data(rows: int = 200, seed: int = 3) -> pl.DataFrame:
    return make_mixed(rows, seed=seed)


def write(name: str, frame_of: Callable[[], pl.DataFrame]) -> Callable[[Path], None]:
    return lambda d: frame_of().write_parquet(d / name)


def set_row(column: str, value: object, row: int = 7) -> Callable[[], pl.DataFrame]:
    """The test data with one cell replaced (a string turns the whole column into strings)."""

    def build() -> pl.DataFrame:
        frame = data()
        values = frame[column].to_list()
        if isinstance(value, str):
            values = [None if v is None else str(v) for v in values]
        values[row] = value
        return frame.with_columns(
            pl.Series(column, values, dtype=pl.String if isinstance(value, str) else frame[column].dtype)
        )

    return build


def raw_bytes(name: str, content: Callable[[Path], bytes]) -> Callable[[Path], None]:
    return lambda d: (d / name).write_bytes(content(d))


def mixed_directory(d: Path) -> None:
    (d / "parts").mkdir()
    data().write_parquet(d / "parts" / "a.parquet")
    data().drop("y").write_parquet(d / "parts" / "b.parquet")


def duplicated_columns(d: Path) -> None:
    table = data().to_arrow()
    pq.write_table(
        pa.Table.from_arrays([*table.columns, table["x"]], names=[*table.column_names, "x"]),
        d / "dup.parquet",
    )


def edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        manifest = json.loads((d / MODEL / MANIFEST).read_text())
        change(manifest)
        (d / MODEL / MANIFEST).write_text(json.dumps(manifest, indent=1))

    return build


def resealed(change: Callable[[dict], None]) -> Callable[[Path], None]:
    """The model's manifest edited, then sealed again (the files' and its own checksums
    recomputed), as an attacker or a careless script can: the checksums alone do not catch it."""

    def build(d: Path) -> None:
        good(d)
        manifest = json.loads((d / MODEL / MANIFEST).read_text())
        change(manifest)
        manifest["files"] = {name: file_sha256(d / MODEL / name) for name in (WEIGHTS, SCHEMA)}
        (d / MODEL / MANIFEST).write_text(
            json.dumps(sealed({k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}))
        )

    return build


def column_set(name: str, **change: object) -> Callable[[dict], None]:
    """Set fields of the manifest's column ``name``."""

    def apply(manifest: dict) -> None:
        next(c for c in manifest["preprocessing"]["columns"] if c["name"] == name).update(change)

    return apply


def huge_weights(manifest: dict) -> None:
    """Every weight 3e38: finite, so the file passes, but the network's outputs overflow."""
    path = Path(MODEL) / WEIGHTS  # the case runs in its own directory
    save_file({k: torch.full_like(v, 3e38) for k, v in load_file(str(path)).items()}, str(path))


def flip_last_byte(d: Path) -> None:
    weights = bytearray((d / MODEL / WEIGHTS).read_bytes())
    weights[-1] ^= 0x01
    (d / MODEL / WEIGHTS).write_bytes(bytes(weights))


def other_fit_checkpoint(d: Path) -> None:
    aef.fit(
        data(),
        exclude=["id", "label"],
        epochs=1,
        seed=5,
        threads=1,
        checkpoint=Checkpoint(d / "m.checkpoint", every_seconds=0),
    )


def edited_checkpoint(**change: object) -> Callable[[Path], None]:
    """A checkpoint of the fit ``fit(GOOD, "--resume", "--seed", "5")`` runs, its state.json edited."""

    def build(d: Path) -> None:
        good(d)
        store = Checkpoint(d / "m.checkpoint", every_seconds=0)
        aef.fit(data(), exclude=["id", "label"], epochs=2, seed=5, threads=1, checkpoint=store)
        state = json.loads((store.path / "state.json").read_text())
        (store.path / "state.json").write_text(json.dumps(state | change))

    return build


def nothing(d: Path) -> None:
    return None


def transform(source: str, *extra: str) -> tuple[str, ...]:
    return ("transform", source, "--model", MODEL, "--output", "out.parquet", *extra)


def fit(source: str, *extra: str) -> tuple[str, ...]:
    return ("fit", source, "--model", "m", "--exclude", "id,label", "--epochs", "2", "--threads", "1", *extra)


def validate(source: str, *extra: str) -> tuple[str, ...]:
    return ("validate", source, "--model", MODEL, *extra)


def truncated(d: Path) -> bytes:
    data().write_parquet(d / "whole.parquet")
    content = (d / "whole.parquet").read_bytes()
    (d / "whole.parquet").unlink()
    return content[: len(content) // 2]


def late_bad_row(d: Path) -> None:
    frame = make_mixed(3000, seed=4)
    x = frame["x"].to_list()
    x[2800] = float("inf")
    frame.with_columns(pl.Series("x", x)).write_parquet(d / "late.parquet", row_group_size=500)


def existing_output(d: Path) -> None:
    data().write_parquet(d / GOOD)
    (d / "out.parquet").write_bytes(b"yesterday's complete output")


def existing_model(d: Path) -> None:
    data().write_parquet(d / GOOD)
    shutil.copytree(d / MODEL, d / "m")


def drop(column: str) -> Callable[[], pl.DataFrame]:
    return lambda: data().drop(column)


good = write(GOOD, data)
CASES = [
    # transform: the data does not match the model
    Case(
        "T-missing-column",
        write("in.parquet", drop("y")),
        transform("in.parquet"),
        ("'y'", "missing", "Hint:"),
    ),
    Case(
        "T-renamed-column",
        write("in.parquet", lambda: data().rename({"x": "X"})),
        transform("in.parquet"),
        ("'x'", "missing", "add the missing"),
    ),
    Case(
        "T-duplicated-column",
        duplicated_columns,
        transform("dup.parquet"),
        ("'x'", "appears more than once", "Hint:"),
    ),
    Case(
        "T-wrong-dtype",
        write("in.parquet", lambda: data().with_columns(pl.lit("n/a").alias("x"))),
        transform("in.parquet"),
        ("'x'", "cannot be converted", "n/a"),
    ),
    Case(
        "T-string-in-numeric",
        write("in.parquet", set_row("y", "12,5")),
        transform("in.parquet"),
        ("'y'", "cannot be converted", "12,5", "Hint:"),
    ),
    Case(
        "T-string-in-datetime",
        write("in.parquet", lambda: data().with_columns(pl.col("seen").dt.to_string())),
        transform("in.parquet"),
        ("'seen'", "type"),
    ),
    Case(
        "T-plus-inf",
        write("in.parquet", set_row("x", float("inf"))),
        transform("in.parquet"),
        ("'x'", "infinite", "replace +/-inf"),
    ),
    Case(
        "T-minus-inf",
        write("in.parquet", set_row("income", float("-inf"))),
        transform("in.parquet"),
        ("'income'", "infinite", "--exclude income"),
    ),
    Case(
        "T-bad-row-in-late-batch",
        late_bad_row,
        transform("late.parquet", "--batch-rows", "500"),
        ("'x'", "infinite", "row 2800 of 'late.parquet'"),
    ),
    Case(
        "T-empty-file",
        raw_bytes("empty.parquet", lambda d: b""),
        transform("empty.parquet"),
        ("empty.parquet", "cannot read", "complete Parquet"),
    ),
    Case(
        "T-truncated-parquet",
        raw_bytes("cut.parquet", truncated),
        transform("cut.parquet"),
        ("cut.parquet", "cannot read"),
    ),
    Case(
        "T-corrupt-parquet",
        raw_bytes("junk.parquet", lambda d: b"PAR1" + bytes(range(256)) * 8),
        transform("junk.parquet"),
        ("junk.parquet", "cannot read"),
    ),
    Case(
        # The files are compared before any row is read: the odd file and its column are named.
        "T-mixed-schema-directory",
        mixed_directory,
        transform("parts"),
        ("'parts/b.parquet'", "column 'y' is missing", "share one schema"),
    ),
    Case(
        "F-symlink-loop",
        lambda d: (
            (d / "a").symlink_to("b"),
            (d / "b").symlink_to("a"),
            (d / "loop.parquet").symlink_to("a"),
        ),
        fit("loop.parquet"),
        ("'loop.parquet'", "symbolic link to nothing", "loop"),
    ),
    Case(
        "F-fifo",
        lambda d: os.mkfifo(d / "pipe.parquet"),
        fit("pipe.parquet"),
        ("'pipe.parquet'", "not a regular file", "write the data to a file first"),
    ),
    Case("T-no-such-input", nothing, transform("nope.parquet"), ("nope.parquet", "no Parquet data", "Hint:")),
    Case(
        "T-feature-name-collision",
        write("in.parquet", lambda: data().with_columns(ae_error=pl.lit(0.0))),
        transform("in.parquet"),
        ("'ae_error'", "would be overwritten", "--prefix"),
    ),
    Case(
        # five clashes: the first named, three listed and the rest counted
        "T-five-name-collisions",
        write("in.parquet", lambda: data().with_columns(pl.lit(0.0).alias(c) for c in NAMES)),
        transform("in.parquet"),
        ("'ae_error' already exists", "(and 'ae_error_pct', 'ae_outlier', 'ae_z0' and 1 more)."),
    ),
    Case(
        "T-csv-output",
        good,
        ("transform", GOOD, "--model", MODEL, "--output", "out.csv"),
        (
            "'out.csv' is named like a CSV file",
            "writes Parquet",
            "name it 'out.parquet'",
            "write_csv('out.csv')",
        ),
    ),
    Case(
        "T-hidden-output-name",
        good,
        ("transform", GOOD, "--model", MODEL, "--output", "_day1.parquet"),
        ("'_day1.parquet' would not be read back", "skipped", "name it 'day1.parquet'"),
    ),
    Case(
        "T-upper-case-suffix-output",
        good,
        ("transform", GOOD, "--model", MODEL, "--output", "day2.PARQUET"),
        ("'day2.PARQUET' would not be read back", "must end in '.parquet'", "name it 'day2.parquet'"),
    ),
    Case(
        "T-no-such-model",
        nothing,
        ("transform", GOOD, "--model", "nowhere", "--output", "o.parquet"),
        ("'nowhere' is not a model directory: it does not exist", "aefeatures fit"),
    ),
    # transform: the model directory is damaged
    Case(
        "T-tampered-weights",
        lambda d: (good(d), flip_last_byte(d)),
        transform(GOOD),
        (WEIGHTS, "checksum", "re-fit"),
    ),
    Case(
        "T-edited-manifest",
        lambda d: (good(d), edit_manifest(lambda m: m["calibration"].update(threshold=1e9))(d)),
        transform(GOOD),
        (MANIFEST, "edited", "re-fit"),
    ),
    # transform: the model directory is edited and resealed (checksums recomputed)
    *(
        Case(f"T-resealed-{name}", resealed(change), transform(GOOD), (*says, "re-fit"))
        for name, change, says in [
            (
                "zero-baselines",
                lambda m: m["preprocessing"].update(baselines=[0.0] * len(m["preprocessing"]["baselines"])),
                ("'preprocessing.baselines[0]' is 0.0", "at least 0.0005"),
            ),
            ("tiny-scale", column_set("x", scale=1e-320), ("columns[0].scale' is 1e-320", "at least 1e-12")),
            (
                "code-as-dtype",
                column_set("x", dtype="__import__('os').system('id')"),
                ("columns[0].dtype'", "column 'x' is not a polars data type"),
            ),
            (
                "unknown-time-zone",
                column_set("seen", dtype="Datetime(time_unit='us', time_zone='Mars/Olympus')"),
                ("column 'seen'", "unknown time zone 'Mars/Olympus'"),
            ),
            ("other-dtype", column_set("x", dtype="Int8"), ("'Int8'", "declares Float64 for column 'x'")),
            (
                "duplicate-levels",
                column_set("segment", levels=["bronze", "bronze", "silver"]),
                ("levels' is 3 values", "'bronze' is there twice"),
            ),
            (
                "noise-text",
                lambda m: m["generation"]["noise"].__setitem__(0, "NaN"),
                ("'generation.noise[0]' is 'NaN'",),
            ),
            (
                "segment-not-a-feature",
                lambda m: m["config"].update(segment_by="id"),
                ("'config.segment_by' is 'id'", "one of the feature columns"),
            ),
            ("huge-weights", huge_weights, ("non-finite values for", "damaged")),
        ]
    ),
    Case(
        "T-missing-weights",
        lambda d: (good(d), (d / MODEL / WEIGHTS).unlink()),
        transform(GOOD),
        (WEIGHTS, "missing", "copy the whole"),
    ),
    Case(
        "T-edited-schema",
        lambda d: (good(d), (d / MODEL / SCHEMA).write_text("columns: {}\n")),
        transform(GOOD),
        (SCHEMA, "checksum"),
    ),
    Case(
        "T-future-format",
        lambda d: (good(d), edit_manifest(lambda m: m.update(format_version=99))(d)),
        transform(GOOD),
        ("format version 99", "upgrade aefeatures"),
    ),
    Case(
        "T-manifest-path-escape",
        lambda d: (good(d), edit_manifest(lambda m: m["files"].update({"../../outside": "0" * 64}))(d)),
        transform(GOOD),
        ("unexpected files", "re-fit"),
    ),
    Case(
        "T-not-a-model",
        good,
        ("transform", GOOD, "--model", ".", "--output", "out.parquet"),
        ("not a model directory", "aefeatures fit"),
    ),
    # transform: the output cannot be written
    Case(
        "T-output-dir-missing",
        good,
        ("transform", GOOD, "--model", MODEL, "--output", "no/such/out.parquet"),
        ("'no/such'", "does not exist", "mkdir -p"),
    ),
    Case(
        "T-output-unwritable",
        good,
        ("transform", GOOD, "--model", MODEL, "--output", "/proc/aefeatures-out.parquet"),
        ("/proc", "writ"),
    ),
    Case(
        "T-output-exists", existing_output, transform(GOOD), ("'out.parquet' already exists", "--overwrite")
    ),
    Case("T-usage-no-output", good, ("transform", GOOD, "--model", MODEL), ("--output",), 2),
    Case("T-usage-bad-on-drift", good, transform(GOOD, "--on-drift", "maybe"), ("maybe", "--on-drift"), 2),
    # fit
    Case(
        "F-empty-file",
        raw_bytes("empty.parquet", lambda d: b""),
        fit("empty.parquet"),
        ("empty.parquet", "cannot read"),
    ),
    Case(
        "F-zero-rows",
        write("in.parquet", lambda: data().head(0)),
        fit("in.parquet"),
        ("0 row(s)", "at least 2"),
    ),
    Case(
        "F-one-row",
        write("in.parquet", lambda: data().head(1)),
        fit("in.parquet"),
        ("1 row(s)", "at least 2"),
    ),
    Case(
        "F-stream-sample-too-small",
        good,
        fit(GOOD, "--stream", "--sample", "2"),
        ("--sample 2", "too small for a streamed fit", "fewer than 20 rows", "--sample 20"),
    ),
    Case(
        "F-all-null-column",
        write("in.parquet", lambda: data().with_columns(pl.lit(None, pl.Float64).alias("y"))),
        fit("in.parquet"),
        ("'y'", "no values", "--exclude y"),
    ),
    Case(
        "F-all-nan-column",
        write("in.parquet", lambda: data().with_columns(pl.lit(float("nan")).alias("x"))),
        fit("in.parquet"),
        ("'x'", "no values", "--exclude x"),
    ),
    Case(
        "F-inf",
        write("in.parquet", set_row("x", float("inf"))),
        fit("in.parquet"),
        ("'x'", "infinite", "Hint:"),
    ),
    Case(
        "F-unknown-column",
        good,
        fit(GOOD, "--columns", "nope"),
        ("'nope' (from --columns)", "not in the data", "the data has columns"),
    ),
    Case(
        "F-exclude-typo",
        good,
        ("fit", GOOD, "--model", "m", "--exclude", "id,lable", "--epochs", "2", "--threads", "1"),
        ("'lable' (from --exclude)", "did you mean 'label'?", "data has columns"),
    ),
    Case(
        "F-unsupported-column",
        write(
            "in.parquet",
            lambda: data().with_columns(pl.col("x").cast(pl.String).str.split(".").alias("parts")),
        ),
        fit("in.parquet", "--columns", "parts"),
        ("'parts'", "cannot be a feature", "numeric, boolean"),
    ),
    Case(
        "F-nothing-left",
        good,
        fit(GOOD, "--columns", "x", "--exclude", "x"),
        ("no feature columns", "--exclude"),
    ),
    Case("F-bad-kind", good, fit(GOOD, "--kind", "nope"), ("kind='nope'", "undercomplete", "--kind")),
    Case("F-bad-epochs", good, fit(GOOD, "--epochs", "0"), ("epochs=0", "1 to")),
    Case("F-bad-hidden", good, fit(GOOD, "--hidden", "64,wide"), ("64,wide", "--hidden"), 2),
    Case(
        "F-model-exists",
        existing_model,
        ("fit", GOOD, "--model", "m", "--epochs", "1"),
        ("'m' already exists", "--overwrite"),
    ),
    Case(
        "F-model-parent-missing",
        good,
        ("fit", GOOD, "--model", "no/such/m"),
        ("'no/such'", "does not exist", "mkdir -p"),
    ),
    Case(
        "F-no-schema-file", good, fit(GOOD, "--schema", "schemas/none.yaml"), ("none.yaml", "does not exist")
    ),
    Case(
        "F-mixed-schema-directory",
        mixed_directory,
        fit("parts"),
        ("b.parquet", "column 'y' is missing", "one schema"),
    ),
    Case(
        "F-resume-other-fit",
        lambda d: (good(d), other_fit_checkpoint(d)),
        fit(GOOD, "--resume", "--seed", "6"),
        ("belongs to another fit", "seed=5 then, 6 now", "delete"),
    ),
    *(
        Case(f"F-resume-{name}", edited_checkpoint(**change), fit(GOOD, "--resume", "--seed", "5"), says)
        for name, change, says in [
            ("epoch-huge", {"epoch": 10**12}, ("'epoch' is 1000000000000", "from 0 to 2", "delete")),
            ("epoch-text", {"epoch": "8"}, ("'epoch' is '8'", "whole number")),
            ("epoch-negative", {"epoch": -5}, ("'epoch' is -5", "whole number")),
            ("best-loss-nan", {"best_loss": float("nan")}, ("'best_loss' is nan", "finite")),
            ("waited-negative", {"waited": -1}, ("'waited' is -1",)),
            ("epochs-text", {"epochs": "many"}, ("'epochs' is str", "list")),
            ("elapsed-infinite", {"elapsed": float("inf")}, ("'elapsed' is inf",)),
        ]
    ),
    # validate
    Case(
        "V-missing-column",
        write("in.parquet", drop("segment")),
        validate("in.parquet"),
        ("'segment'", "missing"),
    ),
    Case(
        "V-wrong-dtype",
        write("in.parquet", lambda: data().with_columns(pl.lit("yes").alias("active"))),
        validate("in.parquet"),
        ("'active'", "type"),
    ),
    Case(
        "V-text-for-count",
        write("in.parquet", set_row("count", "many")),
        validate("in.parquet"),
        ("'count'", "many"),
    ),
    Case(
        "V-corrupt",
        raw_bytes("junk.parquet", lambda d: b"not parquet at all" * 10),
        validate("junk.parquet"),
        ("junk.parquet", "cannot read"),
    ),
    Case("V-tampered-model", lambda d: (good(d), flip_last_byte(d)), validate(GOOD), ("checksum",)),
    Case(
        "V-no-schema-file", good, ("validate", GOOD, "--schema", "none.yaml"), ("none.yaml", "does not exist")
    ),
    Case(
        "V-usage-both",
        good,
        validate(GOOD, "--schema", "s.yaml"),
        ("exactly one of --model DIR or --schema FILE",),
        2,
    ),
    Case("V-usage-neither", good, ("validate", GOOD), ("exactly one of",), 2),
]


@pytest.fixture
def case_dir(tmp_path: Path, fitted_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(fitted_model_dir, tmp_path / MODEL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_matrix_is_large_and_spans_every_command() -> None:
    assert len(CASES) + len(API_CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)
    assert {case.argv[0] for case in CASES} == {"fit", "transform", "validate"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_fails_clearly_and_writes_nothing(
    case: Case, case_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case.build(case_dir)
    fails_cleanly(case_dir, capsys, case.argv, case.code, *case.says)


def pandas_with_duplicate_x() -> object:
    frame = data().to_pandas()
    frame.insert(1, "x_copy", frame["x"])
    return frame.rename(columns={"x_copy": "x"})


def arrow_with_duplicate_x() -> pa.Table:
    table = data().to_arrow()
    return pa.Table.from_arrays([*table.columns, table["x"]], names=[*table.column_names, "x"])


API_CASES: list[tuple[str, Callable[[aef.AutoencoderModel, Path], object], type[Exception], str]] = [
    (
        "fit-unknown-parameter",
        lambda m, d: aef.fit(data(), epoch=3),
        aef.ConfigError,
        "unknown fit parameter.*epoch",
    ),
    ("fit-not-a-table", lambda m, d: aef.fit(42), aef.DataError, "cannot use data of type int"),
    (
        "fit-bad-latent",
        lambda m, d: aef.fit(data(), latent_dim=0),
        aef.ConfigError,
        "latent_dim=0 is out of range",
    ),
    (
        "fit-resume-without-checkpoint",
        lambda m, d: aef.fit(data(), resume=True, epochs=1),
        aef.ConfigError,
        "needs a checkpoint",
    ),
    (
        "transform-missing-column",
        lambda m, d: m.transform(data().drop("x")),
        aef.SchemaValidationError,
        "'x': missing from the data",
    ),
    (
        "transform-lazy-missing-column",
        lambda m, d: m.transform(data().drop("x").lazy()),
        aef.SchemaValidationError,
        "'x': missing from the data",
    ),
    (
        "transform-pandas-duplicate",
        lambda m, d: m.transform(pandas_with_duplicate_x()),
        aef.DataError,
        "'x' appears more than once",
    ),
    (
        "transform-arrow-duplicate",
        lambda m, d: m.transform(arrow_with_duplicate_x()),
        aef.DataError,
        "'x' appears more than once",
    ),
    (
        "transform-inf",
        lambda m, d: m.transform(set_row("y", float("inf"))()),
        aef.DataError,
        "'y' has 1 infinite",
    ),
    (
        "transform-not-a-table",
        lambda m, d: m.transform([1, 2, 3]),
        aef.DataError,
        "cannot use data of type list",
    ),
    ("save-over-existing", lambda m, d: m.save(d / MODEL), aef.OutputExistsError, "already exists"),
    ("load-tampered", lambda m, d: (flip_last_byte(d), aef.load(d / MODEL)), aef.ModelFileError, "checksum"),
]


@pytest.mark.parametrize("name, call, error, match", API_CASES, ids=[c[0] for c in API_CASES])
def test_python_api_raises_typed_clear_errors(
    name: str,
    call: Callable[[aef.AutoencoderModel, Path], object],
    error: type[Exception],
    match: str,
    case_dir: Path,
) -> None:
    model = aef.load(case_dir / MODEL)
    before = snapshot(case_dir)
    with pytest.raises(error, match=match) as raised:
        call(model, case_dir)
    assert isinstance(raised.value, aef.AEFeaturesError) and raised.value.hint
    after = snapshot(case_dir)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed <= {f"{MODEL}/{WEIGHTS}"}  # only the case's own tampering


def test_real_subprocess_exit_codes_and_no_traceback(tmp_path: Path, fitted_model_dir: Path) -> None:
    data().drop("x").write_parquet(tmp_path / "in.parquet")
    failed = run_cli(
        "transform", "in.parquet", "--model", fitted_model_dir, "--output", "out.parquet", cwd=tmp_path
    )
    usage = run_cli("transform", "in.parquet", "--model", fitted_model_dir, cwd=tmp_path)
    assert (
        failed.returncode == 1
        and "column 'x': missing from the data" in failed.stderr
        and "Hint:" in failed.stderr
    )
    assert usage.returncode == 2 and "--output" in usage.stderr
    assert "Traceback" not in failed.stderr + usage.stderr
    assert failed.stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


WORKING = [
    ("extra-column-kept", lambda: data().with_columns(note=pl.lit("extra"))),
    ("one-row", lambda: data().head(1)),
    ("zero-rows", lambda: data().head(0)),
    ("unseen-category", lambda: data().with_columns(pl.lit("platinum").alias("segment"))),
    ("huge-values", lambda: set_row("x", 1e308)()),
    ("numbers-as-strings", lambda: data().with_columns(pl.col("y").cast(pl.String))),
    # columns without nulls at fit accept them: the cell is filled for scoring, reported as drift
    ("nan-where-fit-had-none", lambda: set_row("x", float("nan"))()),
    ("null-category-where-fit-had-none", lambda: set_row("segment", None)()),
]


@pytest.mark.parametrize("name, frame_of", WORKING, ids=[w[0] for w in WORKING])
def test_awkward_but_valid_inputs_transform(
    name: str, frame_of: Callable[[], pl.DataFrame], case_dir: Path
) -> None:
    frame = frame_of()
    frame.write_parquet(case_dir / "in.parquet")
    assert main(["transform", "in.parquet", "--model", MODEL, "--output", "out.parquet", "--quiet"]) == 0
    out = pl.read_parquet(case_dir / "out.parquet")
    assert out.height == frame.height and out.columns[: frame.width] == frame.columns
    assert out.select(frame.columns).equals(frame)
    assert out["ae_error"].dtype == pl.Float64 and out["ae_outlier"].dtype == pl.Boolean
    assert bool(out["ae_error"].is_finite().all()) and bool(out["ae_error_pct"].is_between(0, 100).all())
    if name == "huge-values":
        assert out["ae_outlier"][7] and out["ae_error_pct"][7] == 100.0


def awkward_training_frame() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "größe ü": rng.normal(size=6),
            " padded name ": rng.normal(size=6),
            "constant": [1.0] * 6,
            "one level": ["only"] * 6,
            "flag": [True, False] * 3,
        }
    )


def test_awkward_but_valid_training_data_fits(tmp_path: Path) -> None:
    """Unicode and whitespace names, a constant column, one category, fewer rows than a batch."""
    frame = awkward_training_frame()
    model = aef.fit(frame, epochs=3, threads=1)
    model.save(tmp_path / "m")
    out = aef.load(tmp_path / "m").transform(frame)
    assert out.columns[: frame.width] == frame.columns and out.height == 6
    assert model.columns == frame.columns
    assert bool(out["ae_error"].is_finite().all())
