"""The registry of autoencoder kinds: one line per kind, readable without torch.

A kind's behaviour lives in its module ``aefeatures.nn.kinds.<module>`` (its ``KIND``, which
needs torch); its line here holds what configuration and the command line need before torch is
loaded: a summary, sizing facts and the kind's own settings (its regularisers), which become
:class:`~aefeatures.config.FitConfig` fields, ``--set`` names and ``AutoencoderTransformer``
parameters. Adding a kind is its module plus its line here.
"""

from __future__ import annotations

from typing import NamedTuple

from aefeatures.errors import ConfigError
from aefeatures.settings.declare import Setting


class Entry(NamedTuple):
    """A kind's registry line."""

    module: str  # aefeatures.nn.kinds.<module> defines the kind's KIND
    summary: str  # one line, for the command line's help
    hidden: bool = True  # the default network has one hidden layer each side
    input_clip: bool = True  # the encoder sees inputs clipped to +/- FitConfig.input_clip
    closed_form: bool = False  # solved by KIND.solve, not trained by gradient descent
    linear_path: bool = (
        True  # takes pca_start's linear path (pca is one; a variational code is a distribution)
    )
    settings: tuple[Setting, ...] = ()  # the kind's own settings, used only by it

    def does(self, need: str) -> bool:
        """Whether the kind does what a shared setting ``needs`` (:data:`~aefeatures.settings.declare.NEEDS`).

        Examples
        --------
        >>> entry("pca").does("training"), entry("deep").does("input_clip")
        (False, True)
        """
        return {
            "training": not self.closed_form,
            "input_clip": self.input_clip,
            "linear_path": self.linear_path,
        }[need]


_REGISTRY: dict[str, Entry] = {
    "undercomplete": Entry("undercomplete", "no hidden layer, SiLU code", hidden=False),
    "deep": Entry("deep", "hidden layers each side, linear code"),
    "sparse-l1": Entry(
        "sparse_l1",
        "ReLU code with an L1 penalty",
        settings=(
            Setting(
                "l1_weight",
                float,
                1e-3,
                "Weight of the mean absolute code activation in the loss",
                range=(0.0, 1e3),
            ),
            Setting("l1_hidden", bool, False, "Also penalise the encoder's hidden activations"),
        ),
    ),
    "sparse-kl": Entry(
        "sparse_kl",
        "sigmoid code pulled to a target mean activation",
        settings=(
            Setting(
                "sparsity_target",
                float,
                0.05,
                "Target mean activation of each code unit",
                range=(1e-4, 0.9999),
            ),
            Setting(
                "sparsity_weight",
                float,
                0.1,
                "Weight of the KL term that pulls the code to sparsity_target",
                range=(0.0, 1e3),
            ),
        ),
    ),
    "denoising": Entry(
        "denoising",
        "learns to undo input noise",
        settings=(
            Setting(
                "noise",
                str,
                "swap",
                "Input corruption, per source column",
                choices=("gaussian", "masking", "swap"),
            ),
            Setting(
                "noise_level",
                float,
                0.3,
                "Gaussian noise's standard deviation, or the share of columns masked or swapped",
                range=(0.0, 1.0),
            ),
            Setting(
                "clean_weight",
                float,
                1.0,
                "Loss weight of the columns the noise left untouched",
                range=(0.0, 1.0),
                only_when=(("noise", ("masking", "swap")),),  # gaussian noise touches every column
            ),
            Setting(
                "gaussian_start",
                bool,
                False,
                "Read each missing cell as its conditional mean under a Gaussian mixture of the training rows; "
                "the network learns what that fill misses (a filling model: its reconstruction "
                "of a present cell is the cell itself plus a correction, and it cannot sample rows)",
                only_when=(("noise", ("masking",)),),  # masked cells are what it fills
            ),
            Setting(
                "gaussian_components",
                int,
                8,
                "The most Gaussians gaussian_start mixes: 1, 2, 4 and 8 up to it are tried and the "
                "training rows choose; rows in groups fill better with more, each one slows the fill "
                "(1: fastest)",
                range=(1, 8),
                only_when=(("noise", ("masking",)), ("gaussian_start", (True,))),
            ),
        ),
    ),
    "contractive": Entry(
        "contractive",
        "penalises the encoder's Jacobian",
        settings=(
            Setting(
                "contractive_weight",
                float,
                1e-3,
                "Weight of the encoder Jacobian's squared norm in the loss",
                range=(0.0, 1e3),
            ),
        ),
    ),
    "variational": Entry(
        "variational",
        "Gaussian latent with a KL term",
        linear_path=False,
        settings=(
            Setting("beta", float, 1.0, "Weight of the KL term (a beta-VAE)", range=(0.0, 1e3)),
            Setting(
                "kl_warmup_epochs",
                int,
                10,
                "Epochs over which the KL weight grows linearly from 0",
                range=(0, 100_000),
            ),
        ),
    ),
    "pca": Entry(
        "pca",
        "linear PCA baseline, solved in closed form",
        hidden=False,
        input_clip=False,
        closed_form=True,
        linear_path=False,
    ),
}

KINDS: tuple[str, ...] = tuple(_REGISTRY)
NEURAL_KINDS: tuple[str, ...] = tuple(name for name, line in _REGISTRY.items() if not line.closed_form)
SUMMARIES: dict[str, str] = {
    name: line.summary + (f" ({', '.join(s.name for s in line.settings)})" if line.settings else "")
    for name, line in _REGISTRY.items()
}


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
    >>> [setting.name for setting in entry("variational").settings]
    ['beta', 'kl_warmup_epochs']
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"kind={name!r} is not allowed; choose one of {', '.join(KINDS)}.",
            hint="give kind one of the listed values (command line: --kind)",
        ) from None
