"""Data-parallel training with torch DDP: alone, under ``torchrun``, or under Spark's TorchDistributor.

:func:`fit_distributed` is one function for all three. Alone (no ``WORLD_SIZE`` in the
environment) it is an ordinary fit. Under a launcher every rank

1. receives the preprocessing statistics that rank 0 learned once on the full table (or, above
   ``stats_rows`` rows, on a seeded uniform sample of that many rows streamed from all files,
   the inferred schema nullable wherever any row had a missing value: :class:`RankStatistics`),
   sent as JSON through the process group, never pickled;
2. reads only its own contiguous slice of rows (:class:`RankShard`; polars pushes the slice
   down, so a rank opens only the row groups it needs);
3. trains the same network wrapped in ``DistributedDataParallel`` (gloo on CPU, nccl on
   GPU) with ``batch_size / world_size`` rows per step, so a step sees the same number of
   rows as one process; epoch losses are averaged over ranks so all ranks stop together.

The statistics rows and the shard are sources of :mod:`aefeatures.fitting.sources`, checked by
the sequence every fit goes through (:mod:`aefeatures.fitting.source_sequence`). Rank 0 then
calibrates the outlier threshold on the statistics rows and writes a normal model directory; it
returns the directory's path, the other ranks return ``None``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandera.polars as pa
import polars as pl
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from aefeatures.config import FitConfig
from aefeatures.devices import resolve_device, set_threads
from aefeatures.errors import AEFeaturesError, ConfigError, DataError
from aefeatures.features.preprocessor import Preprocessor
from aefeatures.fitting.checkpoint import Checkpoint
from aefeatures.fitting.pipeline import FitHooks, finish, prepare, train_prepared
from aefeatures.fitting.rows import FitRows
from aefeatures.fitting.sampling import Sample, sample_rows
from aefeatures.fitting.source_sequence import Checked, Drawn
from aefeatures.fitting.sources import ParquetFitSource, fit_config
from aefeatures.fitting.training import EpochCallback
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import scan
from aefeatures.nn.kinds import entry
from aefeatures.nn.network import Autoencoder
from aefeatures.schema.schemas import infer_schema, schema_from_yaml, schema_to_yaml

STATS_ROWS = 1_000_000  # rows rank 0 learns the preprocessing from; above it, a uniform sample


class _DDP(DistributedDataParallel):
    """DDP that passes attribute reads (``config``, ``encoder_jacobian``...) through to the network."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":  # not set yet, during DDP's own __init__
                raise
            return getattr(self.module, name)


def fit_distributed(
    data: str | Path,
    model_dir: str | Path,
    *,
    schema: str | Path | None = None,
    overwrite: bool = False,
    stats_rows: int = STATS_ROWS,
    sample: int | None = None,
    checkpoint: str | Path | Checkpoint | None = None,
    resume: bool = False,
    on_epoch: EpochCallback | None = None,
    **params: Any,
) -> str | None:
    """Train on Parquet ``data`` on this rank and write the model directory from rank 0.

    Parameters
    ----------
    data
        Parquet file, directory or glob that every rank can read (a shared or mounted path).
    model_dir
        Where rank 0 writes the model directory (refused if it exists, unless ``overwrite``).
    schema
        A pandera schema file; inferred from the statistics rows when omitted.
    stats_rows
        Most rows the preprocessing statistics and the threshold are learned from.
    sample
        Train on a uniform sample of about ``sample`` rows: each rank draws its share from its
        own slice. (``max_rows`` of :func:`aefeatures.fit` has no DDP form: every rank reads
        its own slice of all rows, so "the first rows" would leave ranks idle.)
    checkpoint, resume
        As for :func:`aefeatures.fit`: a directory every rank can read; rank 0 writes it (all
        ranks hold the same training state) and every rank resumes from it.
    on_epoch
        Called on every rank after each epoch with the epoch's global losses.
    **params
        Fields of :class:`~aefeatures.config.FitConfig`, as for :func:`aefeatures.fit`.

    Examples
    --------
    >>> from aefeatures.distributed import fit_distributed  # doctest: +SKIP
    >>> TorchDistributor(num_processes=4, local_mode=False).run(  # doctest: +SKIP
    ...     fit_distributed, "/dbfs/events", "/dbfs/models/events", exclude=["id"])
    """
    config = fit_config(params)
    if entry(config.kind).closed_form:
        raise ConfigError(
            f"kind={config.kind!r} is solved in closed form on one machine, not trained in parallel.",
            hint="use aefeatures.fit",
        )
    if sample is not None and sample < 2:
        raise DataError(f"sample={sample} must be at least 2 rows.")
    set_threads(config.threads)
    parallel = _start(config.device)
    try:

        def learn() -> tuple[dict[str, Any], pl.DataFrame]:
            check_output(
                model_dir, overwrite, kind="model", inputs=[data]
            )  # only rank 0 writes, so only its file system matters
            return _learn_state(data, schema, config, stats_rows)

        state, stats = _shared_state(learn, parallel)
        shard = RankShard(
            data,
            rank=parallel.rank,
            world=parallel.world,
            total_rows=int(state["rows"]),
            chosen=tuple(state["features"]),
            preprocessor=Preprocessor.from_dict(state["preprocessing"]),
            calibration=stats,
            sample=sample,
            seed=config.seed,
        )
        rows = shard.rows(config, schema_from_yaml(state["schema"]))
        prepared = prepare(rows, config, parallel)
        trained = train_prepared(prepared, config, FitHooks(on_epoch, checkpoint, resume, parallel))
        if parallel.rank != 0:
            return None
        return str(finish(prepared, config, trained).save(model_dir, overwrite=overwrite, inputs=[data]))
    finally:
        if parallel.world > 1:
            dist.destroy_process_group()


