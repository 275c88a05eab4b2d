"""MLflow flavor: log, register and serve an aefeatures model, with no pickle anywhere.

The module follows MLflow's built-in flavors (``mlflow.sklearn``, ``mlflow.onnx``): it has
:func:`save_model`, :func:`log_model`, :func:`load_model` and the ``_load_pyfunc`` loader that
``mlflow.pyfunc.load_model`` calls. An MLflow model written here is a directory::

    <path>/
        MLmodel                      flavors ``python_function`` (loader_module
                                     ``aefeatures.integrations.mlflow``, data ``model``) and
                                     ``aefeatures`` (model_data, version, per_feature_errors)
        model/                       the aefeatures model directory, byte for byte:
            aefeatures.json          manifest with the SHA-256 of every file
            model.safetensors        weights
            schema.yaml              pandera schema
            report.html
        input_example.json           a few rows, JSON (pandas ``split`` orient)
        serving_input_example.json
        code/aefeatures/             the package's source, put on ``sys.path`` by MLflow at load
        requirements.txt, python_env.yaml, conda.yaml
                                     MLflow, torch and aefeatures' dependencies, pinned; not
                                     aefeatures itself, which no package index serves

The model is served from its own files: an environment rebuilt from ``requirements.txt``
(``mlflow models serve``, ``spark_udf(env_manager=...)``) imports aefeatures from ``code/``
(:mod:`aefeatures.integrations.mlflow_environment`). Nothing is pickled; every load goes
through :func:`aefeatures.load`, which checks the manifest and the checksums first.

``mlflow.pyfunc.load_model(uri).predict(df)`` returns ``df`` with the appended columns
(``ae_z*``, ``ae_error``, ``ae_error_pct``, ``ae_outlier``): pandas in, pandas out with the
same index. With the default signature pyfunc only accepts pandas (it keeps the signature's
columns, so a pass-through column survives only if the input example had it); a model
logged with ``signature=False`` also takes a polars DataFrame or a pyarrow Table and gives
the same type back. ``mlflow.pyfunc.spark_udf(spark, uri)`` returns a struct of the
appended columns (the type MLflow infers from the output signature); pick some with
``result_type="ae_error double, ae_outlier boolean"``. A scalar ``result_type`` such as
``"double"`` is not supported: spark_udf would take the first numeric column of the output,
which is an input column. ``udf()`` without arguments reads the signature's columns; when the
input example had pass-through columns (optional in the signature) MLflow wants them named:
``udf(*model.columns)``.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

try:
    from mlflow import pyfunc
    from mlflow.models import Model, ModelSignature
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.models.utils import _save_example
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _mlflow_conda_env,
        _validate_env_arguments,
    )
    from mlflow.utils.file_utils import get_total_file_size
    from mlflow.utils.model_utils import (
        _add_code_from_conf_to_system_path,
        _get_flavor_configuration,
        _validate_and_copy_code_paths,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "aefeatures.mlflow needs the 'mlflow' package, which is not installed: "
        "pip install -e '.[mlflow]' in the aefeatures clone (or pip install mlflow-skinny)"
    ) from exc

import aefeatures
from aefeatures.errors import ModelFileError, shorten
from aefeatures.integrations.mlflow_environment import copy_package, pinned_requirements, write_environment
from aefeatures.integrations.mlflow_pyfunc import AEFeaturesPyfunc
from aefeatures.integrations.mlflow_signature import input_example_rows, model_signature
from aefeatures.io.artifacts import mlflow_model_data
from aefeatures.io.sinks import atomic_path
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.model.manifest import MANIFEST, read_manifest

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo

FLAVOR_NAME = "aefeatures"
MODEL_DATA = "model"  # the aefeatures model directory, relative to the MLflow model directory
_REPORT = "report.html"  # derived from the manifest, copied along but not checksummed

log = logging.getLogger("aefeatures")

__all__ = [
    "FLAVOR_NAME",
    "get_default_conda_env",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "model_signature",
    "save_model",
]


def get_default_pip_requirements() -> list[str]:
    """The pip requirements of a model written by :func:`save_model`: MLflow, torch and the core
    dependencies of aefeatures, pinned to the installed versions. aefeatures itself is not among
    them: its source travels in the model's ``code/`` directory (it is on no package index).

    Examples
    --------
    >>> [r.split("==")[0] for r in get_default_pip_requirements()][1:4]
    ['polars', 'pyarrow', 'torch']
    """
    return pinned_requirements()


def get_default_conda_env() -> dict[str, Any]:
    """The conda environment of a model written by :func:`save_model`.

    Examples
    --------
    >>> "dependencies" in get_default_conda_env()
    True
    """
    env: dict[str, Any] = _mlflow_conda_env(additional_pip_deps=get_default_pip_requirements())
    return env


def save_model(
    model: AutoencoderModel | str | Path,
    path: str | Path,
    *,
    signature: ModelSignature | Literal[False] | None = None,
    input_example: Any = None,
    per_feature_errors: bool = False,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    mlflow_model: Model | None = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as an MLflow model directory at ``path``, atomically.

    Parameters
    ----------
    model
        A fitted model, or a model directory (its checksums are verified before copying).
    path
        Directory to create; it must not exist unless ``overwrite``.
    signature
        ``None`` infers one (:func:`model_signature`), ``False`` writes none (pyfunc then passes
        polars and pyarrow inputs through unchanged), or a ``ModelSignature``.
    input_example
        A few rows (pandas, polars or pyarrow), written as JSON. ``None`` writes rows made from
        the model's training statistics (medians, levels); ``False`` writes none.
    per_feature_errors
        The pyfunc model also appends ``ae_error__<column>``.
    conda_env, code_paths, mlflow_model, pip_requirements, extra_pip_requirements, metadata
        As for every MLflow flavor (see ``mlflow.sklearn.save_model``); the default
        requirements are :func:`get_default_pip_requirements`.
    overwrite
        Replace an existing ``path``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import aefeatures as aef, polars as pl, tempfile, mlflow
    >>> df = pl.DataFrame({"a": [float(i % 7) for i in range(200)], "b": [str(i % 3) for i in range(200)]})
    >>> model = aef.fit(df, epochs=2, threads=1)
    >>> path = save_model(model, tempfile.mkdtemp() + "/mlflow-model")
    >>> mlflow.pyfunc.load_model(str(path)).predict(df.to_pandas()).columns[-2:].tolist()
    ['ae_error_pct', 'ae_outlier']
    """
    _validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    sources = [] if isinstance(model, AutoencoderModel) else [Path(model)]
    with atomic_path(
        path, overwrite, kind="mlflow", inputs=sources
    ) as temporary:  # never over the model it reads
        temporary.mkdir()
        loaded = _write_model_dir(model, temporary / MODEL_DATA)
        mlflow_model = mlflow_model if mlflow_model is not None else Model()
        example = input_example_rows(loaded, input_example)
        if example is not None:
            _save_example(mlflow_model, example, str(temporary))
        if signature is None:
            given = example if input_example is not None and input_example is not False else None
            mlflow_model.signature = model_signature(loaded, given, per_feature_errors=per_feature_errors)
        elif signature is not False:
            mlflow_model.signature = signature
        if metadata is not None:
            mlflow_model.metadata = metadata
        _validate_and_copy_code_paths(code_paths, str(temporary))
        code_dir = copy_package(temporary)  # served from its own files: aefeatures is on no index
        pyfunc.add_to_model(
            mlflow_model,
            loader_module=__name__,
            data=MODEL_DATA,
            conda_env=_CONDA_ENV_FILE_NAME,
            python_env=_PYTHON_ENV_FILE_NAME,
            code=code_dir,
        )
        mlflow_model.add_flavor(
            FLAVOR_NAME,
            model_data=MODEL_DATA,
            aefeatures_version=aefeatures.__version__,
            per_feature_errors=per_feature_errors,
            code=code_dir,
        )
        if size := get_total_file_size(str(temporary)):
            mlflow_model.model_size_bytes = size
        mlflow_model.save(str(temporary / MLMODEL_FILE_NAME))
        write_environment(temporary, conda_env, pip_requirements, extra_pip_requirements)
        mlflow_model_data(temporary)  # the loaders' check of the MLmodel (its size too), before publishing
    return Path(path)


