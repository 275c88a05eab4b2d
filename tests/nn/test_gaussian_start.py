"""gaussian_start: holes read as their conditional mean under a Gaussian mixture of the training
rows, the network's output a correction to that completed row, so a fill starts at that one."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

import aefeatures as aef
from aefeatures.errors import ConfigError
from aefeatures.nn.conditional import GaussianStart, conditional_means, mixture_means
from aefeatures.nn.gaussian_fit import choose_components, fit_gaussian, fit_mixture
from tests.helpers import make_mixed


def linear_table(n: int, seed: int = 0) -> pl.DataFrame:
    """Three numbers nearly linear in each other, and a level set by the first."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pl.DataFrame(
        {
            "a": x,
            "b": 2 * x + rng.normal(size=n) * 0.1,
            "c": -x + rng.normal(size=n) * 0.1,
            "k": np.where(x > 0, "high", "low"),
        }
    )


def test_conditional_means_match_the_closed_form_for_every_hole_pattern() -> None:
    rng = np.random.default_rng(0)
    covariance = np.cov(rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4)), rowvar=False) + np.eye(4)
    mean = rng.normal(size=4)
    values = rng.normal(size=(64, 4))
    holes = rng.random((64, 4)) < 0.5  # rows with 0 to 4 holes, solved in groups of equal count
    got = conditional_means(
        torch.from_numpy(values), torch.from_numpy(holes), torch.from_numpy(mean),
        torch.from_numpy(np.linalg.inv(covariance)),
    ).numpy()  # fmt: skip
    for row in range(64):
        m, o = holes[row], ~holes[row]
        expected = values[row].copy()
        if m.any():
            gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)]) if o.any() else 0.0
            expected[m] = mean[m] + (gain @ (values[row, o] - mean[o]) if o.any() else 0.0)
        np.testing.assert_allclose(got[row], expected, atol=1e-9)


def grouped_table(n: int, seed: int = 0) -> pl.DataFrame:
    """Two groups of rows whose relation between a and b has opposite signs: no one plane fits."""
    rng = np.random.default_rng(seed)
    group = rng.random(n) < 0.5
    x = rng.normal(size=n)
    return pl.DataFrame(
        {
            "a": x + np.where(group, 6.0, -6.0),
            "b": np.where(group, 2.0, -2.0) * x + rng.normal(size=n) * 0.1,
            "c": x + rng.normal(size=n) * 0.1,
        }
    )


def random_mixture(rng: np.random.Generator, components: int, width: int) -> list[np.ndarray]:
    """Log weights, means and covariances of a random mixture."""
    covariances = []
    for _ in range(components):
        factor = rng.normal(size=(width, width))
        covariances.append(factor @ factor.T / width + 0.3 * np.eye(width))
    weights = rng.random(components) + 0.2
    return [np.log(weights / weights.sum()), rng.normal(size=(components, width)) * 2, np.stack(covariances)]


def test_mixture_means_match_the_closed_form_for_every_hole_pattern() -> None:
    rng = np.random.default_rng(4)
    log_weight, mean, covariance = random_mixture(rng, 3, 4)
    values = rng.normal(size=(80, 4)) * 2
    holes = rng.random((80, 4)) < 0.5
    got = mixture_means(
        torch.from_numpy(values), torch.from_numpy(holes), torch.from_numpy(log_weight),
        torch.from_numpy(mean), torch.from_numpy(np.linalg.inv(covariance)),
    ).numpy()  # fmt: skip
    for row in range(80):
        m, o = holes[row], ~holes[row]
        fills, log_density = [], []
        for k in range(3):
            s_oo = covariance[k][np.ix_(o, o)]
            d = values[row, o] - mean[k, o]
            fill = values[row].copy()
            fill[m] = mean[k, m] + covariance[k][np.ix_(m, o)] @ np.linalg.solve(s_oo, d)
            fills.append(fill)
            log_density.append(
                log_weight[k]
                - 0.5
                * (d @ np.linalg.solve(s_oo, d) + np.linalg.slogdet(s_oo)[1] + o.sum() * np.log(2 * np.pi))
            )
        posterior = np.exp(np.array(log_density) - max(log_density))
        expected = (posterior / posterior.sum()) @ np.array(fills)
        np.testing.assert_allclose(got[row], expected, atol=1e-9)


@pytest.mark.parametrize("components", [1, 3])
def test_holes_common_to_every_row_are_filled_exactly_the_faster_way(components: int) -> None:
    rng = np.random.default_rng(3)
    start = GaussianStart(6)
    log_weight, mean, covariance = random_mixture(rng, components, 6)
    start.set_mixture(
        torch.from_numpy(log_weight), torch.from_numpy(mean), torch.from_numpy(np.linalg.inv(covariance))
    )
    start.positions.copy_(torch.arange(6))
    x = torch.from_numpy(rng.normal(size=(200, 6))).float()
    common = torch.tensor([True, False, False, True, False, False])  # a view: hidden in every row
    holes = torch.from_numpy(rng.random((200, 6)) < 0.3) | common
    fast, plain = start(x, holes, common), start(x, holes)
    torch.testing.assert_close(fast, plain, atol=1e-4, rtol=1e-4)  # the mean of a mean: exact
    torch.testing.assert_close(fast[~holes], x[~holes])  # present values kept as they are


