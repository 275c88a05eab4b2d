"""scikit-learn adapter: :class:`AutoencoderTransformer` returns only the new feature columns.

Needs the ``sklearn`` extra (``pip install 'aefeatures[sklearn]'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, validate_data

from aefeatures.api import fit as fit_model
from aefeatures.config import FitConfig
from aefeatures.errors import NotFittedError
from aefeatures.io.sources import to_polars
from aefeatures.model.fitted_model import AutoencoderModel

FIT_PARAMS = (
    "kind", "goal", "latent_dim", "hidden", "input_clip", "trim", "epochs", "steps", "batch_size", "learning_rate", "weight_decay",
    "validation_fraction", "patience", "max_seconds", "seed", "device", "threads", "contamination",
    "max_levels", "min_level_count", "prefix", "l1_weight", "l1_hidden", "sparsity_target", "sparsity_weight",
    "noise", "noise_level", "clean_weight", "contractive_weight", "beta", "kl_warmup_epochs",
)  # fmt: skip


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Fit an autoencoder; ``transform`` gives ``ae_z*``, ``ae_error``, ``ae_error_pct``, ``ae_outlier``.

    Every parameter is the :class:`~aefeatures.config.FitConfig` field of the same name and is
    checked in :meth:`fit`; ``per_feature_errors`` adds ``ae_error__<column>``. ``goal``
    (``"outliers"``, ``"features"`` or ``"reconstruction"``) sets the parameters it stands for
    (:data:`~aefeatures.goals.GOALS`) wherever they are left at their defaults. Input may be a
    numpy array (columns named ``x0``, ``x1``, ...), a pandas or polars DataFrame or a pyarrow
    Table, with numeric, boolean, string, categorical and datetime columns and missing values.
    Output is a float64 numpy array, or a polars / pandas DataFrame with the native column types
    after ``set_output(transform="polars")`` / ``"pandas"``.

    Attributes
    ----------
    model_ : AutoencoderModel
        The fitted model; ``model_.save(path)`` writes it without pickle.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input column names, when the input had string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from aefeatures.integrations.sklearn import AutoencoderTransformer
    >>> X = np.random.default_rng(0).normal(size=(200, 4))
    >>> ae = AutoencoderTransformer(latent_dim=2, epochs=2, threads=1).fit(X)
    >>> ae.get_feature_names_out().tolist()
    ['ae_z0', 'ae_z1', 'ae_error', 'ae_error_pct', 'ae_outlier']
    >>> ae.transform(X).shape
    (200, 5)
    """

    def __init__(
        self,
        kind: str = "denoising",
        *,
        goal: str = "outliers",
        latent_dim: int | None = None,
        hidden: tuple[int, ...] | None = None,
        input_clip: float | None = 3.0,
        trim: float = 0.35,
        epochs: int | None = None,
        steps: int = 4_000,
        batch_size: int | None = None,
        learning_rate: float = 4e-3,
        weight_decay: float = 0.0,
        validation_fraction: float = 0.1,
        patience: int = 12,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "auto",
        threads: int | None = None,
        contamination: float = 0.01,
        max_levels: int = 64,
        min_level_count: int = 5,
        prefix: str = "ae_",
        l1_weight: float = 1e-3,
        l1_hidden: bool = False,
        sparsity_target: float = 0.05,
        sparsity_weight: float = 0.1,
        noise: str = "swap",
        noise_level: float = 0.3,
        clean_weight: float = 1.0,
        contractive_weight: float = 1e-3,
        beta: float = 1.0,
        kl_warmup_epochs: int = 10,
        per_feature_errors: bool = False,
    ) -> None:
        self.kind = kind
        self.goal = goal
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.input_clip = input_clip
        self.trim = trim
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.max_seconds = max_seconds
        self.seed = seed
        self.device = device
        self.threads = threads
        self.contamination = contamination
        self.max_levels = max_levels
        self.min_level_count = min_level_count
        self.prefix = prefix
        self.l1_weight = l1_weight
        self.l1_hidden = l1_hidden
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.noise = noise
        self.noise_level = noise_level
        self.clean_weight = clean_weight
        self.contractive_weight = contractive_weight
        self.beta = beta
        self.kl_warmup_epochs = kl_warmup_epochs
        self.per_feature_errors = per_feature_errors

    def fit(self, X: Any, y: Any = None) -> AutoencoderTransformer:
        """Learn preprocessing and train the autoencoder on ``X``; ``y`` is ignored."""
        frame = self._frame(X, reset=True)
        # Parameters at their defaults are left out, so that the goal's settings apply to them.
        defaults = FitConfig()
        params = {
            name: getattr(self, name)
            for name in FIT_PARAMS
            if name == "goal" or getattr(self, name) != getattr(defaults, name)
        }
        self.model_ = fit_model(frame, **params)
        return self

    def transform(self, X: Any) -> Any:
        """The new columns only, one row per input row, in order."""
        model = self._fitted()
        frame = self._frame(X, reset=False)
        names = model.output_names(self.per_feature_errors)
        new = model.transform_frame(frame, self.per_feature_errors).select(names)
        container = _get_output_config("transform", self)["dense"]
        if container == "polars":
            return new
        if container == "pandas":
            out = new.to_pandas()
            if type(X).__module__.split(".")[0] == "pandas":
                out.index = X.index
            return out
        return new.to_numpy().astype(np.float64, copy=False)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the columns ``transform`` returns."""
        model = self._fitted()
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(model.output_names(self.per_feature_errors), dtype=object)

    def __sklearn_is_fitted__(self) -> bool:
        """Whether :meth:`fit` has run."""
        return hasattr(self, "model_")

    def __sklearn_tags__(self) -> Any:
        """Missing values are features of the data (imputed, with a missingness indicator)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def _fitted(self) -> AutoencoderModel:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet.",
                hint="call fit(X) before transform or get_feature_names_out",
            )
        return self.model_

    def _frame(self, X: Any, *, reset: bool) -> pl.DataFrame:
        """``X`` as a polars DataFrame, with sklearn's column-count and column-name checks."""
        if _is_dataframe(X):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return to_polars(X)
        array = validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            ensure_min_samples=2 if reset else 1,
        )
        return pl.DataFrame(array, schema=[f"x{i}" for i in range(array.shape[1])], orient="row")


def _is_dataframe(X: Any) -> bool:
    return isinstance(X, pl.DataFrame) or type(X).__module__.split(".")[0] in ("pandas", "pyarrow")
