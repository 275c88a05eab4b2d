"""One check for every door into an MLflow export (issue 26, class 8).

An edited ``MLmodel`` that points outside the export (``..``, an absolute path, a link, another
loader, code from elsewhere) is refused alike by ``aefeatures.mlflow.load_model``, by
``mlflow.pyfunc.load_model`` (whose loader is ``_load_pyfunc``), and by the recognition that
``--overwrite`` relies on: all three go through :func:`aefeatures.io.artifacts.mlflow_model_data`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
mlflow = pytest.importorskip("mlflow")

import aefeatures as aef  # noqa: E402
import aefeatures.mlflow as aem  # noqa: E402
from aefeatures.errors import ModelFileError, OutputExistsError  # noqa: E402
from aefeatures.io.artifacts import artifact_kind  # noqa: E402
from tests.helpers import make_mixed  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:Operation with range is deprecated")]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory, quick_model: aef.AutoencoderModel) -> Path:
    return aem.save_model(quick_model, tmp_path_factory.mktemp("mlflow") / "export", input_example=False)


def _edit(export: Path, tmp_path: Path, change: Callable[[dict[str, Any], Path], None]) -> Path:
    """A copy of ``export`` whose MLmodel ``change`` edited (it may also place things beside it)."""
    copy = shutil.copytree(export, tmp_path / "edited")
    record = yaml.safe_load((copy / "MLmodel").read_text())
    change(record, copy)
    (copy / "MLmodel").write_text(yaml.safe_dump(record))
    return copy


def _both(record: dict[str, Any], name: str) -> None:
    record["flavors"]["python_function"]["data"] = name
    record["flavors"]["aefeatures"]["model_data"] = name


def _outside(record: dict[str, Any], copy: Path) -> None:  # the case: a model outside the export
    shutil.copytree(copy / "model", copy.parent / "elsewhere")
    _both(record, "../elsewhere")


def _absolute(record: dict[str, Any], copy: Path) -> None:
    shutil.copytree(copy / "model", copy.parent / "absolute")
    _both(record, str(copy.parent / "absolute"))


def _linked(record: dict[str, Any], copy: Path) -> None:
    shutil.copytree(copy / "model", copy.parent / "linked-target")
    (copy / "linked").symlink_to(copy.parent / "linked-target")
    _both(record, "linked")


def _pyfunc_only(record: dict[str, Any], copy: Path) -> None:  # pyfunc's data alone points away
    shutil.copytree(copy / "model", copy.parent / "other")
    record["flavors"]["python_function"]["data"] = "../other"


def _code_outside(record: dict[str, Any], copy: Path) -> None:
    record["flavors"]["aefeatures"]["code"] = "../code"


def _nested(record: dict[str, Any], copy: Path) -> None:
    (copy / "sub").mkdir()
    shutil.move(copy / "model", copy / "sub" / "model")
    _both(record, "sub/model")


EDITS = {
    "dotdot": _outside,
    "absolute": _absolute,
    "link": _linked,
    "pyfunc-data-only": _pyfunc_only,
    "code-outside": _code_outside,
    "nested": _nested,
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_loader_refuses_an_mlmodel_pointing_outside_the_export(
    export: Path, tmp_path: Path, edit: str
) -> None:
    edited = _edit(export, tmp_path, EDITS[edit])
    with pytest.raises(ModelFileError, match="MLmodel"):
        aem.load_model(str(edited))
    with pytest.raises(ModelFileError, match="MLmodel"):
        mlflow.pyfunc.load_model(str(edited))
    assert artifact_kind(edited) is None


def test_another_loader_module_is_not_an_aefeatures_export(export: Path, tmp_path: Path) -> None:
    def other_loader(record: dict[str, Any], copy: Path) -> None:
        record["flavors"]["python_function"]["loader_module"] = "mlflow.sklearn"

    edited = _edit(export, tmp_path, other_loader)
    with pytest.raises(ModelFileError, match="names the loader 'mlflow.sklearn'"):
        aem.load_model(str(edited))
    assert artifact_kind(edited) is None


def test_an_edited_export_is_never_replaced(
    export: Path, tmp_path: Path, quick_model: aef.AutoencoderModel
) -> None:
    edited = _edit(export, tmp_path, _outside)
    before = sorted(p.name for p in edited.iterdir())
    with pytest.raises(OutputExistsError, match="not replaced, even with --overwrite"):
        aem.save_model(quick_model, edited, overwrite=True, input_example=False)
    assert sorted(p.name for p in edited.iterdir()) == before and (tmp_path / "elsewhere").is_dir()


def test_the_untouched_export_loads_through_both_doors(export: Path) -> None:
    frame = make_mixed(60).to_pandas()
    by_pyfunc = mlflow.pyfunc.load_model(str(export)).predict(frame)
    by_flavor = aem.load_model(str(export)).transform(frame)
    assert by_pyfunc["ae_error"].tolist() == by_flavor["ae_error"].tolist()
    assert artifact_kind(export) == "mlflow"