def test_a_view_under_each_rows_most_likely_component_is_that_components_fill() -> None:
    rng = np.random.default_rng(4)
    start = GaussianStart(6)
    log_weight, mean, covariance = random_mixture(rng, 3, 6)
    precision = np.linalg.inv(covariance)
    start.set_mixture(torch.from_numpy(log_weight), torch.from_numpy(mean), torch.from_numpy(precision))
    start.positions.copy_(torch.arange(6))
    x = torch.from_numpy(rng.normal(size=(300, 6))).double()
    holes = torch.from_numpy(rng.random((300, 6)) < 0.3)
    mixed, chosen = start.fill_and_choose(x, holes)
    torch.testing.assert_close(mixed, start(x, holes))  # the same fill, and the component beside it
    assert set(chosen.tolist()) == {0, 1, 2}  # rows spread over the components
    for row in range(50):  # the component of the largest posterior weight given the present values
        o, v = ~holes[row].numpy(), x[row].numpy()
        scores = []
        for k in range(3):
            d, s_oo = v[o] - mean[k][o], covariance[k][np.ix_(o, o)]
            scores.append(log_weight[k] - 0.5 * (d @ np.linalg.solve(s_oo, d) + np.linalg.slogdet(s_oo)[1]))
        assert chosen[row] == int(np.argmax(scores))
    common = torch.tensor([False, True, False, False, True, False])
    view = start(x, holes | common, common, chosen)
    for k in range(3):  # each row completed under its own component alone
        rows = chosen == k
        alone = conditional_means(
            x[rows], (holes | common)[rows], torch.from_numpy(mean[k]), torch.from_numpy(precision[k])
        )
        torch.testing.assert_close(view[rows], alone, atol=1e-6, rtol=1e-6)  # via the marginal: exact


def test_a_start_saved_before_mixtures_loads_as_one_component() -> None:
    rng = np.random.default_rng(5)
    covariance = np.cov(rng.normal(size=(40, 4)), rowvar=False) + np.eye(4)
    start = GaussianStart(4)
    saved = {name: value.clone() for name, value in start.state_dict().items() if name != "log_weight"}
    saved["mean"] = torch.from_numpy(rng.normal(size=4)).float()  # the old shapes: (V,) and (V, V)
    saved["precision"] = torch.from_numpy(np.linalg.inv(covariance)).float()
    saved["positions"] = torch.arange(4)
    start.load_state_dict(saved, strict=True)
    values, holes = (
        torch.from_numpy(rng.normal(size=(20, 4))).float(),
        torch.from_numpy(rng.random((20, 4)) < 0.4),
    )
    expected = conditional_means(values, holes, saved["mean"], saved["precision"])
    torch.testing.assert_close(start(values, holes), expected)
    assert start.log_weight.tolist() == [0.0]


def test_a_mixture_of_as_many_components_loads_back_from_its_state_dict() -> None:
    rng = np.random.default_rng(6)
    log_weight, mean, covariance = random_mixture(rng, 4, 3)
    fitted = GaussianStart(3)
    fitted.set_mixture(
        torch.from_numpy(log_weight), torch.from_numpy(mean), torch.from_numpy(np.linalg.inv(covariance))
    )
    loaded = GaussianStart(3)
    loaded.load_state_dict(fitted.state_dict(), strict=True)
    values, holes = (
        torch.from_numpy(rng.normal(size=(30, 3))).float(),
        torch.from_numpy(rng.random((30, 3)) < 0.4),
    )
    torch.testing.assert_close(loaded(values, holes), fitted(values, holes))


def test_rows_in_groups_get_a_mixture_that_fills_from_their_own_group() -> None:
    frame = grouped_table(1200)
    values = torch.from_numpy(frame.to_numpy())
    none = torch.zeros(values.shape, dtype=torch.bool)
    assert choose_components(values, none, 0.001, torch.Generator().manual_seed(0)) > 1
    test = torch.from_numpy(grouped_table(400, seed=1).to_numpy())
    holes = torch.zeros(test.shape, dtype=torch.bool)
    holes[:, 1] = True  # b from a and c: its sign depends on the group a tells apart
    fills = [
        mixture_means(
            test, holes, *(t.double() for t in fit_mixture(values, none, 0.001, k, torch.Generator()))
        )
        for k in (1, 2)
    ]
    rmse = [float(((fill - test)[:, 1] ** 2).mean() ** 0.5) for fill in fills]
    assert rmse[1] < 0.3 < 1.0 < rmse[0], rmse  # b's spread is 2: one plane misses by about that


