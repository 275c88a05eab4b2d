"""The registry of autoencoder kinds: one line per kind, readable without torch.

A kind's behaviour lives in its module ``aefeatures.nn.kinds.<module>`` (its ``KIND``); its
line here holds what configuration and the command line need before torch is loaded.
"""

from __future__ import annotations

from typing import NamedTuple

from aefeatures.errors import ConfigError


class Entry(NamedTuple):
    """A kind's registry line."""

    module: str  # aefeatures.nn.kinds.<module> defines the kind's KIND
    summary: str  # one line, for the command line's help
    hidden: bool = True  # the default network has one hidden layer each side
    input_clip: bool = True  # the encoder sees inputs clipped to +/- FitConfig.input_clip
    closed_form: bool = False  # solved by KIND.solve, not trained by gradient descent


_REGISTRY: dict[str, Entry] = {
    "undercomplete": Entry("undercomplete", "no hidden layer, SiLU code", hidden=False),
    "deep": Entry("deep", "hidden layers each side, linear code"),
    "sparse-l1": Entry("sparse_l1", "ReLU code with an L1 penalty (l1_weight, l1_hidden)"),
    "sparse-kl": Entry("sparse_kl", "sigmoid code pulled to sparsity_target (sparsity_weight)"),
    "denoising": Entry("denoising", "learns to undo input noise (noise, noise_level)"),
    "contractive": Entry("contractive", "penalises the encoder's Jacobian (contractive_weight)"),
    "variational": Entry("variational", "Gaussian latent with a KL term (beta, kl_warmup_epochs)"),
    "pca": Entry(
        "pca", "linear PCA baseline, solved in closed form", hidden=False, input_clip=False, closed_form=True
    ),
}

KINDS: tuple[str, ...] = tuple(_REGISTRY)
NEURAL_KINDS: tuple[str, ...] = tuple(name for name, line in _REGISTRY.items() if not line.closed_form)
SUMMARIES: dict[str, str] = {name: line.summary for name, line in _REGISTRY.items()}


def entry(name: str) -> Entry:
    """The registry line of kind ``name``.

    Raises
    ------
    ConfigError
        ``name`` is not a registered kind; the message lists the allowed ones.

    Examples
    --------
    >>> entry("pca").closed_form
    True
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"kind={name!r} is not allowed; choose one of {', '.join(KINDS)}.",
            hint="give kind one of the listed values (command line: --kind)",
        ) from None
