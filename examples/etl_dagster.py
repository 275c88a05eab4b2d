"""A scheduled ETL step with Dagster: fit an aefeatures model weekly, append its features daily.

Layout under one root directory (a stand-in for a warehouse bucket)::

    warehouse/customers/date=YYYY-MM-DD/part-0.parquet   input, one partition per day
    models/customers/week=YYYY-MM-DD/                    one model directory per week (report.html inside)
    features/customers/date=YYYY-MM-DD/part-0.parquet    input columns + ae_z*, ae_error, ae_outlier, ...

Two partitioned assets and two schedules:

* ``customers_model`` (weekly, Mondays 02:00): fit on the seven days of the week that just ended.
* ``customers_features`` (daily, 04:00): score yesterday with the model of the *previous* complete
  week, so a day is never scored by a model that saw it. Drift or schema failures fail the run.

Run it in-process on generated data (no server, no daemon)::

    pip install "aefeatures[examples]"
    python examples/etl_dagster.py --root etl-demo

or load the same definitions in Dagster's UI and turn the schedules on::

    AEFEATURES_ETL_ROOT=etl-demo dagster dev -f examples/etl_dagster.py
"""

# No "from __future__ import annotations": Dagster reads the config and resource annotations at run time.
import argparse
import os
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl

import aefeatures as aef
from aefeatures.explore.demo import make_customers
from aefeatures.io.writers import write_parquet

TABLE = "customers"
FIRST_DAY = "2026-01-05"  # a Monday: weeks run Monday to Sunday
NOT_FEATURES = ["customer_id", "is_anomaly"]  # an id and a label never go into the model

weekly = dg.WeeklyPartitionsDefinition(start_date=FIRST_DAY, day_offset=1)
daily = dg.DailyPartitionsDefinition(start_date=FIRST_DAY)
# Offsets count daily partitions: day D reads the week that holds D - 7, the last complete week before D's.
previous_week = dg.TimeWindowPartitionMapping(start_offset=-7, end_offset=-7)


class Lake(dg.ConfigurableResource):
    """Where the pipeline reads and writes: one root directory."""

    root: str

    def day_file(self, area: str, day: str) -> Path:
        """The Parquet file of one day's partition in ``warehouse`` or ``features``."""
        return Path(self.root) / area / TABLE / f"date={day}" / "part-0.parquet"

    def model_dir(self, week: str) -> Path:
        """The model directory fitted on the week starting ``week``."""
        return Path(self.root) / "models" / TABLE / f"week={week}"


class WeeklyFit(dg.Config):
    """Fit parameters; any aefeatures fit option could be added the same way."""

    kind: str = "deep"
    epochs: int = 100
    seed: int = 0


@dg.asset(partitions_def=weekly, description="aefeatures model fitted on one week of customers.")
def customers_model(context: dg.AssetExecutionContext, config: WeeklyFit, lake: Lake) -> dg.MaterializeResult:
    """Fit on the days of the partition's week and write the model directory (replacing a re-run's)."""
    window = context.partition_time_window
    days = [
        (window.start + timedelta(days=i)).date().isoformat() for i in range((window.end - window.start).days)
    ]
    files = [lake.day_file("warehouse", day) for day in days if lake.day_file("warehouse", day).exists()]
    if not files:
        raise dg.Failure(
            f"no {TABLE} data for the week of {days[0]}: "
            f"expected files like {lake.day_file('warehouse', days[0])}"
        )
    model = aef.fit(
        pl.scan_parquet(files), exclude=NOT_FEATURES, kind=config.kind, epochs=config.epochs, seed=config.seed
    )
    path = model.save(_parent_made(lake.model_dir(context.partition_key)), overwrite=True)
    info = model.info()
    context.log.info(f"fitted {info['kind']} on {info['training']['rows']} rows from {len(files)} days")
    return dg.MaterializeResult(
        metadata={
            "model": dg.MetadataValue.path(str(path)),
            "report": dg.MetadataValue.path(str(path / "report.html")),
            "rows": info["training"]["rows"],
            "days": len(files),
            "threshold": info["threshold"],
        }
    )


