"""Every autoencoder kind is real: each regulariser does its job, and every kind is reproducible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

import aefeatures as aef
from aefeatures.config import KINDS, FitConfig, NetConfig
from aefeatures.nn import kinds
from aefeatures.nn.kinds.denoising import corrupt, noisy_input
from aefeatures.nn.losses import ReconstructionLoss, row_errors
from aefeatures.nn.network import Autoencoder
from tests.helpers import make_factors, make_mixed

FIT = {"epochs": 40, "threads": 1, "seed": 0, "trim": 0.0}  # regularisers alone, no trimmed loss


@pytest.fixture(scope="module")
def factors_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kinds") / "factors.parquet"
    make_factors().write_parquet(path)
    return path


def _codes(model: aef.AutoencoderModel, frame: pl.DataFrame) -> np.ndarray:
    return model.score(model.preprocessor.encode(frame)).codes


def _tensors(model: aef.AutoencoderModel, frame: pl.DataFrame) -> tuple[torch.Tensor, ...]:
    encoded = model.preprocessor.encode(frame)
    return tuple(torch.from_numpy(a) for a in (encoded.inputs, encoded.observed, encoded.targets))


def _hoyer(codes: np.ndarray) -> float:
    """Scale-free sparsity of each row's code (0 dense .. 1 one-hot), averaged."""
    k = codes.shape[1]
    ratio = np.abs(codes).sum(1) / (np.sqrt((codes**2).sum(1)) + 1e-12)
    return float(((np.sqrt(k) - ratio) / (np.sqrt(k) - 1)).mean())


@pytest.mark.parametrize(
    ("kind", "linear_path"),
    [("deep", False), ("undercomplete", False), ("sparse-l1", False), ("sparse-kl", False)]
    + [("variational", False), ("contractive", True), ("sparse-kl", True)],
)
def test_encoder_jacobian_is_exact(kind: str, linear_path: bool) -> None:
    hidden = (11, 5) if kind != "undercomplete" else ()
    net = Autoencoder(NetConfig(kind=kind, n_inputs=7, latent_dim=3, hidden=hidden, linear_path=linear_path))
    x = torch.randn(4, 7)
    jac = net.encoder_jacobian(x)
    for row in range(4):
        expected = torch.autograd.functional.jacobian(lambda v: net.encode(v[None]).code[0], x[row])
        torch.testing.assert_close(jac[row], expected, rtol=1e-5, atol=1e-6)


def test_corruption_acts_on_whole_source_column_blocks() -> None:
    input_column = torch.tensor([0, 1, 1, 1, 2, 3, 3])  # column 1 is a one-hot block, 3 a value + indicator
    rows = torch.arange(4000, dtype=torch.float32)[:, None]
    inputs = rows * 10 + torch.arange(7, dtype=torch.float32)  # each cell names its row and position
    original = inputs.clone()
    generator = torch.Generator().manual_seed(0)
    swapped = corrupt(inputs, input_column, "swap", 0.3, generator)
    donor = torch.div(swapped, 10, rounding_mode="floor")  # the row each value came from
    for column in range(4):
        block = donor[:, input_column == column]
        assert (block == block[:, :1]).all()  # a block moves as a whole
        assert (swapped - donor * 10 == inputs - rows * 10).all()  # and keeps its positions
    moved = (donor[:, [0, 1, 4, 5]] != rows).float().mean()
    assert 0.27 < float(moved) < 0.31  # ~30% of cells, minus donors that happen to be the row itself
    masked = corrupt(inputs, input_column, "masking", 0.3, generator)
    zero = masked == 0
    zero[0] = True  # row 0 of position 0 is 0 anyway
    for column in range(4):
        block = zero[:, input_column == column]
        assert (block == block[:, :1]).all()
    assert 0.27 < float(zero[1:, [0, 1, 4, 5]].float().mean()) < 0.33
    noisy = corrupt(inputs, input_column, "gaussian", 0.5, generator)
    assert abs(float((noisy - inputs).std()) - 0.5) < 0.02
    assert torch.equal(inputs, original)  # never in place


