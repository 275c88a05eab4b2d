"""Devices: a fit and a transform on a CUDA GPU give the values the CPU gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

import aefeatures as aef
from aefeatures.transform.streaming import transform_path


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
