"""Declared settings: FitConfig's fields, checks, the CLI's options and the goals all read them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import polars as pl
import pytest

import aefeatures as aef
from aefeatures import goals, settings
from aefeatures.cli.options import default_text, parse_settings, shown
from aefeatures.config import FitConfig
from aefeatures.errors import ConfigError
from aefeatures.fitting.sources import fit_config
from aefeatures.settings import SECTIONS, SETTINGS, Setting, declared
from aefeatures.settings.kinds import KINDS, entry
from tests.helpers import REPO, run_cli

# The configuration of a model saved before the settings were declared, as its aefeatures.json has it.
SAVED = {
    "goal": "features", "kind": "sparse-l1", "latent_dim": 3, "hidden": [16], "input_clip": None, "trim": 0.0,
    "epochs": 7, "steps": 10000, "batch_size": 64, "learning_rate": 0.004, "weight_decay": 0.0,
    "validation_fraction": 0.1, "patience": 12, "max_seconds": None, "seed": 5, "device": "auto", "threads": 1,
    "contamination": 0.01, "max_levels": 64, "min_level_count": 5, "columns": ["x", "y"], "exclude": [],
    "prefix": "ae_", "segment_by": None, "l1_weight": 0.01, "l1_hidden": True, "sparsity_target": 0.05, "sparsity_weight": 0.1,
    "noise": "swap", "noise_level": 0.3, "clean_weight": 0.1, "contractive_weight": 0.001, "beta": 1.0,
    "kl_warmup_epochs": 10,
}  # fmt: skip


def test_fit_config_fields_are_the_declared_settings_in_order() -> None:
    fields = dataclasses.fields(FitConfig)
    assert [f.name for f in fields] == [s.name for s in SETTINGS]
    later = (
        "epoch_cap",
        "pca_start",
        "gaussian_start",
        "gaussian_components",
    )  # added after SAVED was written
    assert [f.name for f in fields if f.name not in later] == list(SAVED)
    assert all(f.default == declared(f.name).default for f in fields)
    assert FitConfig.steps == 4_000 and FitConfig().l1_weight == 1e-3


def test_a_config_saved_before_loads_and_writes_what_its_kind_uses() -> None:
    config = FitConfig.from_dict(json.loads(json.dumps(SAVED)))
    assert config.validate() == config and config.l1_hidden is True and config.hidden == (16,)
    other_kinds = {"sparsity_target", "sparsity_weight", "noise", "noise_level", "clean_weight"}
    other_kinds |= {"contractive_weight", "beta", "kl_warmup_epochs"}
    kept = {key: value for key, value in SAVED.items() if key not in other_kinds}
    # A model saved before epoch_cap existed was trained with the old cap of 2,000 epochs, and
    # one saved before pca_start without a linear path.
    assert config.epoch_cap == 2_000 and config.pca_start is False
    later = ("epoch_cap", "pca_start")
    assert json.dumps({k: v for k, v in config.to_dict().items() if k not in later}) == json.dumps(kept)
    assert dataclasses.replace(config, kind="deep").kind == "deep"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kind = "deep"  # type: ignore[misc]


def test_each_kind_declares_its_own_settings_on_its_registry_line() -> None:
    kinds = {kind: [s.name for s in entry(kind).settings] for kind in KINDS if entry(kind).settings}
    assert kinds == {
        "sparse-l1": ["l1_weight", "l1_hidden"],
        "sparse-kl": ["sparsity_target", "sparsity_weight"],
        "denoising": ["noise", "noise_level", "clean_weight", "gaussian_start", "gaussian_components"],
        "contractive": ["contractive_weight"],
        "variational": ["beta", "kl_warmup_epochs"],
    }
    assert all(SECTIONS[kind] == entry(kind).settings for kind in kinds)
    assert list(SECTIONS)[:5] == ["goal", "network", "training", "scoring", "data"]


def test_checks_come_from_the_declarations() -> None:
    for setting in SETTINGS:
        if setting.choices:
            with pytest.raises(ConfigError, match=f"{setting.name}='nope' is not allowed; choose one of"):
                FitConfig(**{setting.name: "nope"}).validate()
        if setting.range:
            low, high = setting.range
            too_high = high * 2 if high else 1
            with pytest.raises(
                ConfigError, match=f"{setting.name}=.* is out of range; allowed: {low} to {high}"
            ):
                FitConfig(**{setting.name: setting.typed(too_high)}).validate()
    with pytest.raises(ConfigError, match=r"noise_level=1.5 is out of range; allowed: 0.0 to 1.0\."):
        FitConfig(noise_level=1.5).validate()


def test_an_unsupported_type_is_refused_when_declared() -> None:
    with pytest.raises(TypeError, match="unsupported setting type"):
        Setting("ratio", complex, 1j, "A complex ratio")


def test_goals_are_checked_against_the_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(goals.GOALS, "typo", goals.Goal("a test", stesp=10))
    with pytest.raises(TypeError, match="goal 'typo' sets 'stesp', which is not a declared setting"):
        settings._check_declarations()
    monkeypatch.setitem(goals.GOALS, "typo", goals.Goal("a test", trim=0.9))
    with pytest.raises(TypeError, match="goal 'typo': trim=0.9 is out of range"):
        settings._check_declarations()


def test_an_explicit_setting_wins_over_the_goal_in_the_api() -> None:
    assert fit_config({"goal": "reconstruction", "kind": "denoising"}).kind == "denoising"
    frame = pl.DataFrame({"a": [float(i % 7) for i in range(120)], "b": [float(i % 5) for i in range(120)]})
    model = aef.fit(frame, goal="reconstruction", kind="denoising", steps=20, threads=1)
    assert (model.config.goal, model.config.kind, model.config.trim) == ("reconstruction", "denoising", 0.0)


def test_set_takes_every_declared_name() -> None:
    values = {s.name: s.default for s in SETTINGS}
    given = parse_settings([f"{name}={json.dumps(value)}" for name, value in values.items()], taken={})
    assert {name: tuple(v) if isinstance(v, list) else v for name, v in given.items()} == values


def test_a_settings_hint_gives_the_fit_option_that_exists() -> None:
    from typer.main import get_command

    from aefeatures.cli import app

    options = {name for p in get_command(app).commands["fit"].params for name in p.opts}  # type: ignore[attr-defined]
    declared_options = {f"--{s.name.replace('_', '-')}" for s in SETTINGS}
    assert {s.command_line() for s in SETTINGS if s.option} == options & declared_options
    with pytest.raises(ConfigError, match=r"command line: --set trim=VALUE\)") as trim:
        FitConfig(trim=2.0).validate()
    with pytest.raises(ConfigError, match=r"command line: --latent-dim\)"):
        FitConfig(latent_dim=0).validate()
    assert "where it is an option" not in str(trim.value.hint)


def test_fit_help_shows_the_declared_defaults_and_the_goals_values() -> None:
    assert default_text("kind") == "denoising; deep with --goal reconstruction"  # only goals that change it
    assert default_text("epochs") == "as many as the steps setting needs"
    assert shown(declared("hidden").default) == "none" and shown((64, 32)) == "64,32"
    done = run_cli("fit", "--help")
    assert done.returncode == 0, done.stderr
    flat = " ".join(" ".join(line.strip(" │╭╮╰╯─") for line in done.stdout.splitlines()).split())
    for name in ("seed", "contamination", "prefix", "device", "batch_size"):
        assert f"{declared(name).help}" in flat and f"[default: {default_text(name)}]" in flat, name
    assert "features (ae_z* for a downstream model: clean_weight=0.1, trim=0.0, input_clip=none" in flat


def test_configuration_imports_neither_torch_nor_the_networks() -> None:
    code = (
        "import sys, aefeatures, aefeatures.config, aefeatures.settings, aefeatures.goals; "
        "assert 'torch' not in sys.modules and not any(m.startswith('aefeatures.nn') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
