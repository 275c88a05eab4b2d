"""Shared fixtures: fixed seeds, one torch thread, small real Parquet files, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _fixed_seeds_one_thread() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)


def make_mixed(rows: int = 600, seed: int = 0) -> pl.DataFrame:
    """Mixed-type data with structure: numeric, int, categorical, boolean, datetime, nulls, an id."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 2))
    income = np.exp(10 + 0.5 * latent[:, 0])
    income[rng.random(rows) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "x": latent[:, 0] + 0.05 * rng.normal(size=rows),
            "y": 2 * latent[:, 0] - latent[:, 1] + 0.05 * rng.normal(size=rows),
            "count": rng.poisson(3 + latent[:, 1].clip(-2, 2)).astype(np.int64),
            "income": income,
            "segment": np.where(
                latent[:, 1] > 0.3, "gold", np.where(latent[:, 1] < -0.3, "bronze", "silver")
            ),
            "active": latent[:, 0] + latent[:, 1] > 0,
            "seen": [datetime(2025, 1, 1) + timedelta(hours=int(h)) for h in rng.integers(0, 24 * 365, rows)],
            "label": rng.random(rows) < 0.05,
        }
    ).with_columns(pl.col("income").fill_nan(None))


@pytest.fixture
def mixed_frame() -> pl.DataFrame:
    return make_mixed()


@pytest.fixture
def mixed_parquet(tmp_path: Path, mixed_frame: pl.DataFrame) -> Path:
    path = tmp_path / "mixed.parquet"
    mixed_frame.write_parquet(path)
    return path


@pytest.fixture(scope="session")
def fitted_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small model fitted once per session on mixed data, saved to a directory."""
    import aefeatures as aef

    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("model")
    model = aef.fit(make_mixed(), exclude=["id", "label"], epochs=15, seed=0, threads=1)
    return model.save(directory / "mixed")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``aefeatures`` CLI in a subprocess (one torch thread)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "aefeatures", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
