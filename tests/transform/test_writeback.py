"""Writing values back: transform --expected, impute and sample, end to end on real files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.errors import ConfigError
from aefeatures.transform.generated import sample_path
from aefeatures.transform.streaming import impute_path
from tests.helpers import run_cli


def related(rows: int, seed: int) -> pl.DataFrame:
    """A mixed table with strong relations: every column follows one driver ``x``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pl.DataFrame(
        {
            "x": x,
            "y": 2.0 * x + 0.1 * rng.normal(size=rows),
            "n": np.round(3 * x + 10 + 0.3 * rng.normal(size=rows)).astype(np.int64),
            "side": np.where(x > 0, "high", "low"),
            "flag": x + 0.2 * rng.normal(size=rows) > 0.5,
            "note": pl.Series(
                [None if v > 1.2 else float(v) for v in rng.normal(size=rows)], dtype=pl.Float64
            ),
        }
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("writeback")
    related(1500, seed=0).write_parquet(root / "train.parquet")
    fit = run_cli(
        "fit", root / "train.parquet", "--model", root / "model", "--goal", "imputation",
        "--set", "steps=3000", "--threads", "1", "--quiet",
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    return root


@pytest.fixture(scope="module")
def model(folder: Path) -> aef.AutoencoderModel:
    return aef.load(folder / "model")


@pytest.fixture(scope="module")
def sampler(folder: Path) -> aef.AutoencoderModel:
    """A model of the default goal (outliers). It explains outliers with expected values (its swap
    noise and clipped inputs teach it not to trust an odd present value; the imputation goal's
    network corrects a Gaussian fill of the row it is given, so it trusts present cells) and
    it samples rows (the imputation goal's model cannot: it has no decoder of codes alone)."""
    fit = run_cli(
        "fit", folder / "train.parquet", "--model", folder / "outliers", "--set", "steps=1500",
        "--threads", "1", "--quiet",
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    return aef.load(folder / "outliers")


def holed(truth: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return truth.with_columns(
        pl.when(pl.Series(rng.random(truth.height) < share)).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("x", "y", "n", "side", "flag")
    )


def test_impute_command_fills_close_to_the_truth_and_keeps_present_cells(folder: Path) -> None:
    truth = related(600, seed=1)
    holes = holed(truth, 0.2, seed=2)
    holes.write_parquet(folder / "holes.parquet")
    done = run_cli(
        "impute", folder / "holes.parquet", "--model", folder / "model", "--output", folder / "filled.parquet",
        "--count-filled", "--json", "--on-drift", "fail",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # the holes are what impute fills: no drift for them
    summary = json.loads(done.stdout)
    lines = {line["column"]: line for line in summary["drift"]["lines"]}
    assert lines["x"]["missing_rate"] > 0.15 and not lines["x"]["drifted"]  # reported, not tested
    scored = run_cli(
        "transform", folder / "holes.parquet", "--model", folder / "model",
        "--output", folder / "scored.parquet", "--on-drift", "fail",
    )  # fmt: skip
    assert scored.returncode == 1 and "missing (training: 0.0%)" in scored.stderr  # transform tests them
    filled = pl.read_parquet(folder / "filled.parquet")
    assert filled.columns == [*holes.columns, "ae_imputed"] and filled.height == holes.height
    assert filled.drop("ae_imputed").schema == holes.schema
    assert filled.select("x", "y", "n", "side", "flag").null_count().sum_horizontal().item() == 0
    assert filled["note"].null_count() == 0  # the table's own missing values are filled too...
    missing = holes.select(pl.all().is_null())
    assert summary["filled"] == int(missing.sum().sum_horizontal().item()) == int(filled["ae_imputed"].sum())
    for name in holes.columns:  # ...and every present cell is as it was
        kept = ~missing[name]
        assert filled[name].filter(kept).equals(holes[name].filter(kept)), name
    for name in ("x", "y", "n"):
        hole = missing[name]
        error = (filled[name].filter(hole) - truth[name].filter(hole)).cast(pl.Float64)
        assert float((error**2).mean() ** 0.5) < 0.5 * truth[name].std(), name  # the mean would give 1.0
    for name in ("side", "flag"):
        hole = missing[name]
        assert (filled[name].filter(hole) == truth[name].filter(hole)).mean() > 0.75, name


def test_impute_refuses_to_overwrite_and_leaves_no_partial_output(folder: Path) -> None:
    (folder / "taken.parquet").write_bytes(b"yesterday")
    again = run_cli(
        "impute", folder / "train.parquet", "--model", folder / "model", "--output", folder / "taken.parquet"
    )
    assert again.returncode == 1 and "taken.parquet" in again.stderr
    assert (folder / "taken.parquet").read_bytes() == b"yesterday"
    bad = related(50, seed=3).with_columns(pl.lit("oops").alias("x"))
    bad.write_parquet(folder / "bad.parquet")
    failed = run_cli(
        "impute", folder / "bad.parquet", "--model", folder / "model", "--output", folder / "bad_out.parquet"
    )
    assert failed.returncode == 1 and "'x'" in failed.stderr and "Traceback" not in failed.stderr
    assert not (folder / "bad_out.parquet").exists()


def test_streamed_impute_equals_the_in_memory_one(folder: Path, model: aef.AutoencoderModel) -> None:
    holes = holed(related(700, seed=4), 0.3, seed=5)
    holes.write_parquet(folder / "stream.parquet", row_group_size=100)
    impute_path(model, folder / "stream.parquet", folder / "stream_out.parquet", batch_rows=128)
    assert pl.read_parquet(folder / "stream_out.parquet").equals(model.impute(holes))
    lazy = model.impute(holes.lazy())
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect().equals(model.impute(holes))


def test_expected_values_come_in_the_columns_own_types(folder: Path, sampler: aef.AutoencoderModel) -> None:
    model = sampler
    rows = related(200, seed=6)
    odd = rows.with_columns(pl.when(pl.int_range(200) == 7).then(40.0).otherwise(pl.col("y")).alias("y"))
    odd.write_parquet(folder / "odd.parquet")
    done = run_cli(
        "transform", folder / "odd.parquet", "--model", folder / "outliers", "--output", folder / "scored.parquet",
        "--expected",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = pl.read_parquet(folder / "scored.parquet")
    names = model.output_names(expected=True)
    assert out.columns == [*odd.columns, *names]
    assert names[-2:] == ["ae_error__note", "ae_expected__note"]
    for name in model.columns:
        assert out[f"ae_expected__{name}"].dtype == odd[name].dtype, name
    assert out["ae_error__y"].arg_max() == 7  # the planted value is the row's worst cell...
    relation = 2 * rows["x"][7]  # ...and the model expects a value much nearer the relation
    assert abs(out["ae_expected__y"][7] - relation) < 0.3 * abs(40.0 - relation)
    assert model.transform(odd, expected=True).equals(out)


def test_sample_keeps_types_schema_marginals_and_relations(
    folder: Path, sampler: aef.AutoencoderModel
) -> None:
    refused = run_cli(
        "sample", "--model", folder / "model", "--rows", "10", "--output", folder / "no.parquet"
    )
    assert refused.returncode != 0 and "cannot sample rows" in refused.stderr  # the imputation goal's model
    assert not (folder / "no.parquet").exists()
    done = run_cli(
        "sample", "--model", folder / "outliers", "--rows", "3000", "--seed", "7", "--output", folder / "rows.parquet",
        "--compare-to", folder / "train.parquet", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = pl.read_parquet(folder / "rows.parquet")
    train = pl.read_parquet(folder / "train.parquet")
    assert rows.height == report["rows"] == 3000 and rows.schema == train.schema
    assert run_cli("validate", folder / "rows.parquet", "--model", folder / "outliers").returncode == 0
    assert set(rows["side"].unique()) <= {"high", "low"}
    for name in ("x", "y"):
        assert abs(rows[name].mean() - train[name].mean()) < 0.25 * train[name].std(), name
        assert 0.6 < rows[name].std() / train[name].std() < 1.5, name
    assert rows["x"].is_between(train["x"].min(), train["x"].max()).all()
    assert abs(rows["note"].null_count() / 3000 - train["note"].null_count() / 1500) < 0.03
    assert abs((rows["side"] == "high").mean() - (train["side"] == "high").mean()) < 0.1
    assert np.corrcoef(rows["x"].to_numpy(), rows["y"].to_numpy())[0, 1] > 0.8  # the relation is kept
    assert (rows.filter(pl.col("x") > 0.5)["side"] == "high").mean() > 0.8
    privacy = report["privacy"]
    assert privacy["exact_copy_share"] < 0.01 and privacy["median_distance"] > 0


def test_sample_is_bitwise_reproducible_whatever_the_batch(
    folder: Path, sampler: aef.AutoencoderModel
) -> None:
    sample_path(sampler, folder / "a.parquet", 2500, seed=3, batch_rows=700)
    sample_path(sampler, folder / "b.parquet", 2500, seed=3, batch_rows=65536)
    a, b = pl.read_parquet(folder / "a.parquet"), pl.read_parquet(folder / "b.parquet")
    assert a.equals(b) and a.equals(sampler.sample(2500, seed=3))
    assert sampler.sample(1000, seed=3).equals(a.head(1000))
    assert not sampler.sample(100, seed=4).equals(a.head(100))


def test_sample_where_gives_only_that_level_and_refuses_unknown_ones(sampler: aef.AutoencoderModel) -> None:
    rows = sampler.sample(500, seed=1, where={"side": "low"})
    assert rows.height == 500 and (rows["side"] == "low").all()
    with pytest.raises(ConfigError, match="'middle'"):
        sampler.sample(10, where={"side": "middle"})
    with pytest.raises(ConfigError, match="'x' is not a categorical"):
        sampler.sample(10, where={"x": "1"})


def test_sample_refuses_a_column_given_twice_in_where(tmp_path: Path) -> None:
    done = run_cli(
        "sample", "--model", tmp_path / "model", "--rows", "10", "--output", tmp_path / "rows.parquet",
        "--where", "side=low", "--where", "side=high",
    )  # fmt: skip
    text = " ".join(done.stderr.replace("│", " ").split())  # the message as one line, out of its box
    assert done.returncode == 2 and "--where: column 'side' is given twice (side=low and side=high)" in text
    assert not (tmp_path / "rows.parquet").exists()


def skewed(rows: int, seed: int) -> pl.DataFrame:
    """A transaction table: a log-normal ``amount`` (median 45), a ``score`` that falls as it
    rises, a 3-valued integer ``tier`` and a zoned timestamp."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=rows)
    start = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    return pl.DataFrame(
        {
            "amount": np.exp(np.log(45.0) + 1.2 * z),
            "score": -z + 0.3 * rng.normal(size=rows),
            "tier": rng.choice([1, 2, 3], size=rows, p=[0.6, 0.3, 0.1]),
            "at": [start + timedelta(days=float(d)) for d in 200 * rng.beta(2, 5, size=rows)],
        }
    )


def test_sample_gives_numbers_and_times_their_training_marginal_and_range() -> None:
    train = skewed(2000, seed=0)
    model = aef.fit(train, epochs=30, seed=0, threads=1)
    rows = model.sample(4000, seed=2)
    amount, trained = rows["amount"].to_numpy(), train["amount"].to_numpy()
    assert (amount == trained.min()).mean() < 0.05  # not piled at the minimum
    assert 1 / 1.25 < np.median(amount) / np.median(trained) < 1.25
    for level, decile in zip(np.arange(1, 10) / 10, np.quantile(trained, np.arange(1, 10) / 10), strict=True):
        assert abs((amount < decile).mean() - level) < 0.05, level
    assert rows["at"].dtype == train["at"].dtype
    assert rows["at"].is_between(train["at"].min(), train["at"].max()).all()
    assert set(rows["tier"].unique()) <= {1, 2, 3}
    for tier in (1, 2, 3):
        assert abs((rows["tier"] == tier).mean() - (train["tier"] == tier).mean()) < 0.08, tier
    # the map keeps every column's ranks, so the relation the network drew (weak on this tail) is kept
    assert rows.select(pl.corr("amount", "score", method="spearman")).item() < -0.05
    assert model.sample(1000, seed=2).equals(rows.head(1000))
