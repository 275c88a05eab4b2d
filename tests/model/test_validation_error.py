"""One ae_error, one meaning: the validation rows' mean ae_error that info and the report show is
the mean of what transform writes for those rows."""

from __future__ import annotations

from pathlib import Path

import pytest

import aefeatures as aef
from aefeatures.cli import main
from aefeatures.fitting.rows import split_rows
from aefeatures.model.files import write_report
from tests.helpers import make_mixed

OLD_MODEL = Path(__file__).parents[1] / "features" / "data" / "old_model"


def test_info_and_the_report_show_the_mean_ae_error_transform_gives_the_validation_rows(
    fitted_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = aef.load(fitted_model_dir)
    frame = make_mixed()  # the rows the session's model was fitted on
    _, valid = split_rows(frame.height, model.config.validation_fraction, model.config.seed)
    expected = float(model.transform(frame)["ae_error"].to_numpy()[valid].mean())
    validation = model.info()["validation"]
    assert validation["rows"] == valid.size == 60
    assert validation["mean_ae_error"] == pytest.approx(expected, rel=1e-9)
    history = model.metadata["history"]
    kept = next(e for e in history["epochs"] if e["epoch"] == history["best_epoch"])
    assert validation["valid_loss"] == kept["valid_loss"]  # the loss is its own number, named as such
    assert main(["info", str(fitted_model_dir)]) == 0
    shown = f"validation: mean ae_error {expected:.3g} over 60 rows the model did not train on"
    assert shown in capsys.readouterr().out
    page = write_report(fitted_model_dir, tmp_path / "report.html").read_text()
    assert f"<td>{expected:.3g} over 60 rows the model did not train on</td>" in page


def test_a_model_fitted_before_it_was_stored_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert aef.load(OLD_MODEL).info()["validation"]["mean_ae_error"] is None
    assert main(["info", str(OLD_MODEL)]) == 0
    assert "validation: mean ae_error not stored (fitted by an older aefeatures: re-fit to see it)" in (
        capsys.readouterr().out
    )


def test_a_fit_without_validation_rows_says_it_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = aef.fit(make_mixed(200), exclude=["id", "label"], epochs=2, threads=1, validation_fraction=0.0)
    assert model.info()["validation"] == {"rows": 0, "mean_ae_error": None, "valid_loss": None}
    model.save(tmp_path / "model")
    assert main(["info", str(tmp_path / "model")]) == 0
    assert "validation: none (no rows held out: validation_fraction is 0" in capsys.readouterr().out
    assert "no validation rows" in (tmp_path / "model" / "report.html").read_text()
