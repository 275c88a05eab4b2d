"""Quickstart: fit an autoencoder on a mixed-type table, append its features, look at the odd rows.

    python examples/quickstart.py            # writes into ./quickstart
    python examples/quickstart.py --rows 2000 --epochs 20 --dir /tmp/qs

The table has numbers, integers with nulls, categories, booleans and dates, plus ~1% planted
anomalies (``is_anomaly``), which the model never sees: it is left out with ``exclude``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

import aefeatures as aef
from aefeatures.explore.demo import make_customers
from aefeatures.explore.metrics import roc_auc


def main(directory: Path, rows: int, epochs: int) -> None:
    """Write data, fit, save (with report.html), transform lazily and print what was found."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "customers.parquet"
    make_customers(rows, seed=0).write_parquet(data)

    model = aef.fit(data, exclude=["customer_id", "is_anomaly"], epochs=epochs, seed=0)
    model.save(
        directory / "model", overwrite=True
    )  # model.safetensors, aefeatures.json, schema.yaml, report.html
    model = aef.load(directory / "model")  # what a later job does

    # A LazyFrame stays lazy: the model runs batch by batch while polars streams the file.
    features = pl.scan_parquet(data).pipe(model.transform, per_feature_errors=True).collect()
    features.write_parquet(directory / "customers_features.parquet")

    auc = roc_auc(features["is_anomaly"].to_numpy(), features["ae_error"].to_numpy())
    print(
        f"{features.height} rows, {model.latent_dim} embedding columns; "
        f"ae_error ranks planted anomalies with ROC-AUC {auc:.3f}"
    )
    error_columns = [f"ae_error__{name}" for name in model.columns]
    oddest = features.sort("ae_error", descending=True).head(5)
    for row in oddest.iter_rows(named=True):
        worst = max(error_columns, key=lambda name: row[name]).removeprefix("ae_error__")
        print(
            f"  customer {row['customer_id']}: ae_error {row['ae_error']:.2f} "
            f"({row['ae_error_pct']:.1f} pct), mostly {worst}={row[worst]}"
        )
    print(f"report: {directory / 'model' / 'report.html'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="aefeatures quickstart")
    parser.add_argument(
        "--dir", type=Path, default=Path("quickstart"), help="where to write data, model and features"
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=200)
    arguments = parser.parse_args()
    main(arguments.dir, arguments.rows, arguments.epochs)
