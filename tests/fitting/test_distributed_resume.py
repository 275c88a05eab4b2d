"""Data-parallel fits get the pipeline's checkpoints and sampling (one process: world size 1)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.fitting.checkpoint import Checkpoint
from aefeatures.fitting.distributed import fit_distributed


class Interrupted(Exception):
    pass


def test_an_interrupted_distributed_fit_resumes_to_the_uninterrupted_model(
    anomalies_parquet: Path, tmp_path: Path
) -> None:
    settings = {"exclude": ["label"], "epochs": 5, "seed": 0, "threads": 1}
    whole = aef.load(fit_distributed(anomalies_parquet, tmp_path / "whole", **settings))
    checkpoint = tmp_path / "run.checkpoint"

    def stop_after_three(epoch: int, record: dict[str, float]) -> None:
        if epoch == 4:  # epoch 3's checkpoint is written; epoch 4 never finishes
            raise Interrupted

    with pytest.raises(Interrupted):
        fit_distributed(
            anomalies_parquet,
            tmp_path / "first",
            checkpoint=Checkpoint(checkpoint, every_seconds=0),
            on_epoch=stop_after_three,
            **settings,
        )
    assert not (tmp_path / "first").exists()
    seen: list[int] = []
    done = fit_distributed(
        anomalies_parquet,
        tmp_path / "resumed",
        checkpoint=checkpoint,
        resume=True,
        on_epoch=lambda epoch, record: seen.append(epoch),
        **settings,
    )
    assert seen == [4, 5]  # only the remaining epochs ran
    resumed = aef.load(done)
    frame = pl.read_parquet(anomalies_parquet)
    assert resumed.threshold == whole.threshold
    assert resumed.transform(frame)["ae_error"].equals(whole.transform(frame)["ae_error"])


def test_a_sampled_distributed_fit_trains_on_the_sample(anomalies_parquet: Path, tmp_path: Path) -> None:
    settings = {"exclude": ["label"], "epochs": 2, "seed": 0, "threads": 1}
    full = aef.load(fit_distributed(anomalies_parquet, tmp_path / "full", **settings))
    sampled = aef.load(fit_distributed(anomalies_parquet, tmp_path / "sampled", sample=200, **settings))
    rows = pl.scan_parquet(anomalies_parquet).select(pl.len()).collect().item()
    assert sampled.info()["training"]["rows"] == full.info()["training"]["rows"] == rows
    # fewer rows per epoch means fewer optimiser steps: the sampled fit is a different model
    assert (
        sampled.metadata["history"]["epochs"][-1]["train_loss"]
        != full.metadata["history"]["epochs"][-1]["train_loss"]
    )
    with pytest.raises(aef.DataError, match="sample=1"):
        fit_distributed(anomalies_parquet, tmp_path / "bad", sample=1, **settings)