class DistributedTraining:
    """What DDP changes in a fit (a :class:`~aefeatures.fitting.pipeline.DataParallel`)."""

    def __init__(self, rank: int, world: int, device: torch.device) -> None:
        self.rank, self.world, self.device = rank, world, device

    def equal_counts(self, n_train: int, n_valid: int) -> tuple[int, int]:
        """The smallest counts over ranks: every rank takes the same number of steps."""
        tensor = torch.tensor([n_train, n_valid], dtype=torch.int64, device=self.device)
        if self.world > 1:
            dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
        self.n_train, self.n_valid = (int(v) for v in tensor.tolist())
        return self.n_train, self.n_valid

    def wrap(self, net: Autoencoder) -> nn.Module:
        """The network in ``DistributedDataParallel`` (itself when alone)."""
        if self.world == 1:
            return net
        return _DDP(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def sync(self, record: dict[str, float]) -> dict[str, float]:
        """Row-weighted means of the epoch's losses over ranks, and the slowest rank's clock."""
        if self.world == 1:
            return record
        keys = sorted(k for k in record if k not in ("epoch", "seconds"))
        weights = [self.n_valid if k == "valid_loss" else self.n_train for k in keys]
        sums = torch.tensor(
            [record[k] * w for k, w in zip(keys, weights, strict=True)] + weights,
            dtype=torch.float64,
            device=self.device,
        )
        dist.all_reduce(sums)
        seconds = torch.tensor([record["seconds"]], dtype=torch.float64, device=self.device)
        dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
        means = {k: float(sums[i] / max(float(sums[len(keys) + i]), 1.0)) for i, k in enumerate(keys)}
        return {"epoch": record["epoch"], **means, "seconds": float(seconds[0])}

    def fingerprint(self, local: dict[str, Any]) -> dict[str, Any]:
        """Every rank's data digest hashed together, rows summed: the same fingerprint on all ranks."""
        if self.world == 1:
            return local
        digest = torch.tensor(
            list(bytes.fromhex(local["data_sha256"])), dtype=torch.uint8, device=self.device
        )
        digests = [torch.zeros_like(digest) for _ in range(self.world)]
        dist.all_gather(digests, digest)
        rows = torch.tensor([int(local["rows"])], dtype=torch.int64, device=self.device)
        dist.all_reduce(rows)
        combined = hashlib.sha256(b"".join(bytes(d.cpu().tolist()) for d in digests)).hexdigest()
        return {**local, "rows": int(rows.item()), "data_sha256": combined, "world_size": self.world}

    def check_in_sync(self, net: Autoencoder) -> None:
        """Every rank must hold rank 0's weights after training: DDP promises it, this checks it."""
        _check_in_sync(net, self.world, self.device)


def _start(device_name: str) -> DistributedTraining:
    """This rank's place in the launcher's process group (joined when there is one)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world == 1:
        return DistributedTraining(0, 1, device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistributedTraining(dist.get_rank(), dist.get_world_size(), device)


def _shared_state(
    learn: Callable[[], tuple[dict[str, Any], pl.DataFrame]], parallel: DistributedTraining
) -> tuple[dict[str, Any], pl.DataFrame | None]:
    """Rank 0 learns schema and preprocessing once; every rank gets them as JSON.

    Rank 0 also keeps the validated statistics rows, to calibrate the threshold on.
    """
    state: dict[str, Any] = {}
    stats = None
    if parallel.rank == 0:
        try:
            state, stats = learn()
        except AEFeaturesError as exc:
            _broadcast_json({"error": str(exc)}, parallel.device)
            raise
    state = _broadcast_json(state, parallel.device)
    if "error" in state:
        raise DataError(f"rank 0 could not prepare the training data: {state['error']}")
    return state, stats


def _learn_state(
    data: str | Path, schema: str | Path | None, config: FitConfig, stats_rows: int
) -> tuple[dict[str, Any], pl.DataFrame]:
    stats = RankStatistics(data, stats_rows, config.seed).rows(config, schema)
    preprocessor = Preprocessor.fit(
        stats.features, max_levels=config.max_levels, min_level_count=config.min_level_count
    )
    state = {
        "rows": stats.facts["rows"],
        "features": stats.features.columns,
        "schema": schema_to_yaml(stats.schema),
        "preprocessing": preprocessor.to_dict(),
    }
    return state, stats.features


def statistics_rows(data: str | Path, stats_rows: int, seed: int) -> Sample:
    """The rows preprocessing is learned from, in file order, with all rows' missing counts.

    All rows when there are at most ``stats_rows``; otherwise a seeded uniform sample of
    ``stats_rows`` rows drawn in one streamed pass (:func:`~aefeatures.fitting.sampling.sample_rows`).
    """
    columns = scan(data).collect_schema().names()
    drawn = sample_rows(ParquetSource.open(data), columns, stats_rows, seed)
    order = np.argsort(drawn.index, kind="stable")
    return dataclasses.replace(drawn, frame=drawn.frame[order], index=drawn.index[order])


@dataclass(frozen=True)
class RankStatistics(ParquetFitSource):
    """Rank 0's statistics rows (:func:`statistics_rows`): the schema and preprocessing every rank
    uses are learned from them, and the threshold is calibrated on them."""

    size: int
    seed: int

    def n_rows(self) -> int:
        """Every row of the data."""
        return ParquetSource.open(self.path).n_rows

    def read(self, columns: list[str], given: pa.DataFrameSchema | None) -> Drawn:
        """The statistics rows, every column; nullable where any row had a missing value."""
        drawn = statistics_rows(self.path, self.size, self.seed)
        return Drawn(drawn.frame, drawn.inferred_schema, drawn)

    def fit_rows(self, checked: Checked) -> FitRows:
        """The validated statistics rows and the data's row count."""
        drawn = checked.drawn.sample
        assert drawn is not None  # read() draws a sample
        return FitRows(checked.features, checked.schema, facts={"rows": drawn.n_rows})


@dataclass(frozen=True)
class RankShard(ParquetFitSource):
    """One rank's contiguous share of the rows (or of a uniform sample of them), in rank 0's
    features and schema, preprocessed as rank 0 learned; rank 0 calibrates on its statistics rows."""

    rank: int
    world: int
    total_rows: int  # rows of the whole data, counted and required by rank 0
    chosen: tuple[str, ...]  # rank 0's features
    preprocessor: Preprocessor
    calibration: pl.DataFrame | None  # rank 0's statistics rows; None on other ranks
    sample: int | None
    seed: int

    def n_rows(self) -> int:
        """Rows of the whole data (this rank's share may be small)."""
        return self.total_rows

    def features(self, config: FitConfig) -> list[str]:
        """Rank 0's features."""
        return list(self.chosen)

    def read(self, columns: list[str], given: pa.DataFrameSchema | None) -> Drawn:
        """This rank's slice, every column (polars reads only the row groups it needs)."""
        begin = self.rank * self.total_rows // self.world
        end = (self.rank + 1) * self.total_rows // self.world
        frame = scan(self.path).slice(begin, end - begin).collect()
        if self.sample is not None and self.sample < self.total_rows:
            share = max(1, round(self.sample * frame.height / self.total_rows))
            frame = frame.sample(share, seed=self.seed + self.rank)
        return Drawn(frame, partial(infer_schema, frame))

    def fit_rows(self, checked: Checked) -> FitRows:
        """The shard's rows with rank 0's preprocessing and calibration rows."""
        statistics = self.calibration.height if self.calibration is not None else 0
        return FitRows(
            checked.features,
            checked.schema,
            preprocessor=self.preprocessor,
            calibration=self.calibration,
            facts={"rows": self.total_rows, "statistics_rows": statistics},
        )


def _check_in_sync(net: Autoencoder, world: int, device: torch.device) -> None:
    """Every rank must hold rank 0's weights after training: DDP promises it, this checks it."""
    if world == 1:
        return
    mine = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    reference = mine.clone()
    dist.broadcast(reference, src=0)
    differs = torch.tensor([int(not torch.equal(mine, reference))], device=device)
    dist.all_reduce(differs)
    if int(differs.item()):
        raise RuntimeError(
            f"{int(differs.item())} rank(s) ended training with weights different from rank 0's"
        )


def _broadcast_json(value: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Rank 0's ``value`` on every rank, as UTF-8 JSON bytes (no pickle, unlike broadcast_object_list)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    payload = json.dumps(value, allow_nan=False).encode() if dist.get_rank() == 0 else b""
    size = torch.tensor([len(payload)], dtype=torch.int64, device=device)
    dist.broadcast(size, src=0)
    buffer = torch.zeros(int(size.item()), dtype=torch.uint8, device=device)
    if dist.get_rank() == 0:
        buffer.copy_(torch.frombuffer(bytearray(payload), dtype=torch.uint8))
    dist.broadcast(buffer, src=0)
    return json.loads(buffer.cpu().numpy().tobytes().decode())
