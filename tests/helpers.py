"""What the tests share, written once: paths, data generators, subprocess runners, comparisons.

Every generator is seeded and builds its table in memory, so the suite needs no data outside the
repository. Fixtures built from these live in ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from aefeatures.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"  # only next to the CI checkout, never in a user's clone
ODDS = SHARED_DATA / "anomaly"


def needs_odds(name: str) -> pytest.MarkDecorator:
    """Skip unless the ODDS table ``name`` is in ``../shared/data/anomaly`` (it is in CI)."""
    return pytest.mark.skipif(
        not (ODDS / f"{name}.parquet").is_file(),
        reason=f"needs the ODDS benchmark table {ODDS / name}.parquet, which is not part of the repository",
    )


# --- data generators -------------------------------------------------------------------------------


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


def drifted_frame() -> pl.DataFrame:
    """Fresh rows where 'segment' gains a new level, 'x' leaves its range and 'income' goes missing."""
    frame = make_mixed(rows=400, seed=1)
    rows = np.arange(frame.height)
    return frame.with_columns(
        pl.when(pl.Series(rows % 4 == 0))
        .then(pl.lit("platinum"))
        .otherwise(pl.col("segment"))
        .alias("segment"),
        pl.when(pl.Series(rows % 10 == 0))
        .then(pl.col("x").abs() * 1000 + 100)
        .otherwise(pl.col("x"))
        .alias("x"),
        pl.when(pl.Series(rows % 3 == 0)).then(None).otherwise(pl.col("income")).alias("income"),
    )


def make_anomalies(
    rows: int = 1800,
    columns: int = 21,
    outlier_fraction: float = 0.1,
    seed: int = 0,
    *,
    latent: int = 3,
    noise: float = 0.1,
    swapped: int = 2,
) -> pl.DataFrame:
    """An ODDS-style outlier table: numeric ``f0 .. f{columns-1}`` and a 0/1 ``label`` (Int64).

    Normal rows lie near a curved ``latent``-dimensional surface (a fixed linear map plus a
    tanh bend, then per-column scales and offsets) with Gaussian ``noise``. In the planted
    outliers (``label == 1``, at random positions) ``swapped`` columns take the values of other
    random rows: every column keeps its distribution, only the relations between columns break,
    so a row is found by how badly it is reconstructed, not by any single value. The surface
    depends only on ``columns`` and ``latent``; ``seed`` draws the rows.
    """
    shape = np.random.default_rng([columns, latent])
    linear, bend = shape.normal(size=(latent, columns)), shape.normal(size=(latent, columns))
    scale, offset = np.exp(shape.normal(scale=0.7, size=columns)), shape.normal(scale=5.0, size=columns)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, latent))
    clean = z @ linear + 0.5 * np.tanh(z @ bend) + noise * rng.normal(size=(rows, columns))
    values = clean.copy()
    outliers = rng.choice(rows, size=round(rows * outlier_fraction), replace=False)
    for row in outliers:
        chosen = rng.choice(columns, size=swapped, replace=False)
        values[row, chosen] = clean[rng.integers(0, rows, size=swapped), chosen]
    label = np.zeros(rows, dtype=np.int64)
    label[outliers] = 1
    values = values * scale + offset
    return pl.DataFrame({**{f"f{j}": values[:, j] for j in range(columns)}, "label": label})


def make_factors(rows: int = 1500, seed: int = 0) -> pl.DataFrame:
    """Ten numeric columns driven by three latent factors (fixed loadings) plus a little noise."""
    loadings = np.random.default_rng(100).normal(size=(3, 10))
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, 3)) @ loadings + 0.1 * rng.normal(size=(rows, 10))
    return pl.DataFrame({f"x{j}": values[:, j] for j in range(10)})


def write_partitioned(root: Path, rows: int = 1200, seed: int = 3) -> pl.DataFrame:
    """A hive directory under ``root``: region=north|south / day=1|2, several files and row groups.

    Returns the whole table, partition columns included.
    """
    frame = make_mixed(rows, seed=seed).with_columns(
        region=pl.when(pl.col("id") % 2 == 0).then(pl.lit("north")).otherwise(pl.lit("south")),
        day=(pl.col("id") % 3 == 0).cast(pl.Int64) + 1,
    )
    for (region, day), group in frame.group_by("region", "day", maintain_order=True):
        target = root / f"region={region}" / f"day={day}" / "part-0.parquet"
        target.parent.mkdir(parents=True)
        group.drop("region", "day").write_parquet(target, row_group_size=70)
    return frame


# --- subprocesses ----------------------------------------------------------------------------------


def subprocess_env() -> dict[str, str]:
    """The environment of every child process: one OpenMP thread, unbuffered output."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run_python(
    *args: object, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with ``args`` (a script, ``-m module`` ...) and capture its output."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=subprocess_env(),
        timeout=timeout,
    )


def run_cli(*args: object, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``aefeatures`` CLI in a subprocess (one torch thread)."""
    return run_python("-m", "aefeatures", *args, cwd=cwd, timeout=timeout)


def start_cli(*args: object, cwd: Path) -> subprocess.Popen[str]:
    """Start the real ``aefeatures`` CLI in a subprocess without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "aefeatures", *map(str, args)],
        cwd=cwd,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_script(
    directory: str, script: str, *args: object, cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run one of the repository's scripts (``examples/``, ``benchmarks/``) as a user runs it."""
    return run_python(REPO / directory / script, *args, cwd=cwd, timeout=timeout)


# --- failing commands -----------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` with a hash of its content."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        if path.is_file()
        else "dir"
        for path in sorted(root.rglob("*"))
    }


def fails_cleanly(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str] | tuple[str, ...],
    code: int,
    *says: str,
) -> str:
    """Run the CLI in-process with ``argv``; assert its exit ``code``, each fragment of ``says`` in
    its message, no traceback, an ``error:`` line and a hint for a data error (exit 1), and nothing
    under ``workdir`` written, changed or removed. Returns the message with Rich's wrapping undone."""
    before = snapshot(workdir)
    assert main(list(argv)) == code
    err = capsys.readouterr().err
    message = " ".join(err.replace("│", " ").split())
    for fragment in says:
        assert fragment in message, f"{fragment!r} not in: {message}"
    assert "Traceback" not in err and "internal error" not in err
    if code == 1:
        assert message.startswith("error: ") and "Hint:" in message
    assert snapshot(workdir) == before, "the failed command wrote, changed or removed files"
    return message


# --- comparisons -----------------------------------------------------------------------------------


def weights(model: object) -> dict[str, torch.Tensor]:
    """A fitted model's network weights, on the CPU."""
    return {k: v.detach().cpu() for k, v in model.net.state_dict().items()}  # type: ignore[attr-defined]


def assert_same_tensors(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    """The same names and bit-for-bit the same values."""
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def assert_same_weights(a: object, b: object) -> None:
    """Two fitted models have bit-for-bit the same network weights."""
    assert_same_tensors(weights(a), weights(b))