def test_masking_blanks_a_cell_exactly_as_a_missing_cell_is_encoded(tmp_path: Path) -> None:
    path = tmp_path / "mixed.parquet"
    make_mixed(rows=300).drop("id", "label").with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("x", "y", "segment", "active", "seen")
    ).write_parquet(path)  # every column but count had missing cells at fit: it has no indicator
    frame = pl.read_parquet(path)
    preprocessor = aef.fit(path, epochs=1, threads=1).preprocessor
    loss = ReconstructionLoss(preprocessor.terms, preprocessor.baselines, len(preprocessor.columns))
    assert loss.input_indicator.sum() == len(preprocessor.columns) - 1
    present = frame.filter(pl.all_horizontal(pl.all().is_not_null()))
    clean = torch.from_numpy(preprocessor.encode(present).inputs)
    masked = corrupt(clean, loss.input_column, "masking", 1.0, torch.Generator(), loss.input_indicator)
    all_missing = present.select(pl.lit(None, dtype=dtype).alias(n) for n, dtype in present.schema.items())
    expected = torch.from_numpy(preprocessor.encode(all_missing).inputs)
    assert torch.equal(masked, expected.expand_as(masked))  # value blocks zeroed, indicators set
    some = corrupt(
        clean, loss.input_column, "masking", 0.5, torch.Generator().manual_seed(0), loss.input_indicator
    )
    hit = (some != clean)[:, loss.input_indicator]  # a masked column's indicator went from 0 to 1
    assert bool((some[:, loss.input_indicator][hit] == 1.0).all()) and 0.4 < float(hit.float().mean()) < 0.6


def test_denoising_weighs_untouched_columns_by_clean_weight() -> None:
    input_column = torch.tensor([0, 1, 1, 2])  # column 1 is a two-position block
    inputs = torch.arange(4000 * 4, dtype=torch.float32).reshape(4000, 4)
    noisy, weights, hidden = noisy_input(
        inputs, input_column, FitConfig(clean_weight=0.25), torch.Generator().manual_seed(1)
    )
    assert hidden is None  # swap noise blanks nothing
    assert weights is not None and weights.shape == (4000, 3)
    changed = torch.zeros(4000, 3).index_add_(1, input_column, (noisy != inputs).float()) > 0
    assert bool((weights[changed] == 1.0).all())  # swapped columns weigh 1
    assert float(((weights == 1.0) & ~changed).float().mean()) < 0.001  # a donor that is the row itself
    assert set(weights.unique().tolist()) == {0.25, 1.0}
    assert 0.28 < float(changed.float().mean()) < 0.32
    for config in (FitConfig(clean_weight=1.0), FitConfig(noise="gaussian"), FitConfig(noise_level=0.0)):
        assert noisy_input(inputs, input_column, config, torch.Generator())[1] is None  # all equal
    errors = torch.tensor([[1.0, 2.0, 4.0], [3.0, 0.0, 5.0]])
    counts = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])  # row 1's column 1 was all missing
    weighted = row_errors(errors, counts, weights=torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0]]))
    assert weighted.tolist() == pytest.approx([(1.0 + 1.0) / 1.5, 0.0])  # a row weighing 0 adds nothing
    assert row_errors(errors, counts).tolist() == pytest.approx([7 / 3, 4.0])


def test_sparse_l1_gives_sparser_codes_than_the_same_net_without_penalty(factors_path: Path) -> None:
    frame = pl.read_parquet(factors_path)
    plain = aef.fit(factors_path, kind="sparse-l1", l1_weight=0.0, latent_dim=8, **FIT)
    sparse = aef.fit(factors_path, kind="sparse-l1", l1_weight=0.2, latent_dim=8, **FIT)
    plain_codes, sparse_codes = _codes(plain, frame), _codes(sparse, frame)
    assert (sparse_codes == 0).mean() > (plain_codes == 0).mean() + 0.15
    assert _hoyer(sparse_codes) > _hoyer(plain_codes) + 0.15  # sparser, not merely rescaled
    assert sparse.metadata["history"]["epochs"][-1]["l1"] > 0