def test_em_recovers_the_covariance_from_rows_with_holes() -> None:
    rng = np.random.default_rng(1)
    truth = np.array([[1.0, 0.8, -0.5], [0.8, 1.0, -0.3], [-0.5, -0.3, 1.0]])
    values = rng.multivariate_normal([1.0, -1.0, 0.0], truth, size=4000)
    holes = rng.random(values.shape) < 0.3
    mean, precision = fit_gaussian(torch.from_numpy(values), torch.from_numpy(holes), ridge=0.001)
    np.testing.assert_allclose(mean.numpy(), [1.0, -1.0, 0.0], atol=0.06)
    np.testing.assert_allclose(torch.linalg.inv(precision.double()).numpy(), truth, atol=0.06)


def test_the_imputation_goal_starts_at_the_gaussian_fill_and_training_keeps_it_on_linear_columns() -> None:
    frame = linear_table(600)
    started = aef.fit(frame, goal="imputation", steps=1, threads=1)  # one epoch: barely trained
    trained = aef.fit(frame, goal="imputation", steps=1500, threads=1)
    assert started.net_config.gaussian_inputs == 7  # a, b, c, two levels, the rare and unknown markers
    truth = linear_table(300, seed=2)
    holed = truth.with_columns(
        pl.when(pl.int_range(300) % 2 == 0).then(None).otherwise(pl.col("b")).alias("b")
    )
    rows = pl.int_range(300, eager=True) % 2 == 0
    for model in (started, trained):
        filled = model.impute(holed)
        error = (filled["b"] - truth["b"]).filter(rows)
        assert float((error**2).mean() ** 0.5) < 0.25  # b's spread is 2: a linear fill is within 0.1 or so
        assert filled.filter(~rows).equals(truth.filter(~rows))  # present cells as they were


def test_a_gaussian_started_model_round_trips_and_fills_a_streamed_file_as_in_memory(tmp_path) -> None:
    frame = make_mixed(300)
    model = aef.fit(frame, goal="imputation", exclude=["id", "label"], steps=200, threads=1, seed=3)
    holed = frame.with_columns(
        pl.when(pl.int_range(300) % 3 == 0).then(None).otherwise(pl.col(c)).alias(c)
        for c in model.columns[:2]
    )
    loaded = aef.load(model.save(tmp_path / "m"))
    assert loaded.net_config.gaussian_inputs == model.net_config.gaussian_inputs > 0
    in_memory = model.impute(holed)
    assert loaded.impute(holed).equals(in_memory)
    assert model.impute(holed.lazy()).collect().equals(in_memory)  # batches: the same fill
    assert in_memory.select(model.columns).null_count().sum_horizontal().item() == 0


def test_gaussian_start_needs_masking_noise() -> None:
    frame = make_mixed(120)
    with pytest.raises(ConfigError, match=r"gaussian_start"):
        aef.fit(frame, exclude=["id", "label"], gaussian_start=True, threads=1)  # default goal: swap noise
    model = aef.fit(frame, exclude=["id", "label"], noise="masking", gaussian_start=True, epochs=1, threads=1)
    assert model.net_config.gaussian_inputs > 0
    assert aef.fit(frame, exclude=["id", "label"], epochs=1, threads=1).net_config.gaussian_inputs == 0


def test_blocks_that_fail_cholesky_are_solved_by_lu() -> None:
    # A block that rounding left indefinite still gets mean_M - P_MM^-1 (P (x - mean), holes at 0)_M
    precision = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.5], [0.0, 0.5, 2.0]])
    mean, values = np.array([0.5, -1.0, 2.0]), np.array([[1.0, 2.0, 3.0]])
    holes = np.array([[True, True, False]])
    got = conditional_means(
        torch.from_numpy(values), torch.from_numpy(holes), torch.from_numpy(mean), torch.from_numpy(precision)
    ).numpy()
    twice = mixture_means(  # two equal components: the weights need log det, so Cholesky is tried
        torch.from_numpy(values), torch.from_numpy(holes), torch.log(torch.tensor([0.5, 0.5], dtype=torch.float64)),
        torch.from_numpy(np.stack([mean, mean])), torch.from_numpy(np.stack([precision, precision])),
    ).numpy()  # fmt: skip
    m = holes[0]
    pulled = precision @ np.where(holes[0], 0.0, values[0] - mean)
    expected = values[0].copy()
    expected[m] = mean[m] - np.linalg.solve(precision[np.ix_(m, m)], pulled[m])
    np.testing.assert_allclose(got[0], expected, atol=1e-12)
    np.testing.assert_allclose(twice[0], expected, atol=1e-12)


def test_gaussian_components_bounds_the_mixture_the_rows_choose() -> None:
    frame = grouped_table(800)
    chosen = aef.fit(frame, goal="imputation", steps=1, threads=1)
    single = aef.fit(frame, goal="imputation", gaussian_components=1, steps=1, threads=1)
    assert len(chosen.net.gaussian.log_weight) > 1  # type: ignore[union-attr]
    assert len(single.net.gaussian.log_weight) == 1  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"gaussian_components"):
        aef.fit(frame, gaussian_components=2, epochs=1, threads=1)  # the default goal has no Gaussian start
