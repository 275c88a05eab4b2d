"""``aefeatures.mlflow``: the MLflow flavor, :mod:`aefeatures.integrations.mlflow`, under a shorter name.

README.md and docs/integrations.md document both names; a logged model's ``MLmodel`` names the
loader module ``aefeatures.integrations.mlflow``.
"""

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