def test_sparse_kl_drives_mean_activations_to_the_target(factors_path: Path) -> None:
    frame = pl.read_parquet(factors_path)
    sizes = {"latent_dim": 4, "hidden": [16, 8]}  # pinned: 40 epochs suffice at this capacity
    plain = aef.fit(factors_path, kind="sparse-kl", sparsity_weight=0.0, **sizes, **FIT)
    sparse = aef.fit(
        factors_path, kind="sparse-kl", sparsity_weight=1.0, sparsity_target=0.05, **sizes, **FIT
    )
    assert np.abs(_codes(plain, frame).mean(0) - 0.05).max() > 0.2
    np.testing.assert_allclose(_codes(sparse, frame).mean(0), 0.05, atol=0.02)


def test_contractive_penalty_lowers_the_jacobian_norm(factors_path: Path) -> None:
    frame = pl.read_parquet(factors_path)
    norms = {}
    for kind, own in (("deep", {}), ("contractive", {"contractive_weight": 0.1})):
        model = aef.fit(factors_path, kind=kind, latent_dim=4, **own, **FIT)  # deep has no such weight
        inputs = _tensors(model, frame)[0]
        with torch.no_grad():
            norms[kind] = float(model.net.encoder_jacobian(inputs).square().sum((1, 2)).mean())
    assert norms["contractive"] < 0.2 * norms["deep"]


@pytest.mark.parametrize("noise", ["swap", "masking", "gaussian"])
def test_denoising_reconstructs_corrupted_inputs_better(factors_path: Path, noise: str) -> None:
    frame = make_factors(600, seed=9)  # unseen rows with the same structure
    level = 0.3 if noise == "gaussian" else 0.2
    errors = {}
    for kind, own in (("deep", {}), ("denoising", {"noise": noise, "noise_level": level})):
        model = aef.fit(factors_path, kind=kind, latent_dim=4, **own, **FIT)  # deep has no noise
        inputs, observed, targets = _tensors(model, frame)
        noisy = corrupt(inputs, model.loss_fn.input_column, noise, level, torch.Generator().manual_seed(3))
        with torch.no_grad():
            errors[kind] = float(model.loss_fn(model.net(noisy).recon, inputs, observed, targets).mean())
    assert errors["denoising"] < 0.95 * errors["deep"]


def test_variational_applies_kl_and_its_latent_approaches_the_prior(factors_path: Path) -> None:
    frame = pl.read_parquet(factors_path)
    moments = {}
    for beta in (0.0, 1.0):
        model = aef.fit(factors_path, kind="variational", beta=beta, latent_dim=4, **FIT)
        with torch.no_grad():
            output = model.net(_tensors(model, frame)[0])
        mean, var = output.code.numpy(), output.logvar.exp().numpy()
        moments[beta] = (mean.mean(0), mean.var(0) + var.mean(0))  # aggregate posterior mean, variance
        history = model.metadata["history"]["epochs"]
    assert all(epoch["kl"] > 0.1 for epoch in history)  # recorded, and clearly non-zero
    np.testing.assert_allclose(moments[1.0][0], 0.0, atol=0.15)
    np.testing.assert_allclose(moments[1.0][1], 1.0, atol=0.25)
    assert np.abs(moments[0.0][1] - 1.0).max() > 1.0  # without the KL it is far from N(0, 1)
    np.testing.assert_array_equal(_codes(model, frame), mean)  # embeddings are the posterior mean


def test_l1_hidden_also_penalises_the_hidden_layers() -> None:
    net = Autoencoder(NetConfig(kind="sparse-l1", n_inputs=6, latent_dim=2, hidden=(5, 4)))
    output = net(torch.randn(8, 6))
    penalty = kinds.get("sparse-l1").penalty
    assert penalty is not None
    code_only = aef.FitConfig(kind="sparse-l1", l1_weight=0.5)
    weighted, raw = penalty(net, output, torch.zeros(8, 6), code_only, 1, 6)
    torch.testing.assert_close(raw, output.code.abs().mean())
    torch.testing.assert_close(weighted, 0.5 * raw)
    everything = aef.FitConfig(kind="sparse-l1", l1_weight=0.5, l1_hidden=True)
    _, raw = penalty(net, output, torch.zeros(8, 6), everything, 1, 6)
    expected = output.code.abs().mean() + sum(h.abs().mean() for h in output.hidden)
    torch.testing.assert_close(raw, expected)


