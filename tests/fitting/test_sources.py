"""The sources of a fit's rows: one frozen object per kind, all through one sequence of checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandera.polars as pa
import polars as pl
import pytest

from aefeatures.config import FitConfig
from aefeatures.errors import DataError
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.fitting.distributed import RankShard, RankStatistics
from aefeatures.fitting.rows import FitRows
from aefeatures.fitting.sources import (
    FitSource,
    InMemory,
    ParquetHead,
    ParquetSample,
    ParquetStream,
    fit_source,
)
from aefeatures.io.parquet import ParquetSource
from aefeatures.schema.schemas import schema_to_yaml
from tests.helpers import make_mixed

CONFIG = FitConfig(exclude=("id", "label"))
FEATURES = ["x", "y", "count", "income", "segment", "active", "seen"]


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[pl.DataFrame, Path]:
    frame = make_mixed(900, seed=4)
    path = tmp_path / "mixed.parquet"
    frame.write_parquet(path, row_group_size=200)
    return frame, path


def _every_kind(frame: pl.DataFrame, path: Path) -> dict[str, FitSource]:
    parquet = ParquetSource.open(path)
    return {
        "in memory": InMemory(frame),
        "read whole": fit_source(path, seed=0, stream=False),
        "first rows": ParquetHead(path, parquet, 10_000),
        "sampled": ParquetSample(path, parquet, 10_000, seed=0),
        "streamed": ParquetStream(path, parquet, 10_000, seed=0),
        "statistics": RankStatistics(path, 10_000, seed=0),
    }


@pytest.mark.parametrize(
    ("options", "kind"),
    [
        ({"stream": False}, InMemory),
        ({"max_rows": 50}, ParquetHead),
        ({"max_rows": 50, "stream": True}, ParquetHead),  # the first rows win over streaming
        ({"sample": 50, "stream": False}, ParquetSample),
        ({"stream": True}, ParquetStream),
        ({"stream": True, "sample": 50}, ParquetStream),
    ],
)
def test_fit_source_picks_one_kind_per_option(
    mixed: tuple[pl.DataFrame, Path], options: dict[str, object], kind: type
) -> None:
    frame, path = mixed
    assert type(fit_source(path, seed=0, **options)) is kind  # type: ignore[arg-type]
    assert type(fit_source(frame, seed=0, **options)) is InMemory  # a frame is cut in memory


def test_sizes_below_two_rows_are_refused_before_the_data_is_opened() -> None:
    with pytest.raises(DataError, match="sample=1 must be at least 2"):
        fit_source("no/such/data.parquet", seed=0, sample=1)


def test_every_kind_of_source_gives_the_same_rows_when_it_holds_all_of_them(
    mixed: tuple[pl.DataFrame, Path],
) -> None:
    frame, path = mixed
    expected = InMemory(frame).rows(CONFIG)
    for name, source in _every_kind(frame, path).items():
        rows = source.rows(CONFIG)
        assert rows.features.columns == FEATURES, name
        assert schema_to_yaml(rows.schema) == schema_to_yaml(expected.schema), name
        assert rows.features.sort(FEATURES).equals(expected.features.sort(FEATURES)), name


def test_every_kind_completes_a_partial_user_schema_with_inferred_columns(
    mixed: tuple[pl.DataFrame, Path],
) -> None:
    frame, path = mixed
    user = pa.DataFrameSchema({"x": pa.Column(pl.Float64, pa.Check.ge(-100))}, coerce=True)
    for name, source in _every_kind(frame, path).items():
        schema = source.rows(CONFIG, user).schema
        assert sorted(schema.columns) == sorted(FEATURES), name
        assert schema.columns["x"].checks, name  # the user's column is kept as given


def test_every_kind_requires_two_rows_before_reading(tmp_path: Path) -> None:
    frame = make_mixed(1)
    path = tmp_path / "one.parquet"
    frame.write_parquet(path)
    for source in _every_kind(frame, path).values():
        with pytest.raises(DataError, match=r"1 row\(s\); fit needs at least 2"):
            source.rows(CONFIG)


def test_sources_and_their_rows_are_frozen(mixed: tuple[pl.DataFrame, Path]) -> None:
    frame, path = mixed
    source = fit_source(path, seed=0, stream=True)
    rows = source.rows(CONFIG)
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.seed = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows.stream = None  # type: ignore[misc]


def test_a_streamed_source_gives_its_stream_and_whole_data_counts_at_construction(
    mixed: tuple[pl.DataFrame, Path],
) -> None:
    frame, path = mixed
    rows = ParquetStream(path, ParquetSource.open(path), 300, seed=0).rows(CONFIG)
    assert rows.stream is not None
    assert rows.facts == {"rows": 900, "sample_rows": 300, "streamed": True}
    assert rows.missing_rates is not None
    assert rows.missing_rates["income"] == pytest.approx(frame["income"].null_count() / 900)
    sampled = ParquetSample(path, ParquetSource.open(path), 300, seed=0).rows(CONFIG)
    assert sampled.stream is None and sampled.facts == {} and sampled.features.equals(rows.features)


def test_a_kept_column_follows_the_same_rows(mixed: tuple[pl.DataFrame, Path]) -> None:
    frame, path = mixed
    rows = ParquetSample(path, ParquetSource.open(path), 300, seed=0).rows(CONFIG, keep=["id"])
    assert rows.kept is not None
    ids = rows.kept["id"].to_numpy()
    assert rows.features["x"].to_list() == frame["x"].gather(ids).to_list()


def test_rank_shards_cover_every_row_once_in_rank_0s_features_and_schema(
    mixed: tuple[pl.DataFrame, Path],
) -> None:
    frame, path = mixed
    statistics = RankStatistics(path, 10_000, seed=0).rows(CONFIG)
    assert statistics.facts == {"rows": 900}
    preprocessor = Preprocessor.fit(statistics.features, max_levels=50, min_level_count=5)
    shards: list[FitRows] = [
        RankShard(
            path,
            rank=rank,
            world=3,
            total_rows=900,
            chosen=tuple(FEATURES),
            preprocessor=preprocessor,
            calibration=statistics.features if rank == 0 else None,
            sample=None,
            seed=0,
        ).rows(CONFIG, statistics.schema)
        for rank in range(3)
    ]
    assert [shard.features.height for shard in shards] == [300, 300, 300]
    assert pl.concat([shard.features for shard in shards]).equals(statistics.features)
    assert all(shard.schema is statistics.schema and shard.preprocessor is preprocessor for shard in shards)
    assert shards[0].facts == {"rows": 900, "statistics_rows": 900}
    assert shards[1].calibration is None and shards[1].facts["statistics_rows"] == 0
    assert np.array_equal(shards[2].features["x"].to_numpy(), frame["x"].to_numpy()[600:])