@dg.asset(
    partitions_def=daily,
    ins={
        "model_week": dg.AssetIn("customers_model", dagster_type=dg.Nothing, partition_mapping=previous_week)
    },
    description="customers with aefeatures columns appended, scored by the previous week's model.",
)
def customers_features(context: dg.AssetExecutionContext, lake: Lake) -> dg.MaterializeResult:
    """Append the model's features to one day and write it atomically (a re-run replaces it)."""
    week = context.asset_partition_key_for_input("model_week")
    model_dir = lake.model_dir(week)
    if not model_dir.is_dir():
        raise dg.Failure(
            f"no model for the week of {week} at {model_dir}: materialize customers_model for {week} first"
        )
    source = lake.day_file("warehouse", context.partition_key)
    features = aef.load(model_dir).transform(source)  # validates against the model's schema first
    target = write_parquet(
        features, _parent_made(lake.day_file("features", context.partition_key)), overwrite=True
    )
    outliers = int(features["ae_outlier"].sum())
    context.log.info(
        f"{context.partition_key}: {features.height} rows, {outliers} outliers, model of week {week}"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "rows": features.height,
            "outliers": outliers,
            "model_week": week,
        }
    )


fit_weekly = dg.define_asset_job("fit_weekly", selection=[customers_model])
transform_daily = dg.define_asset_job("transform_daily", selection=[customers_features])

defs = dg.Definitions(
    assets=[customers_model, customers_features],
    jobs=[fit_weekly, transform_daily],
    schedules=[
        dg.build_schedule_from_partitioned_job(fit_weekly, hour_of_day=2, day_of_week=1),  # Monday: last week
        dg.build_schedule_from_partitioned_job(transform_daily, hour_of_day=4),  # every day: yesterday
    ],
    resources={"lake": Lake(root=os.environ.get("AEFEATURES_ETL_ROOT", "etl-data"))},
)


def seed_warehouse(lake: Lake, first: date, days: int, rows: int) -> list[str]:
    """Write ``days`` daily partitions of generated customers, ~1% of rows anomalous."""
    written = []
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        write_parquet(
            make_customers(rows, seed=offset), _parent_made(lake.day_file("warehouse", day)), overwrite=True
        )
        written.append(day)
    return written


def run_pipeline(root: Path, *, days: int = 10, rows: int = 2_000, epochs: int = 100) -> dict[str, object]:
    """Seed ``days`` days, fit the first week, then transform every day after it, all in-process."""
    lake = Lake(root=str(root))
    seeded = seed_warehouse(lake, date.fromisoformat(FIRST_DAY), days, rows)
    week = FIRST_DAY
    dg.materialize(
        [customers_model],
        partition_key=week,
        resources={"lake": lake},
        run_config=dg.RunConfig(ops={"customers_model": WeeklyFit(epochs=epochs)}),
    )
    scored = [
        day
        for day in seeded
        if datetime.fromisoformat(day) >= datetime.fromisoformat(week) + timedelta(days=7)
    ]
    for day in scored:
        dg.materialize(
            [customers_model, customers_features],
            selection=[customers_features],
            partition_key=day,
            resources={"lake": lake},
        )
    return {
        "model": str(lake.model_dir(week)),
        "scored_days": scored,
        "features": [str(lake.day_file("features", d)) for d in scored],
    }


def _parent_made(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=Path("etl-demo"), help="directory the pipeline writes into"
    )
    parser.add_argument(
        "--days", type=int, default=10, help="days of data to generate (the first 7 train the model)"
    )
    parser.add_argument("--rows", type=int, default=2_000, help="rows per day")
    parser.add_argument("--epochs", type=int, default=100)
    arguments = parser.parse_args()
    result = run_pipeline(arguments.root, days=arguments.days, rows=arguments.rows, epochs=arguments.epochs)
    print(f"model: {result['model']} (report: {result['model']}/report.html)")
    for path in result["features"]:
        print(f"features: {path}")
