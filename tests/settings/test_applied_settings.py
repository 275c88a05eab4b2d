"""A setting its kind does not use is refused when given and never recorded as if it had effect."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import aefeatures as aef
from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError
from aefeatures.fitting.sources import fit_config
from aefeatures.goals import GOALS
from aefeatures.settings import SETTINGS, declared, uses
from aefeatures.settings.kinds import KINDS, entry
from tests.helpers import make_mixed, run_cli

OLD_MODEL = Path(__file__).parents[1] / "features" / "data" / "old_model"


def _frame() -> pl.DataFrame:
    return pl.DataFrame({"x": [float(i % 5) for i in range(120)], "y": [float(i % 7) for i in range(120)]})


def test_what_a_kind_uses_follows_from_its_registry_line() -> None:
    training = {
        "trim",
        "epochs",
        "steps",
        "epoch_cap",
        "learning_rate",
        "weight_decay",
        "patience",
        "max_seconds",
    }
    own = {s.name for kind in KINDS for s in entry(kind).settings}
    everything = {s.name for s in SETTINGS}
    assert uses("pca") == everything - training - own - {"input_clip", "pca_start"}
    assert uses("deep") == everything - own
    assert "pca_start" not in uses("variational") and "pca_start" in uses("denoising")
    for kind in KINDS:
        if not entry(kind).closed_form:
            takes = set() if entry(kind).linear_path else {"pca_start"}
            assert uses(kind) == everything - own - takes | {s.name for s in entry(kind).settings}


@pytest.mark.parametrize("kind", KINDS)
def test_every_setting_a_kind_ignores_is_refused_when_given(kind: str) -> None:
    ignored = [s for s in SETTINGS if s.name not in uses(kind)]
    assert ignored  # every kind ignores some other kind's settings
    for setting in ignored:
        with pytest.raises(ConfigError) as raised:
            fit_config({"kind": kind, setting.name: setting.default})  # given, even at its default
        message = str(raised.value)
        assert f"{setting.name}=" in message and "would have no effect" in message and repr(kind) in message
        assert f"leave out {setting.name}" in raised.value.hint
        users = [k for k in KINDS if setting.name in uses(k)]
        assert all(k in raised.value.hint for k in users)


def test_a_goals_settings_that_the_kind_ignores_are_not_refused_nor_recorded(tmp_path: Path) -> None:
    assert GOALS["features"]["trim"] == 0.0 and "input_clip" in GOALS["features"]
    model = aef.fit(_frame(), goal="features", kind="pca", threads=1)
    saved = json.loads((model.save(tmp_path / "m") / "aefeatures.json").read_text())["config"]
    assert saved["goal"] == "features" and saved["kind"] == "pca"
    assert not {"trim", "input_clip", "steps", "epochs", "clean_weight", "noise"} & set(saved)
    assert model.config.trim == declared("trim").default  # the goal's 0.0 had no effect
    page = (tmp_path / "m" / "report.html").read_text()
    assert "clean_weight" not in page and "learning_rate" not in page
    loaded = aef.load(tmp_path / "m")
    assert loaded.config == model.config
    assert loaded.transform(_frame()).height == 120


@pytest.mark.slow
def test_the_cli_refuses_an_ignored_setting_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "d.parquet"
    make_mixed(200).write_parquet(data)
    for args, named in (
        (["--kind", "pca", "--set", "trim=0.2"], "trim=0.2"),
        (["--kind", "deep", "--set", "noise=gaussian"], "noise='gaussian'"),
        (["--kind", "pca", "--epochs", "3"], "epochs=3"),
        (["--goal", "reconstruction", "--set", "beta=2"], "beta=2"),
    ):
        target = tmp_path / "m"
        done = run_cli("fit", data, "--model", target, "-x", "id,label", "--threads", "1", *args)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert named in done.stderr and "would have no effect" in done.stderr and "leave out" in done.stderr
        assert not target.exists()


def test_a_setting_used_by_one_of_several_kinds_passes_for_all_of_them() -> None:
    fit_config({"noise": "gaussian", "goal": "reconstruction"}, ["deep", "denoising", "pca"])
    with pytest.raises(ConfigError, match="noise='gaussian' would have no effect"):
        fit_config({"noise": "gaussian"}, ["deep", "pca"])


def test_an_old_manifest_that_recorded_ignored_settings_still_loads(tmp_path: Path) -> None:
    recorded = json.loads((OLD_MODEL / "aefeatures.json").read_text())["config"]
    assert recorded["kind"] == "deep" and recorded["noise"] == "swap" and "l1_weight" in recorded
    model = aef.load(shutil.copytree(OLD_MODEL, tmp_path / "old"))
    assert model.config.epochs == recorded["epochs"]
    again = json.loads((model.save(tmp_path / "again") / "aefeatures.json").read_text())["config"]
    assert not {"noise", "noise_level", "clean_weight", "l1_weight", "beta"} & set(again)
    assert again["epochs"] == recorded["epochs"] and again["trim"] == recorded["trim"]


def test_a_config_with_an_ignored_value_reads_back_at_the_default() -> None:
    config = FitConfig.from_dict({"kind": "pca", "trim": 0.2, "noise": "gaussian", "latent_dim": 2})
    assert config == FitConfig(kind="pca", latent_dim=2).validate()
    assert FitConfig.from_dict(config.to_dict()) == config
    assert "trim" not in config.to_dict() and "latent_dim" in config.to_dict()


def test_a_setting_whose_condition_on_another_fails_is_refused_or_not_recorded(tmp_path: Path) -> None:
    assert declared("clean_weight").only_when == (("noise", ("masking", "swap")),)
    with pytest.raises(ConfigError) as raised:
        fit_config({"noise": "gaussian", "clean_weight": 0.5})  # gaussian noise hits every column
    assert "clean_weight=0.5 would have no effect" in str(raised.value) and "noise='gaussian'" in str(
        raised.value
    )
    assert "give noise 'masking' or 'swap'" in raised.value.hint
    fit_config({"noise": "swap", "clean_weight": 0.5})  # the hint, followed, works
    model = aef.fit(_frame(), goal="features", noise="gaussian", epochs=2, threads=1)  # the goal's 0.1
    saved = json.loads((model.save(tmp_path / "m") / "aefeatures.json").read_text())["config"]
    assert saved["noise"] == "gaussian" and "clean_weight" not in saved
    assert aef.load(tmp_path / "m").config == model.config
