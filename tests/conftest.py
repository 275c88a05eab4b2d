"""Shared fixtures: fixed seeds, one torch thread, small real Parquet files, fitted models.

The generators and subprocess runners behind them are in ``tests/helpers.py``; the names below
are re-exported so ``from tests.conftest import make_mixed, run_cli`` keeps working.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

import aefeatures as aef
from tests.helpers import REPO, make_anomalies, make_mixed, run_cli, write_partitioned

__all__ = ["REPO", "make_anomalies", "make_mixed", "run_cli"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first, the rest in their usual order: with ``make test``'s two
    workers the short tests then fill in at the end, instead of one worker finishing a long run
    alone while the other waits."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _fixed_seeds_one_thread() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def mixed_frame() -> pl.DataFrame:
    return make_mixed()


@pytest.fixture
def mixed_parquet(tmp_path: Path, mixed_frame: pl.DataFrame) -> Path:
    path = tmp_path / "mixed.parquet"
    mixed_frame.write_parquet(path)
    return path


@pytest.fixture
def partitioned(tmp_path: Path) -> tuple[Path, pl.DataFrame]:
    """A hive directory: region=north|south / day=1|2, several files and row groups."""
    root = tmp_path / "events"
    return root, write_partitioned(root)


@pytest.fixture(scope="session")
def anomalies() -> pl.DataFrame:
    """Numeric data with planted outliers (1,800 rows, 21 features ``f0..f20``, 0/1 ``label``)."""
    return make_anomalies()


@pytest.fixture(scope="session")
def anomalies_parquet(tmp_path_factory: pytest.TempPathFactory, anomalies: pl.DataFrame) -> Path:
    """:func:`anomalies` as Parquet in several row groups, so readers see more than one."""
    path = tmp_path_factory.mktemp("anomalies") / "anomalies.parquet"
    anomalies.write_parquet(path, row_group_size=300)
    return path


@pytest.fixture(scope="session")
def fitted_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small model fitted once per session on mixed data, saved to a directory."""
    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("model")
    model = aef.fit(make_mixed(), exclude=["id", "label"], epochs=15, seed=0, threads=1)
    return model.save(directory / "mixed")


@pytest.fixture(scope="module")
def model(fitted_model_dir: Path) -> aef.AutoencoderModel:
    """The session's model directory (:func:`fitted_model_dir`) loaded once per test module."""
    return aef.load(fitted_model_dir)


@pytest.fixture
def model_copy(fitted_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's model directory, free to damage."""
    return Path(shutil.copytree(fitted_model_dir, tmp_path / "model"))


@pytest.fixture(scope="module")
def quick_model() -> aef.AutoencoderModel:
    """A model fitted in memory on 800 mixed rows for 4 epochs (not saved)."""
    torch.set_num_threads(1)
    return aef.fit(make_mixed(800), exclude=["id", "label"], epochs=4, seed=0, threads=1)
