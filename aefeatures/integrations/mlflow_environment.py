"""What an MLflow model needs to be served from its own files: the package's code and pinned requirements.

aefeatures is not on a package index, so ``aefeatures==0.1.0`` in ``requirements.txt`` would
break every environment MLflow rebuilds (``mlflow models serve``, ``spark_udf`` with an env
manager). Instead the package's source is copied under ``code/aefeatures/`` (MLflow's
``code_paths``: prepended to ``sys.path`` before the loader module is imported) and the
requirements pin what the package itself depends on, at the versions installed here, all of
which are on PyPI: MLflow, torch and the core dependencies of ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.metadata as metadata
import shutil
from pathlib import Path
from typing import Any

from mlflow.utils.environment import (
    _CONDA_ENV_FILE_NAME,
    _CONSTRAINTS_FILE_NAME,
    _PYTHON_ENV_FILE_NAME,
    _REQUIREMENTS_FILE_NAME,
    _process_conda_env,
    _process_pip_requirements,
    _PythonEnv,
)
from mlflow.utils.file_utils import write_to
from packaging.requirements import Requirement

import aefeatures
from aefeatures.errors import ConfigError

CODE_DIR = "code"  # MLflow's name for a model's code directory


def pinned_requirements() -> list[str]:
    """The installed MLflow client, torch and the core dependencies of aefeatures, each ``==`` its version.

    Examples
    --------
    >>> pinned = pinned_requirements()
    >>> any(r.startswith("torch==") for r in pinned), any(r.startswith("aefeatures") for r in pinned)
    (True, False)
    """
    try:
        declared = metadata.requires("aefeatures") or []
    except metadata.PackageNotFoundError as exc:  # running from a model's code/ directory
        raise ConfigError(
            "aefeatures is not installed as a package here, so its requirements cannot be read.",
            hint="pass pip_requirements=[...] explicitly, or install aefeatures (pip install -e .)",
        ) from exc
    core = [Requirement(text) for text in declared if not Requirement(text).marker]
    client = "mlflow" if _installed("mlflow") else "mlflow-skinny"
    return [f"{client}=={metadata.version(client)}"] + [_pin(r) for r in core]


def copy_package(model_dir: Path) -> str:
    """Copy the aefeatures package's source (no caches) to ``model_dir/code/aefeatures``; the code dir."""
    source = Path(aefeatures.__file__).parent
    shutil.copytree(
        source,
        model_dir / CODE_DIR / "aefeatures",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"),
        dirs_exist_ok=False,
    )
    return CODE_DIR


def write_environment(
    directory: Path, conda_env: Any, pip_requirements: Any, extra_pip_requirements: Any
) -> None:
    """``conda.yaml``, ``python_env.yaml``, ``requirements.txt`` (and ``constraints.txt``)."""
    import yaml

    if conda_env is None:
        defaults = pinned_requirements() if pip_requirements is None else None
        conda_env, pip_reqs, constraints = _process_pip_requirements(
            defaults, pip_requirements, extra_pip_requirements
        )
    else:
        conda_env, pip_reqs, constraints = _process_conda_env(conda_env)
    with open(directory / _CONDA_ENV_FILE_NAME, "w") as handle:
        yaml.safe_dump(conda_env, stream=handle, default_flow_style=False)
    if constraints:
        write_to(str(directory / _CONSTRAINTS_FILE_NAME), "\n".join(constraints))
    write_to(str(directory / _REQUIREMENTS_FILE_NAME), "\n".join(pip_reqs))
    _PythonEnv.current().to_yaml(str(directory / _PYTHON_ENV_FILE_NAME))


def _pin(requirement: Requirement) -> str:
    version = metadata.version(requirement.name).split("+")[0]  # no local label (+cpu): pip can find it
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}=={version}"


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
