"""pandera ``DataFrameModel`` of the demo customer table (:func:`aefeatures.explore.demo.make_customers`).

The same rules as ``schemas/customers.yaml``, written as Python. Use it with
``aefeatures fit customers.parquet --schema schemas/customers.py -x customer_id -x is_anomaly``
(or ``schemas/customers.py:Customers`` when a file holds several models).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

PLANS = ["basic", "plus", "premium", "enterprise"]


class Customers(pa.DataFrameModel):
    """One row per customer; ``is_anomaly`` (a label) is allowed but not described."""

    customer_id: int = pa.Field(unique=True, ge=1)
    age: int = pa.Field(in_range={"min_value": 0, "max_value": 130})
    income: float = pa.Field(nullable=True, ge=0)
    plan: pl.Categorical = pa.Field(isin=PLANS)
    region: str
    tenure_months: int = pa.Field(ge=0)
    monthly_spend: float = pa.Field(ge=0)
    sessions_per_week: float = pa.Field(ge=0)
    support_tickets: int = pa.Field(ge=0)
    is_active: bool
    signup_date: pl.Datetime(time_unit="us")

    class Config:
        """Extra columns allowed; values converted to the declared types when safe."""

        strict = False
        coerce = True
        name = "customers"
