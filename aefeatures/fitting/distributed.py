"""Data-parallel training with torch DDP: alone, under ``torchrun``, or under Spark's TorchDistributor.

:func:`fit_distributed` is one function for all three. Alone (no ``WORLD_SIZE`` in the
environment) it is an ordinary fit. Under a launcher every rank

1. receives the preprocessing statistics that rank 0 learned once on the full table (or, above
   ``stats_rows`` rows, on a seeded uniform sample of that many rows streamed from all files,
   the inferred schema nullable wherever any row had a missing value), sent as JSON through
   the process group, never pickled;
2. reads only its own contiguous slice of rows (polars pushes the slice down, so a rank
   opens only the row groups it needs);
3. trains the same network wrapped in ``DistributedDataParallel`` (gloo on CPU, nccl on
   GPU) with ``batch_size / world_size`` rows per step, so a step sees the same number of
   rows as one process; epoch losses are averaged over ranks so all ranks stop together.

Rank 0 then calibrates the outlier threshold on the statistics rows and writes a normal model
directory; it returns the directory's path, the other ranks return ``None``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from aefeatures.config import FitConfig, resolve_batch_size
from aefeatures.errors import AEFeaturesError, ConfigError, DataError
from aefeatures.features.preprocessor import Preprocessor, select_features
from aefeatures.fitting.calibrate import (
    fit_config,
    fitted_model,
    new_network,
    reconstruction_loss,
    require_fit_rows,
)
from aefeatures.fitting.devices import resolve_device, set_threads
from aefeatures.fitting.rows import Batch, split_rows
from aefeatures.fitting.sampling import Sample, inferred_schema, sample_rows
from aefeatures.fitting.training import train
from aefeatures.io.parquet import ParquetSource
from aefeatures.io.sinks import check_output
from aefeatures.io.sources import scan
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.nn.network import Autoencoder
from aefeatures.schema.schemas import load_schema_file, schema_from_yaml, schema_to_yaml, validate

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
    **params
        Fields of :class:`~aefeatures.config.FitConfig`, as for :func:`aefeatures.fit`.

    Examples
    --------
    >>> from aefeatures.fitting.distributed import fit_distributed  # doctest: +SKIP
    >>> TorchDistributor(num_processes=4, local_mode=False).run(  # doctest: +SKIP
    ...     fit_distributed, "/dbfs/events", "/dbfs/models/events", exclude=["id"])
    """
    config = fit_config(params)
    if config.kind == "pca":
        raise ConfigError(
            "kind='pca' is solved in closed form on one machine, not trained in parallel.",
            hint="use aefeatures.fit",
        )
    set_threads(config.threads)
    rank, world, device = _start(config.device)
    try:

        def learn() -> tuple[dict[str, Any], pl.DataFrame]:
            check_output(model_dir, overwrite)  # only rank 0 writes, so only its file system matters
            return _learn_state(data, schema, config, stats_rows)

        state, stats = _shared_state(learn, rank, device)
        preprocessor = Preprocessor.from_dict(state["preprocessing"])
        local = _local_rows(data, state, preprocessor, rank, world, device)
        net, history = _train(local, preprocessor, config, rank, world, device)
        if stats is None:
            return None
        model = _rank_zero_model(config, net, preprocessor, state, stats, history)
        return str(model.save(model_dir, overwrite=overwrite))
    finally:
        if world > 1:
            dist.destroy_process_group()


def _start(device_name: str) -> tuple[int, int, torch.device]:
    """Rank, world size and device; joins the launcher's process group when there is one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world == 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _shared_state(
    learn: Callable[[], tuple[dict[str, Any], pl.DataFrame]], rank: int, device: torch.device
) -> tuple[dict[str, Any], pl.DataFrame | None]:
    """Rank 0 learns schema and preprocessing once; every rank gets them as JSON.

    Rank 0 also keeps the validated statistics rows, to calibrate the threshold on.
    """
    state: dict[str, Any] = {}
    stats = None
    if rank == 0:
        try:
            state, stats = learn()
        except AEFeaturesError as exc:
            _broadcast_json({"error": str(exc)}, device)
            raise
    state = _broadcast_json(state, device)
    if "error" in state:
        raise DataError(f"rank 0 could not prepare the training data: {state['error']}")
    return state, stats


def _learn_state(
    data: str | Path, schema: str | Path | None, config: FitConfig, stats_rows: int
) -> tuple[dict[str, Any], pl.DataFrame]:
    drawn = statistics_rows(data, stats_rows, config.seed)
    require_fit_rows(drawn.n_rows)
    features = select_features(drawn.frame.schema, config.columns, config.exclude)
    chosen = load_schema_file(schema) if schema is not None else inferred_schema(drawn, features)
    stats = validate(drawn.frame, chosen).select(features)
    preprocessor = Preprocessor.fit(
        stats, max_levels=config.max_levels, min_level_count=config.min_level_count
    )
    state = {
        "rows": drawn.n_rows,
        "features": features,
        "schema": schema_to_yaml(chosen),
        "preprocessing": preprocessor.to_dict(),
    }
    return state, stats


def statistics_rows(data: str | Path, stats_rows: int, seed: int) -> Sample:
    """The rows preprocessing is learned from, in file order, with all rows' missing counts.

    All rows when there are at most ``stats_rows``; otherwise a seeded uniform sample of
    ``stats_rows`` rows drawn in one streamed pass (:func:`~aefeatures.fitting.sampling.sample_rows`).
    """
    columns = scan(data).collect_schema().names()
    drawn = sample_rows(ParquetSource.open(data), columns, stats_rows, seed)
    order = np.argsort(drawn.index, kind="stable")
    return dataclasses.replace(drawn, frame=drawn.frame[order], index=drawn.index[order])


def _local_rows(
    data: str | Path,
    state: dict[str, Any],
    preprocessor: Preprocessor,
    rank: int,
    world: int,
    device: torch.device,
) -> Batch:
    """This rank's contiguous share of the rows, validated and encoded."""
    total = int(state["rows"])
    begin, end = rank * total // world, (rank + 1) * total // world
    frame = scan(data).slice(begin, end - begin).collect()
    features = validate(frame, schema_from_yaml(state["schema"])).select(state["features"])
    return Batch.from_encoded(preprocessor.encode(features), device)


