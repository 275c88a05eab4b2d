"""``aefeatures fit`` and ``compare`` options: quick and streamed fits, ``--set``, the compare grid.

Run in-process through ``aefeatures.cli.main`` (where exceptions become exit codes) and as real
subprocesses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import aefeatures as aef
from aefeatures.cli import main
from tests.helpers import make_mixed, run_cli


def test_cli_quick_and_streaming_fits(
    mixed_parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["-x", "id,label", "--epochs", "2", "--threads", "1", "--json", "-q"]
    runs = {
        "head": (["--max-rows", "100"], 100),
        "sample": (["--sample", "250"], 250),
        "stream": (["--stream", "--sample", "200"], 600),
    }
    for name, (options, rows) in runs.items():
        code = main(["fit", str(mixed_parquet), "--model", str(tmp_path / name), *common, *options])
        assert code == 0 and f'"rows": {rows}' in capsys.readouterr().out
    streamed = aef.load(tmp_path / "stream").metadata["fingerprint"]
    assert streamed["streamed"] and streamed["sample_rows"] == 200
    assert main(["fit", str(mixed_parquet), "--model", str(tmp_path / "m"), "--sample", "1"]) == 2
    assert not (tmp_path / "m").exists()


def test_cli_sets_regulariser_settings_and_info_shows_the_kl_term(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mixed.parquet"
    make_mixed(300).write_parquet(data)
    model = tmp_path / "vae"
    args = ["fit", str(data), "-x", "id,label", "--kind", "variational", "--epochs", "3", "--threads", "1"]
    assert main([*args, "--set", "beta=0.5", "--set", "kl_warmup_epochs=2", "-m", str(model), "-q"]) == 0
    capsys.readouterr()
    assert main(["info", str(model), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["kind"] == "variational" and described["training"]["final"]["kl"] > 0
    assert aef.load(model).config.beta == 0.5 and aef.load(model).config.kl_warmup_epochs == 2
    assert main([*args, "--set", "beta", "-m", str(tmp_path / "other")]) == 2  # not NAME=VALUE
    assert main([*args, "--set", "kind=pca", "-m", str(tmp_path / "other")]) == 2  # has its own option
    assert not (tmp_path / "other").exists()


def test_cli_compare_json_keep_best_and_errors(
    anomalies: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "anomalies.parquet"
    anomalies.sample(600, seed=0).write_parquet(data)
    kept = tmp_path / "best"
    args = [
        "compare",
        data,
        "--label",
        "label",
        "--kinds",
        "sparse-kl",
        "--sizes",
        "4",
        "--epochs",
        "5",
        "--threads",
        "1",
    ]
    done = run_cli(*args, "--json", "--keep-best", kept)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert {run["kind"] for run in payload["runs"]} == {"sparse-kl", "pca"}
    assert payload["kept"] == str(kept) and (kept / "model.safetensors").is_file()
    assert payload["best"] == payload["runs"][0] and payload["label"] == "label"
    assert np.isfinite(payload["best"]["roc_auc"])
    capsys.readouterr()
    # The directory exists: without --overwrite nothing is trained or replaced.
    assert main([*map(str, args), "--keep-best", str(kept)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["compare", str(data), "--label", "f0", "--sizes", "2"]) == 1
    assert "label column 'f0' must be boolean or 0/1" in capsys.readouterr().err
    assert main(["compare", str(data), "--kinds", "deep,wide"]) == 2
    assert "--kinds" in capsys.readouterr().err


def test_help_shows_the_defaults_that_depend_on_the_data() -> None:
    """Bracketed defaults in option help are escaped, so the help renders them instead of eating them."""
    done = run_cli("fit", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(line.strip(" │╭╮╰╯─") for line in done.stdout.splitlines()).split()
    flat = " ".join(text)
    assert "Where to write the model directory [default: models/<data name>]." in flat
    assert "Autoencoder kind [default: denoising; deep with --goal reconstruction]." in flat
    assert "Bottleneck size [default: from the data's width; 16 with --goal imputation]." in flat


def test_an_option_given_wins_over_the_goal_even_at_its_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "mixed.parquet"
    make_mixed(200).write_parquet(data)
    common = [
        "fit",
        str(data),
        "-x",
        "id,label",
        "--goal",
        "reconstruction",
        "--set",
        "steps=30",
        "--threads",
        "1",
    ]
    trained = {}
    for name, options in {"given": ["--kind", "denoising", "--seed", "0"], "goal": []}.items():
        capsys.readouterr()
        assert main([*common, *options, "-m", str(tmp_path / name), "--json", "-q"]) == 0
        summary = json.loads(capsys.readouterr().out)
        trained[name] = (summary["goal"], summary["kind"])
    assert trained == {"given": ("reconstruction", "denoising"), "goal": ("reconstruction", "deep")}
    config = aef.load(tmp_path / "given").config
    assert (config.trim, config.input_clip, config.steps) == (0.0, None, 30)  # the goal's, and --set's
