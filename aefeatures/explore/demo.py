"""``aefeatures demo``: a generated mixed-type customer table with planted anomalies."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError, DataError
from aefeatures.explore.metrics import average_precision, roc_auc
from aefeatures.io.published import more_outputs_follow
from aefeatures.io.sinks import check_output
from aefeatures.io.writers import write_parquet

PLANS = ("basic", "plus", "premium", "enterprise")
PLAN_PRICE = np.array([10.0, 25.0, 60.0, 200.0])
REGIONS = ("north", "south", "east", "west", "central", "coast", "mountain", "islands")
ANOMALY_RATE = 0.01
AS_OF = datetime(2026, 1, 1)


def make_customers(rows: int = 20_000, seed: int = 0) -> pl.DataFrame:
    """Customers whose columns depend on each other, with ~1% rows that break the pattern.

    Numeric, integer, categorical, boolean and datetime columns; ``income`` has missing
    values; ``is_anomaly`` marks the planted rows (exclude it, and ``customer_id``, from fit).
    """
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    wealth = rng.normal(size=rows) + (age - 45) / 30  # latent driver of income and plan
    income = np.exp(10.6 + 0.45 * wealth + 0.1 * rng.normal(size=rows))
    plan = np.clip(np.digitize(wealth + 0.3 * rng.normal(size=rows), [-0.5, 0.6, 1.6]), 0, 3)
    engagement = rng.gamma(2.0, 1.5, rows)
    sessions = rng.poisson(engagement).astype(np.float64)
    spend = PLAN_PRICE[plan] * (1 + 0.05 * sessions) * rng.lognormal(0, 0.1, rows)
    tenure = rng.integers(1, 120, rows)
    tickets = rng.poisson(0.3 + 2.0 / (1 + sessions))
    is_active = sessions + rng.normal(0, 0.5, rows) > 1.0
    region = rng.choice(len(REGIONS), rows, p=[0.2, 0.15, 0.15, 0.15, 0.12, 0.1, 0.08, 0.05])
    signup_days = tenure * 30.4 + rng.normal(0, 3, rows)

    anomalous = rng.random(rows) < ANOMALY_RATE
    kind = rng.integers(0, 4, rows)
    planted = np.flatnonzero(anomalous)
    spend[planted[kind[planted] == 0]] *= rng.uniform(6, 12, (kind[planted] == 0).sum())
    mismatch = planted[kind[planted] == 1]
    plan[mismatch] = np.where(plan[mismatch] >= 2, 0, 3)
    busy_inactive = planted[kind[planted] == 2]
    sessions[busy_inactive] += 25
    is_active[busy_inactive] = False
    signup_days[planted[kind[planted] == 3]] += 365 * rng.uniform(4, 8, (kind[planted] == 3).sum())

    income_missing = rng.random(rows) < 0.05
    frame = pl.DataFrame(
        {
            "customer_id": np.arange(1, rows + 1, dtype=np.int64),
            "age": age.astype(np.int64),
            "income": np.where(income_missing, np.nan, np.round(income, 2)),
            "plan": np.asarray(PLANS)[plan],
            "region": np.asarray(REGIONS)[region],
            "tenure_months": tenure.astype(np.int64),
            "monthly_spend": np.round(spend, 2),
            "sessions_per_week": sessions,
            "support_tickets": tickets.astype(np.int64),
            "is_active": is_active,
            "signup_date": [AS_OF - timedelta(days=float(d)) for d in signup_days],
            "is_anomaly": anomalous,
        }
    )
    return frame.with_columns(pl.col("income").fill_nan(None), pl.col("plan").cast(pl.Categorical))


MIN_DEMO_ROWS = 200  # about 2 planted anomalies: fewer rows can plant none, and ROC-AUC needs both
MAX_DEMO_ROWS = 10_000_000  # a few GB while generating: more is not a demo
DATA, MODEL, FEATURES = "customers.parquet", "model", "customers_features.parquet"


def check_rows(rows: int) -> None:
    """The demo's row count: from :data:`MIN_DEMO_ROWS` to :data:`MAX_DEMO_ROWS`."""
    if not MIN_DEMO_ROWS <= rows <= MAX_DEMO_ROWS:
        raise ConfigError(
            f"rows={rows:,} is outside {MIN_DEMO_ROWS:,} to {MAX_DEMO_ROWS:,}: the demo needs enough rows to "
            "plant anomalies among and few enough to generate in memory.",
            hint="e.g. --rows 20000 (the default)",
        )


def run_demo(directory: Path, *, rows: int, seed: int, show_progress: bool = True) -> dict[str, Any]:
    """Write the data, fit, transform and measure how well ``ae_error`` finds the planted rows.

    Everything is checked before anything is written: the row count, the seed, that ``directory``
    is a directory (or absent) and that the demo's three outputs in it are absent or the demo's
    own from an earlier run (replaced); a user's file of the same name is never replaced.
    """
    from aefeatures.api import fit
    from aefeatures.fitting.progress import epoch_progress

    check_rows(rows)
    FitConfig(seed=seed).validate()
    if os.path.lexists(directory) and not directory.is_dir():
        raise DataError(
            f"--dir {str(directory)!r} is not a directory.", hint="pass --dir with a new or demo directory"
        )
    if directory.is_dir():
        check_output(directory / DATA, True, kind="parquet")  # replaced only when the demo wrote them
        check_output(directory / MODEL, True, kind="model")
        check_output(directory / FEATURES, True, kind="parquet")
    customers = make_customers(rows, seed)
    if not 0 < int(customers["is_anomaly"].sum()) < rows:
        raise DataError(
            f"{rows} rows with seed {seed} planted no anomaly, so how well they are found cannot be measured.",
            hint="use more rows, e.g. --rows 20000",
        )
    directory.mkdir(parents=True, exist_ok=True)
    data_path = write_parquet(customers, directory / DATA, overwrite=True)
    more_outputs_follow()  # the data is not the demo's last output: a stop signal acts at once
    with epoch_progress(FitConfig.epochs, enabled=show_progress) as on_epoch:
        model = fit(data_path, exclude=["customer_id", "is_anomaly"], seed=seed, on_epoch=on_epoch)
    model_path = model.save(directory / MODEL, overwrite=True)
    more_outputs_follow()
    features = model.transform(data_path, per_feature_errors=True)
    output_path = write_parquet(features, directory / FEATURES, overwrite=True)
    labels = features["is_anomaly"].to_numpy()
    errors = features["ae_error"].to_numpy()
    flagged = features["ae_outlier"].to_numpy()
    return {
        "data": str(data_path),
        "model": str(model_path),
        "report": str(model_path / "report.html"),
        "output": str(output_path),
        "rows": features.height,
        "anomalies": int(labels.sum()),
        "roc_auc": roc_auc(labels, errors),
        "average_precision": average_precision(labels, errors),
        "flagged": int(flagged.sum()),
        "flagged_anomalies": int((flagged & labels).sum()),
    }