def test_kl_warm_up_grows_the_weight_linearly() -> None:
    config = aef.FitConfig(kind="variational", beta=2.0, kl_warmup_epochs=4)
    kind = kinds.get("variational")
    assert kind.penalty is not None and kind.warmup_epochs(config) == 4
    net = Autoencoder(NetConfig(kind="variational", n_inputs=6, latent_dim=2, hidden=(5,)))
    output = net(torch.randn(8, 6))
    for epoch, share in ((1, 0.25), (2, 0.5), (4, 1.0), (9, 1.0)):
        weighted, raw = kind.penalty(net, output, torch.zeros(8, 6), config, epoch, 3)
        torch.testing.assert_close(weighted, 2.0 * share * raw / 3)


def test_pca_matches_numpy_pca_of_standardised_inputs(factors_path: Path) -> None:
    frame = pl.read_parquet(factors_path)
    model = aef.fit(factors_path, kind="pca", latent_dim=3, threads=1)
    assert model.metadata["history"]["stopped_because"] == "closed_form"
    x = model.preprocessor.encode(frame).inputs.astype(np.float64)
    train_rows = np.sort(np.random.default_rng(0).permutation(len(x))[round(len(x) * 0.1) :])
    mean, std = x[train_rows].mean(0), x[train_rows].std(0)
    _, _, vt = np.linalg.svd((x[train_rows] - mean) / std, full_matrices=False)
    expected = mean + ((x - mean) / std) @ vt[:3].T @ vt[:3] * std
    with torch.no_grad():
        recon = model.net(torch.from_numpy(x.astype(np.float32))).recon.numpy()
    np.testing.assert_allclose(recon, expected, atol=2e-3)


def test_pca_scores_categorical_and_boolean_blocks_as_clipped_probabilities(
    mixed_frame: pl.DataFrame,
) -> None:
    model = aef.fit(mixed_frame, kind="pca", latent_dim=2, exclude=["id", "label"], threads=1)
    inputs, observed, targets = _tensors(model, mixed_frame)
    with torch.no_grad():
        recon = model.net(inputs).recon
        linear = model.net.output_layer(model.net.encode(inputs).code)
    loss = model.loss_fn
    bce = loss.bce_pos
    expected = torch.logit(linear[:, bce].clamp(0.01, 0.99))
    torch.testing.assert_close(recon[:, bce], expected)
    assert torch.isfinite(loss(recon, inputs, observed, targets)).all()
    numeric = loss.mse_pos
    torch.testing.assert_close(recon[:, numeric], linear[:, numeric])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_deterministic_and_survives_save_load_bit_for_bit(kind: str, tmp_path: Path) -> None:
    frame = make_mixed(400, seed=2)
    data = tmp_path / "mixed.parquet"
    frame.write_parquet(data)
    params = {"kind": kind, "exclude": ["id", "label"], "threads": 1, "seed": 3, "latent_dim": 3}
    if not kinds.entry(kind).closed_form:
        params["epochs"] = 4  # pca is solved, not trained: epochs would be refused
    if kind == "deep":
        params["hidden"] = [24, 12, 6]  # depth and widths are configurable
    first, second = aef.fit(data, **params), aef.fit(data, **params)
    if kind == "deep":
        assert len(first.net.encoder_layers) == 3 and len(first.net.decoder_layers) == 3
    out = first.transform(data)
    assert out.equals(second.transform(data))  # same data, seed and threads: same model
    assert out.equals(first.transform(data))  # transform itself is deterministic (VAE: the mean)
    first.save(tmp_path / "model")
    loaded = aef.load(tmp_path / "model")
    assert loaded.config.kind == kind
    reloaded = loaded.transform(data)
    assert reloaded.equals(out)
    z = [c for c in out.columns if c.startswith("ae_z")]
    assert np.array_equal(
        out.select(z).to_numpy().view(np.uint32), reloaded.select(z).to_numpy().view(np.uint32)
    )