def _train(
    rows: Batch, preprocessor: Preprocessor, config: FitConfig, rank: int, world: int, device: torch.device
) -> tuple[Autoencoder, dict[str, Any]]:
    """Train on this rank's rows; every rank ends with the same weights and the same history."""
    train_index, valid_index = split_rows(len(rows), config.validation_fraction, config.seed + rank)
    n_train, n_valid = _global_min([train_index.size, valid_index.size], world, device)
    # Equal row counts give every rank the same number of steps, which DDP needs.
    train_rows = rows.take(torch.from_numpy(train_index[:n_train]).to(device))
    valid_rows = rows.take(torch.from_numpy(valid_index[:n_valid]).to(device)) if n_valid else None
    net, loss_fn = new_network(config, preprocessor, device), reconstruction_loss(preprocessor, device)
    batch_size = resolve_batch_size(config, n_train * world)
    wrapped = _DDP(net, device_ids=[device.index] if device.type == "cuda" else None) if world > 1 else net
    sync = _epoch_sync(n_train, n_valid, device) if world > 1 else None
    history = train(wrapped, loss_fn, train_rows, valid_rows, config, max(1, batch_size // world), sync=sync)  # type: ignore[arg-type]
    _check_in_sync(net, world, device)
    record = {**history.to_dict(), "batch_size": batch_size, "device": str(device), "world_size": world}
    return net, record


def _rank_zero_model(
    config: FitConfig,
    net: Autoencoder,
    preprocessor: Preprocessor,
    state: dict[str, Any],
    stats: pl.DataFrame,
    history: dict[str, Any],
) -> AutoencoderModel:
    """The fitted model, its threshold and percentiles calibrated on the statistics rows."""
    schema = schema_from_yaml(state["schema"])
    model = fitted_model(config, net, preprocessor, stats, preprocessor.encode(stats), schema, history)
    model.metadata["fingerprint"].update(rows=int(state["rows"]), statistics_rows=stats.height)
    return model


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


def _global_min(values: Sequence[int], world: int, device: torch.device) -> list[int]:
    tensor = torch.tensor(list(values), dtype=torch.int64, device=device)
    if world > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return [int(v) for v in tensor.tolist()]


def _epoch_sync(
    n_train: int, n_valid: int, device: torch.device
) -> Callable[[dict[str, float]], dict[str, float]]:
    """Row-weighted means of the epoch's losses over ranks, and the slowest rank's clock."""

    def sync(record: dict[str, float]) -> dict[str, float]:
        keys = sorted(k for k in record if k not in ("epoch", "seconds"))
        weights = [n_valid if k == "valid_loss" else n_train for k in keys]
        sums = torch.tensor(
            [record[k] * w for k, w in zip(keys, weights, strict=True)] + weights,
            dtype=torch.float64,
            device=device,
        )
        dist.all_reduce(sums)
        seconds = torch.tensor([record["seconds"]], dtype=torch.float64, device=device)
        dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
        means = {k: float(sums[i] / max(float(sums[len(keys) + i]), 1.0)) for i, k in enumerate(keys)}
        return {"epoch": record["epoch"], **means, "seconds": float(seconds[0])}

    return sync


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


def main(argv: Sequence[str] | None = None) -> int:
    """``torchrun --nproc-per-node N -m aefeatures.distributed DATA MODEL_DIR [options]``."""
    parser = argparse.ArgumentParser(
        prog="python -m aefeatures.distributed", description="Data-parallel fit (run under torchrun)."
    )
    parser.add_argument("data")
    parser.add_argument("model_dir")
    parser.add_argument("--schema")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--stats-rows", type=int, default=STATS_ROWS)
    parser.add_argument("--exclude", nargs="*", default=[])
    parser.add_argument("--columns", nargs="*")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any FitConfig field, e.g. --set kind=denoising",
    )
    args = parser.parse_args(argv)
    try:
        params = dict(_parse_setting(item) for item in args.set)
        done = fit_distributed(
            args.data,
            args.model_dir,
            schema=args.schema,
            overwrite=args.overwrite,
            stats_rows=args.stats_rows,
            exclude=args.exclude,
            columns=args.columns,
            **params,
        )
    except AEFeaturesError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if done is not None:
        print(json.dumps({"model": done}))
    return 0


def _parse_setting(item: str) -> tuple[str, Any]:
    key, sep, text = item.partition("=")
    if not sep:
        raise ConfigError(f"--set {item!r} must look like KEY=VALUE.", hint="for example --set epochs=50")
    try:
        return key.replace("-", "_"), json.loads(text)
    except json.JSONDecodeError:
        return key.replace("-", "_"), text