def log_model(
    model: AutoencoderModel | str | Path,
    name: str | None = None,
    *,
    signature: ModelSignature | Literal[False] | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    per_feature_errors: bool = False,
    await_registration_for: int | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **kwargs: Any,
) -> ModelInfo:
    """Log ``model`` to the active run (one is started if none is), optionally registering it.

    Parameters
    ----------
    model
        A fitted model or a model directory.
    name
        Name of the logged model.
    signature, input_example, per_feature_errors
        As for :func:`save_model`.
    registered_model_name
        Also create a version of this registered model (created if it does not exist).
    await_registration_for
        Seconds to wait for the version to be ready (MLflow's default when ``None``).
    conda_env, code_paths, pip_requirements, extra_pip_requirements, metadata, params, tags, model_type, step, model_id
        As for every MLflow flavor; ``kwargs`` go to ``mlflow.models.Model.log``.

    Returns
    -------
    mlflow.models.model.ModelInfo
        Metadata of the logged model; ``model_uri`` loads it back.

    Examples
    --------
    >>> import aefeatures as aef, aefeatures.mlflow as aem, mlflow  # doctest: +SKIP
    >>> with mlflow.start_run():  # doctest: +SKIP
    ...     info = aem.log_model(aef.load("models/events"), "events", registered_model_name="events")
    >>> mlflow.pyfunc.load_model(info.model_uri).predict(frame)  # doctest: +SKIP
    """
    if await_registration_for is not None:
        kwargs["await_registration_for"] = await_registration_for
    info: ModelInfo = Model.log(
        artifact_path=None,
        name=name,
        flavor=sys.modules[__name__],
        flavor_name=FLAVOR_NAME,
        model=model,
        signature=signature,
        input_example=input_example,
        registered_model_name=registered_model_name,
        per_feature_errors=per_feature_errors,
        conda_env=conda_env,
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        **kwargs,
    )
    return info


