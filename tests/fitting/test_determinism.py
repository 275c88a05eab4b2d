"""Determinism: same data, seed and thread count give bitwise-identical weights, embeddings and
errors, across runs, across save/load, and across an interrupted-then-resumed fit (CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

import aefeatures as aef
from aefeatures.errors import ModelFileError
from aefeatures.fitting.checkpoint import STATE, Checkpoint
from aefeatures.model.manifest import WEIGHTS
from tests.helpers import assert_same_weights, make_mixed, weights

KINDS = ["deep", "variational", "denoising", "sparse-kl"]  # plain, sampled latent, input noise, penalty


class Interrupted(Exception):
    """Stands in for a kill after an epoch's checkpoint was written."""


def fit(frame: pl.DataFrame, kind: str, **extra: object) -> aef.AutoencoderModel:
    return aef.fit(
        frame, kind=kind, exclude=["id", "label"], epochs=5, patience=100, seed=11, threads=1, **extra
    )


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return make_mixed(400, seed=21)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_gives_bitwise_identical_models_and_features(
    kind: str, frame: pl.DataFrame, tmp_path: Path
) -> None:
    first, second = fit(frame, kind), fit(frame, kind)
    assert_same_weights(first, second)
    assert first.threshold == second.threshold
    out = first.transform(frame)
    assert out.equals(second.transform(frame))
    first.save(tmp_path / "a")
    second.save(tmp_path / "b")
    assert (tmp_path / "a" / WEIGHTS).read_bytes() == (tmp_path / "b" / WEIGHTS).read_bytes()
    loaded = aef.load(tmp_path / "a", device="cpu")
    assert_same_weights(first, loaded)
    assert loaded.transform(frame).equals(out)  # embeddings, errors, percentiles, flags


def test_a_different_seed_gives_a_different_model(frame: pl.DataFrame) -> None:
    a, b = fit(frame, "deep"), aef.fit(frame, exclude=["id", "label"], epochs=5, seed=12, threads=1)
    assert not torch.equal(weights(a)["code_layer.weight"], weights(b)["code_layer.weight"])


def test_transform_is_repeatable_and_batch_size_changes_only_rounding(frame: pl.DataFrame) -> None:
    model = fit(frame, "deep")
    whole = model.transform(frame)
    assert model.transform(frame).equals(whole)
    pieces = pl.concat([model.transform(frame.slice(start, 37)) for start in range(0, frame.height, 37)])
    lazy = model.transform(frame.lazy()).collect()
    for batched in (pieces, lazy):
        # Different batch shapes may take different float32 kernels: equal to rounding, documented.
        assert batched.select(frame.columns).equals(frame)
        assert np.allclose(batched["ae_error"].to_numpy(), whole["ae_error"].to_numpy(), rtol=1e-5, atol=1e-6)
        assert np.allclose(batched["ae_z0"].to_numpy(), whole["ae_z0"].to_numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["deep", "variational", "denoising"])
def test_interrupted_and_resumed_fit_equals_the_uninterrupted_fit(
    kind: str, frame: pl.DataFrame, tmp_path: Path
) -> None:
    uninterrupted = fit(frame, kind)
    checkpoint = tmp_path / "run.checkpoint"

    def stop_after_three(epoch: int, record: dict[str, float]) -> None:
        if epoch == 4:  # epoch 3's checkpoint is written; epoch 4 never finishes
            raise Interrupted

    with pytest.raises(Interrupted):
        fit(frame, kind, on_epoch=stop_after_three, checkpoint=Checkpoint(checkpoint, every_seconds=0))
    seen: list[int] = []
    resumed = fit(
        frame, kind, on_epoch=lambda epoch, record: seen.append(epoch), checkpoint=checkpoint, resume=True
    )
    assert seen == [4, 5]  # really resumed: only the remaining epochs ran
    assert_same_weights(uninterrupted, resumed)
    assert resumed.metadata["history"]["best_epoch"] == uninterrupted.metadata["history"]["best_epoch"]
    losses = [{k: v for k, v in e.items() if k != "seconds"} for e in resumed.metadata["history"]["epochs"]]
    assert losses == [
        {k: v for k, v in e.items() if k != "seconds"} for e in uninterrupted.metadata["history"]["epochs"]
    ]
    assert resumed.transform(frame).equals(uninterrupted.transform(frame))


def test_resume_without_a_checkpoint_starts_from_the_first_epoch(frame: pl.DataFrame, tmp_path: Path) -> None:
    seen: list[int] = []
    model = fit(
        frame,
        "deep",
        on_epoch=lambda epoch, record: seen.append(epoch),
        checkpoint=tmp_path / "none",
        resume=True,
    )
    assert seen == [1, 2, 3, 4, 5]
    assert_same_weights(model, fit(frame, "deep"))


def test_a_damaged_checkpoint_is_refused(frame: pl.DataFrame, tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.checkpoint"
    fit(frame, "deep", checkpoint=Checkpoint(checkpoint, every_seconds=0))
    assert (checkpoint / STATE).is_file()
    tensors = checkpoint / "state.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:-8])
    with pytest.raises(ModelFileError, match="checkpoint .* cannot be used"):
        fit(frame, "deep", checkpoint=checkpoint, resume=True)


def test_a_streamed_fit_resumes_bit_for_bit(tmp_path: Path) -> None:
    """Streaming fit (rows read from disk each epoch) checkpoints and resumes the same way."""
    make_mixed(1500, seed=22).write_parquet(tmp_path / "data.parquet")
    params = {
        "exclude": ["id", "label"],
        "epochs": 4,
        "patience": 100,
        "seed": 2,
        "threads": 1,
        "stream": True,
    }
    uninterrupted = aef.fit(tmp_path / "data.parquet", **params)

    def stop_after_two(epoch: int, record: dict[str, float]) -> None:
        if epoch == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        aef.fit(
            tmp_path / "data.parquet",
            on_epoch=stop_after_two,
            checkpoint=Checkpoint(tmp_path / "c", every_seconds=0),
            **params,
        )
    seen: list[int] = []
    resumed = aef.fit(
        tmp_path / "data.parquet",
        on_epoch=lambda e, r: seen.append(e),
        checkpoint=tmp_path / "c",
        resume=True,
        **params,
    )
    assert seen == [3, 4]
    assert_same_weights(uninterrupted, resumed)
