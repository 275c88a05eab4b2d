"""``import aefeatures.polars_namespace`` registers ``df.ae`` / ``lf.ae`` (see :mod:`aefeatures.integrations.polars_namespace`)."""

from aefeatures.integrations.polars_namespace import AEFrame, AELazyFrame

__all__ = ["AEFrame", "AELazyFrame"]
