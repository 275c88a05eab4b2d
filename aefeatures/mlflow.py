"""``aefeatures.mlflow``, the documented path of :mod:`aefeatures.integrations.mlflow`."""

from aefeatures.integrations.mlflow import (
    FLAVOR_NAME,
    get_default_conda_env,
    get_default_pip_requirements,
    load_model,
    log_model,
    model_signature,
    save_model,
)

__all__ = [
    "FLAVOR_NAME",
    "get_default_conda_env",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "model_signature",
    "save_model",
]