def load_model(model_uri: str, dst_path: str | None = None, *, device: str = "auto") -> AutoencoderModel:
    """Load the :class:`~aefeatures.AutoencoderModel` of an MLflow model (checksums verified).

    Parameters
    ----------
    model_uri
        ``runs:/<run_id>/<name>``, ``models:/<name>/<version>``, ``models:/<model_id>``, a local
        path, or any artifact URI MLflow can download.
    dst_path
        Existing local directory to download into (a temporary one when ``None``).
    device
        Torch device, as for :func:`aefeatures.load`.

    Examples
    --------
    >>> import aefeatures.mlflow as aem  # doctest: +SKIP
    >>> model = aem.load_model("models:/events/1")  # doctest: +SKIP
    >>> model.transform(frame)  # doctest: +SKIP
    """
    local = Path(_download_artifact_from_uri(artifact_uri=model_uri, output_path=dst_path))
    model_dir = mlflow_model_data(local)  # the one check of the MLmodel, as for mlflow.pyfunc.load_model
    conf = _get_flavor_configuration(model_path=str(local), flavor_name=FLAVOR_NAME)
    _add_code_from_conf_to_system_path(str(local), conf)
    return aefeatures.load(model_dir, device=device)


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> AEFeaturesPyfunc:
    """Loader of the ``python_function`` flavor: ``path`` is the aefeatures model directory.

    ``mlflow.pyfunc.load_model`` passes the export's directory joined with the ``data`` its
    ``MLmodel`` names; the export's ``MLmodel`` goes through the same check as
    :func:`load_model`'s (:func:`aefeatures.io.artifacts.mlflow_model_data`), so a ``data`` or
    ``model_data`` pointing outside the export is refused here too. ``model_config`` (from
    ``mlflow.pyfunc.load_model(..., model_config=...)``) may set ``device`` (default ``"auto"``).
    """
    directory = Path(path)
    if ".." in directory.parts or not (directory.parent / MLMODEL_FILE_NAME).is_file():
        raise ModelFileError(
            f"{shorten(repr(str(directory)))} is not the model directory of an MLflow export: the MLmodel "
            "file points outside the export, or there is none beside it.",
            hint="the MLmodel file was edited or damaged: export the model again with aefeatures.mlflow.save_model",
        )
    if mlflow_model_data(directory.parent) != directory:
        raise ModelFileError(
            f"the MLmodel file of {shorten(repr(str(directory.parent)))} names another model directory "
            f"than {shorten(repr(directory.name))}, the one mlflow was asked to load.",
            hint="the MLmodel file was edited or damaged: export the model again with aefeatures.mlflow.save_model",
        )
    conf = Model.load(str(directory.parent / MLMODEL_FILE_NAME)).flavors.get(FLAVOR_NAME, {})
    per_feature_errors = bool(conf.get("per_feature_errors", False))
    device = str((model_config or {}).get("device", "auto"))
    return AEFeaturesPyfunc(aefeatures.load(directory, device=device), per_feature_errors)


def _write_model_dir(model: AutoencoderModel | str | Path, target: Path) -> AutoencoderModel:
    """Put the aefeatures model directory at ``target`` and load it back (checksums verified)."""
    if isinstance(model, AutoencoderModel):
        model.save(target)
    else:
        source = Path(model)
        manifest = read_manifest(source)  # format and checksums, with aefeatures' own errors
        target.mkdir()
        names = [MANIFEST, *manifest["files"], *([_REPORT] if (source / _REPORT).is_file() else [])]
        for name in names:
            shutil.copyfile(source / name, target / name)
    return aefeatures.load(target, device="cpu")
