"""Streaming transform, LazyFrame streaming and fitting without holding the data in memory."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from conftest import SHARED_DATA, make_mixed, run_cli
from polars.testing import assert_frame_equal

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.errors import DataError, DriftError, OutputExistsError, SchemaValidationError
from aefeatures.explore.metrics import roc_auc
from aefeatures.fitting.sampling import StreamingRows, sample_rows
from aefeatures.io.parquet import ParquetSource
from aefeatures.schema.drift import drift_summary, merge_drift
from aefeatures.schema.schemas import validate
from aefeatures.transform.streaming import transform_path

FEATURES = ["x", "y", "count", "income", "segment", "active", "seen"]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> aef.AutoencoderModel:
    torch.set_num_threads(1)
    return aef.fit(make_mixed(800), exclude=["id", "label"], epochs=4, seed=0, threads=1)


@pytest.fixture
def partitioned(tmp_path: Path) -> tuple[Path, pl.DataFrame]:
    """A hive directory: region=north|south / day=1|2, several files and row groups."""
    frame = make_mixed(1200, seed=3).with_columns(
        region=pl.when(pl.col("id") % 2 == 0).then(pl.lit("north")).otherwise(pl.lit("south")),
        day=(pl.col("id") % 3 == 0).cast(pl.Int64) + 1,
    )
    root = tmp_path / "events"
    for (region, day), group in frame.group_by("region", "day", maintain_order=True):
        target = root / f"region={region}" / f"day={day}" / "part-0.parquet"
        target.parent.mkdir(parents=True)
        group.drop("region", "day").write_parquet(target, row_group_size=70)
    return root, frame


def test_file_streams_in_batches_and_equals_eager(model: aef.AutoencoderModel, tmp_path: Path) -> None:
    frame = make_mixed(1000, seed=1)
    frame.write_parquet(tmp_path / "in.parquet", row_group_size=300)
    summary = transform_path(model, tmp_path / "in.parquet", tmp_path / "out.parquet", batch_rows=128)
    written = pl.read_parquet(tmp_path / "out.parquet")
    assert summary.batches == 8 and summary.rows == 1000 and summary.files == 1
    assert_frame_equal(written, model.transform(frame))  # to rounding: batch sizes differ
    assert summary.outliers == int(written["ae_outlier"].sum())


def test_directory_gives_partitioned_directory(
    model: aef.AutoencoderModel, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    root, _ = partitioned
    summary = transform_path(model, root, tmp_path / "features", batch_rows=50)
    inputs = sorted(p.relative_to(root) for p in root.rglob("*.parquet"))
    outputs = sorted(p.relative_to(tmp_path / "features") for p in (tmp_path / "features").rglob("*.parquet"))
    assert outputs == inputs and summary.files == 4
    eager = model.transform(pl.scan_parquet(root, hive_partitioning=True).collect())
    back = pl.scan_parquet(tmp_path / "features", hive_partitioning=True).collect()
    assert set(back.columns) == set(eager.columns)
    assert_frame_equal(back.select(eager.columns).sort("id"), eager.sort("id"))
    # Partition values live in the directory names, not repeated in the files.
    assert "region" not in pl.read_parquet(tmp_path / "features" / outputs[0]).columns


def test_directory_to_one_file_and_glob(
    model: aef.AutoencoderModel, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    root, _ = partitioned
    transform_path(model, root, tmp_path / "all.parquet")
    eager = model.transform(pl.scan_parquet(root, hive_partitioning=True).collect())
    assert_frame_equal(pl.read_parquet(tmp_path / "all.parquet"), eager)
    summary = transform_path(model, f"{root}/region=north/*/*.parquet", tmp_path / "north.parquet")
    north = pl.read_parquet(tmp_path / "north.parquet")
    assert summary.files == 1 and north.height == eager.filter(pl.col("region") == "north").height
    assert "region" not in north.columns  # a glob reads files, not hive directories


def test_bad_batch_fails_with_file_and_row_and_writes_nothing(
    model: aef.AutoencoderModel, tmp_path: Path
) -> None:
    frame = make_mixed(1000, seed=2).with_columns(
        x=pl.when(pl.col("id") == 930).then(None).otherwise(pl.col("x"))
    )
    frame.write_parquet(tmp_path / "bad.parquet", row_group_size=250)
    with pytest.raises(SchemaValidationError) as info:
        transform_path(model, tmp_path / "bad.parquet", tmp_path / "out.parquet", batch_rows=100)
    assert (
        "bad.parquet" in str(info.value) and "rows 900 to 999" in str(info.value) and "'x'" in str(info.value)
    )
    assert info.value.failures[0]["index"] == 930
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet"]  # no output, no temporary


def test_failed_write_in_the_writer_thread_leaves_nothing(
    model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(tmp_path.iterdir())
    written = []

    def disk_fills_up(self: pq.ParquetWriter, table: pa.Table, row_group_size: int | None = None) -> None:
        if written:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(table.num_rows)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", disk_fills_up)
    with pytest.raises(DataError, match="No space left on device") as info:
        transform_path(model, mixed_parquet, tmp_path / "out.parquet", batch_rows=100)
    assert "out.parquet" in str(info.value) and written == [100]
    assert sorted(tmp_path.iterdir()) == before  # no output, no temporary


@pytest.mark.parametrize(("option", "codec"), [((), "SNAPPY"), (("--compression", "zstd"), "ZSTD")])
def test_cli_output_compression(
    fitted_model_dir: Path, mixed_parquet: Path, tmp_path: Path, option: tuple[str, ...], codec: str
) -> None:
    out = tmp_path / "out.parquet"
    done = run_cli("transform", mixed_parquet, "--model", fitted_model_dir, "-o", out, *option)
    assert done.returncode == 0, done.stderr
    metadata = pq.ParquetFile(out).metadata
    assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {codec}


def test_cli_rejects_an_unknown_compression(
    fitted_model_dir: Path, mixed_parquet: Path, tmp_path: Path
) -> None:
    done = run_cli(
        "transform",
        mixed_parquet,
        "--model",
        fitted_model_dir,
        "-o",
        tmp_path / "o.parquet",
        "--compression",
        "rar",
    )
    assert done.returncode == 2 and "'rar' is not one of snappy, zstd" in done.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_existing_output_is_kept(model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path) -> None:
    (tmp_path / "out.parquet").write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        transform_path(model, mixed_parquet, tmp_path / "out.parquet")
    assert (tmp_path / "out.parquet").read_bytes() == b"keep me"
    transform_path(model, mixed_parquet, tmp_path / "out.parquet", overwrite=True)
    assert pl.read_parquet(tmp_path / "out.parquet").height == 600


def test_batch_drift_merges_to_whole_data_drift(model: aef.AutoencoderModel) -> None:
    frame = validate(make_mixed(900, seed=4), model.schema).select(model.columns)
    frame = frame.with_columns(income=pl.when(pl.col("x") > 0.8).then(None).otherwise(pl.col("income")))
    stats, specs = model.metadata.get("drift"), model.preprocessor.specs
    parts = [drift_summary(frame.slice(start, 200), specs, stats) for start in range(0, 900, 200)]
    merged, whole = merge_drift(parts, 0.02), drift_summary(frame, specs, stats)
    assert merged.select("column", "rows", "drifted").equals(whole.select("column", "rows", "drifted"))
    for rate in ("missing_rate", "unseen_rate", "out_of_range_rate"):
        np.testing.assert_allclose(
            merged[rate].fill_null(-1).to_numpy(), whole[rate].fill_null(-1).to_numpy(), atol=1e-12
        )
    assert whole.filter(pl.col("column") == "income")["drifted"].item()


def test_drift_fail_writes_nothing(model: aef.AutoencoderModel, tmp_path: Path) -> None:
    frame = make_mixed(600, seed=5).with_columns(
        segment=pl.when(pl.col("id") > 300).then(pl.lit("platinum")).otherwise(pl.col("segment"))
    )
    frame.write_parquet(tmp_path / "new.parquet")
    with pytest.raises(DriftError, match="segment"):
        transform_path(
            model, tmp_path / "new.parquet", tmp_path / "out.parquet", batch_rows=100, on_drift="fail"
        )
    assert not (tmp_path / "out.parquet").exists()
    summary = transform_path(model, tmp_path / "new.parquet", tmp_path / "out.parquet", on_drift="warn")
    assert [c["column"] for c in summary.to_dict()["drifted_columns"]] == ["segment"]


def test_lazyframe_streams_to_sink_with_eager_values(
    model: aef.AutoencoderModel, mixed_parquet: Path, tmp_path: Path
) -> None:
    lazy = pl.scan_parquet(mixed_parquet).pipe(model.transform)
    assert isinstance(lazy, pl.LazyFrame)
    lazy.sink_parquet(tmp_path / "lazy.parquet")
    assert_frame_equal(
        pl.read_parquet(tmp_path / "lazy.parquet"), model.transform(pl.read_parquet(mixed_parquet))
    )


def test_cli_transform_directory_and_bad_data(
    fitted_model_dir: Path, partitioned: tuple[Path, pl.DataFrame], tmp_path: Path
) -> None:
    root, _ = partitioned
    done = run_cli(
        "transform",
        root,
        "--model",
        fitted_model_dir,
        "--output",
        tmp_path / "out",
        "--batch-rows",
        "64",
        "--threads",
        "1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert '"files": 4' in done.stdout and '"rows": 1200' in done.stdout
    make_mixed(300).drop("income").write_parquet(tmp_path / "short.parquet")
    failed = run_cli(
        "transform",
        tmp_path / "short.parquet",
        "--model",
        fitted_model_dir,
        "--output",
        tmp_path / "o.parquet",
    )
    assert failed.returncode == 1 and "'income'" in failed.stderr and "column is missing" in failed.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_sample_is_uniform_and_counts_missing(tmp_path: Path) -> None:
    frame = make_mixed(5000, seed=6)
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=700)
    drawn = sample_rows(ParquetSource.open(tmp_path / "d.parquet"), FEATURES, 1000, seed=0)
    assert drawn.frame.height == 1000 and np.unique(drawn.index).size == 1000 and drawn.n_rows == 5000
    assert drawn.frame["x"].to_list() == frame["x"].gather(drawn.index).to_list()
    assert abs(drawn.index.mean() - 2500) < 150  # all of the file is drawn from, not just the start
    assert drawn.missing["income"] == frame["income"].null_count() and drawn.missing["x"] == 0


def test_streaming_rows_cover_every_training_row_once(tmp_path: Path) -> None:
    frame = make_mixed(2000, seed=7).select(FEATURES)
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=300)
    model = aef.fit(frame, epochs=1, threads=1)
    held_out = np.arange(0, 2000, 10)
    rows = StreamingRows(
        ParquetSource.open(tmp_path / "d.parquet"),
        model.preprocessor,
        frame.schema,
        held_out,
        torch.device("cpu"),
        shuffle_rows=500,
    )
    batches = list(rows.batches(64, torch.Generator().manual_seed(0)))
    seen = torch.cat([b.inputs for b in batches])
    expected = model.preprocessor.encode(frame.filter(pl.int_range(2000) % 10 != 0)).inputs
    assert seen.shape[0] == 1800 and all(len(b) == 64 for b in batches[:-1])
    assert np.array_equal(np.unique(seen.numpy(), axis=0), np.unique(expected, axis=0))
    first = seen[: 64 * 5, 0].numpy()
    assert not np.array_equal(first, expected[: 64 * 5, 0])  # shuffled, not file order


def test_streaming_fit_matches_in_memory_fit_on_real_data() -> None:
    # One fit of 25 epochs varies a lot with the seed (ROC-AUC 0.80-0.94 here), so the means of
    # three seeds are compared: in memory, streamed with every row in the sample, and streamed
    # with statistics from a 1,500-row sample.
    source = SHARED_DATA / "anomaly" / "thyroid.parquet"
    labels = pl.read_parquet(source)["label"].to_numpy()
    setups = {
        "memory": {"stream": False},
        "stream": {"stream": True},
        "sampled": {"stream": True, "sample": 1500},
    }
    auc: dict[str, list[float]] = {name: [] for name in setups}
    loss: dict[str, list[float]] = {name: [] for name in setups}
    for seed in (0, 1, 2):
        models = {
            name: aef.fit(source, exclude=["label"], epochs=25, seed=seed, threads=1, **options)
            for name, options in setups.items()
        }
        assert (
            models["stream"].preprocessor.specs == models["memory"].preprocessor.specs
        )  # the sample held every row
        assert models["sampled"].metadata["fingerprint"]["sample_rows"] == 1500
        for name, model in models.items():
            auc[name].append(roc_auc(labels, model.transform(source)["ae_error"].to_numpy()))
            loss[name].append(model.metadata["history"]["epochs"][-1]["valid_loss"])
    assert np.mean(auc["memory"]) > 0.8
    for name in ("stream", "sampled"):
        assert abs(np.mean(auc[name]) - np.mean(auc["memory"])) < 0.05, auc
        assert np.mean(loss[name]) == pytest.approx(np.mean(loss["memory"]), rel=0.25), loss


def test_cli_quick_and_streaming_fits(
    mixed_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["-x", "id,label", "--epochs", "2", "--threads", "1", "--json", "-q"]
    runs = {
        "head": (["--max-rows", "100"], 100),
        "sample": (["--sample", "250"], 250),
        "stream": (["--stream", "--sample", "200"], 600),
    }
    for name, (options, rows) in runs.items():
        code = main(["fit", str(mixed_parquet), "--model", str(tmp_path / name), *common, *options])
        assert code == 0 and f'"rows": {rows}' in capsys.readouterr().out
    streamed = aef.load(tmp_path / "stream").metadata["fingerprint"]
    assert streamed["streamed"] and streamed["sample_rows"] == 200
    assert main(["fit", str(mixed_parquet), "--model", str(tmp_path / "m"), "--sample", "1"]) == 2
    assert not (tmp_path / "m").exists()


def test_streaming_pca_uses_every_row(tmp_path: Path) -> None:
    frame = make_mixed(1500, seed=8).select(FEATURES)
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=200)
    streamed = aef.fit(tmp_path / "d.parquet", kind="pca", stream=True, sample=300, threads=1)
    in_memory = aef.fit(tmp_path / "d.parquet", kind="pca", stream=False, threads=1)
    errors = [m.transform(frame)["ae_error"].to_numpy() for m in (streamed, in_memory)]
    assert np.corrcoef(*errors)[0, 1] > 0.9


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("stream", [False, True])
def test_cuda_matches_cpu(mixed_parquet: Path, tmp_path: Path, stream: bool) -> None:
    # Same seed: same initial weights (built on the CPU) and the same batches (CPU generator).
    params = {"exclude": ["id", "label"], "epochs": 3, "threads": 1, "stream": stream}
    cpu = aef.fit(mixed_parquet, device="cpu", **params)
    gpu = aef.fit(mixed_parquet, device="cuda", **params)
    loaded = aef.load(gpu.save(tmp_path / "gpu"), device="cuda")
    assert loaded.device.type == "cuda"
    transform_path(loaded, mixed_parquet, tmp_path / "gpu.parquet")
    on_gpu, on_cpu = pl.read_parquet(tmp_path / "gpu.parquet"), cpu.transform(pl.read_parquet(mixed_parquet))
    np.testing.assert_allclose(
        on_gpu["ae_error"].to_numpy(), on_cpu["ae_error"].to_numpy(), rtol=1e-3, atol=1e-5
    )
