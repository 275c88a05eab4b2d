"""The registry of kinds: every registered kind builds and trains, unknown names are refused, no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from aefeatures import config
from aefeatures.errors import ConfigError
from aefeatures.features.types import Term
from aefeatures.fitting.rows import Batch
from aefeatures.fitting.training import train
from aefeatures.nn import kinds
from aefeatures.nn.losses import ReconstructionLoss
from aefeatures.nn.network import Autoencoder
from tests.helpers import REPO

# Two numeric columns, a boolean, a numeric with a missingness indicator and a 3-level categorical.
TERMS = [
    Term(0, "mse", 0, 1),
    Term(1, "mse", 1, 1),
    Term(2, "bce", 2, 1),
    Term(3, "mse", 3, 1),
    Term(3, "bce", 4, 1, is_indicator=True),
    Term(4, "ce", 5, 3),
]


def _rows(n: int, generator: torch.Generator) -> Batch:
    inputs = torch.randn(n, 8, generator=generator)
    level = torch.randint(0, 3, (n,), generator=generator)
    inputs[:, 2] = (inputs[:, 2] > 0).float()
    inputs[:, 4] = 0.0
    inputs[:, 5:] = torch.nn.functional.one_hot(level, 3).float()
    return Batch(inputs, torch.ones(n, 5, dtype=torch.bool), level[:, None])


def test_the_registry_lists_every_kind_once_in_its_order() -> None:
    expected = ("undercomplete", "deep", "sparse-l1", "sparse-kl", "denoising", "contractive", "variational")
    assert (*expected, "pca") == kinds.KINDS and config.KINDS == kinds.KINDS
    assert expected == kinds.NEURAL_KINDS
    assert list(kinds.SUMMARIES) == list(kinds.KINDS) and all(kinds.SUMMARIES.values())


@pytest.mark.parametrize("name", kinds.KINDS)
def test_every_registered_kind_builds_a_network_and_trains_one_epoch(name: str) -> None:
    kind = kinds.get(name)
    assert kind.name == name
    assert (kind.solve is not None) == kinds.entry(name).closed_form
    fit = config.FitConfig(kind=name, epochs=1, seed=1).validate()
    net = Autoencoder(config.resolve_sizes(fit, n_inputs=8, n_columns=5))
    loss_fn = ReconstructionLoss(TERMS, [1.0] * len(TERMS), n_columns=5)
    generator = torch.Generator().manual_seed(0)
    history = train(net, loss_fn, _rows(64, generator), _rows(16, generator), fit, batch_size=16)
    (record,) = history.epochs
    assert torch.isfinite(torch.tensor([record["train_loss"], record["valid_loss"]])).all()
    assert history.stopped_because == ("closed_form" if kind.solve else "max_epochs")
    if kind.penalty_name is not None:
        assert record[kind.penalty_name] >= 0


def test_an_unknown_kind_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match="kind='nope'") as raised:
        kinds.get("nope")
    assert all(name in str(raised.value) for name in kinds.KINDS)
    with pytest.raises(ConfigError, match="undercomplete"):
        config.FitConfig(kind="nope").validate()


def test_the_registry_and_the_configuration_import_without_torch() -> None:
    code = "import sys, aefeatures.nn.kinds, aefeatures.config; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
