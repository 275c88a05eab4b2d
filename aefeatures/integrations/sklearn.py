"""scikit-learn adapter: :class:`AutoencoderTransformer` returns only the new feature columns.

Needs the ``sklearn`` extra (``pip install 'aefeatures[sklearn]'``).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import _check_feature_names_in, validate_data

from aefeatures.api import fit as fit_model
from aefeatures.errors import NotFittedError
from aefeatures.io.sources import to_polars
from aefeatures.model.fitted_model import AutoencoderModel
from aefeatures.settings import SETTINGS, declared

# Every fit setting is a parameter but the choice of columns, which is the job of a Pipeline or
# ColumnTransformer; kind comes first, as the one positional parameter.
FIT_PARAMS: tuple[str, ...] = (
    "kind",
    *(s.name for s in SETTINGS if s.name not in ("kind", "columns", "exclude")),
)


def _signature() -> inspect.Signature:
    """The ``__init__`` signature scikit-learn reads: ``kind``, then every other fit setting
    (keyword-only, with the default and type of its declaration), then ``per_feature_errors``."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(
                inspect.Parameter(
                    name,
                    inspect.Parameter.POSITIONAL_OR_KEYWORD if name == "kind" else keyword,
                    default=declared(name).default,
                    annotation=declared(name).type,
                )
                for name in FIT_PARAMS
            ),
            inspect.Parameter("per_feature_errors", keyword, default=False, annotation=bool),
        ]
    )


_SIGNATURE = _signature()


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Fit an autoencoder; ``transform`` gives ``ae_z*``, ``ae_error``, ``ae_error_pct``, ``ae_outlier``.

    Every parameter but ``per_feature_errors`` is the fit setting of the same name (declared in
    :mod:`aefeatures.settings`, a field of :class:`~aefeatures.config.FitConfig`: ``kind``, then
    keyword-only ``goal``, ``latent_dim``, ``epochs``, ``noise``, ...) and is checked in
    :meth:`fit`; ``per_feature_errors`` adds ``ae_error__<column>``. ``goal`` (``"outliers"``,
    ``"features"`` or ``"reconstruction"``) sets the parameters it stands for
    (:data:`~aefeatures.goals.GOALS`) unless they were given: a parameter passed to the
    constructor or to ``set_params`` wins over the goal's even at its default value
    (``AutoencoderTransformer("denoising", goal="reconstruction")`` trains ``denoising``), and a
    clone knows which were given. Input may be a
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

    _given: frozenset[str]  # the parameters passed to __init__ or set_params

    def __init__(self, *args: Any, **params: Any) -> None:
        # Bound to the declared signature: a wrong name or a second positional argument is the
        # same TypeError as with a written-out __init__.
        given = _SIGNATURE.bind(self, *args, **params).arguments
        for name, parameter in _SIGNATURE.parameters.items():
            if name != "self":
                setattr(self, name, given.get(name, parameter.default))
        self._given = frozenset(given) - {"self"}

    __init__.__signature__ = _SIGNATURE  # type: ignore[attr-defined]

    def set_params(self, **params: Any) -> AutoencoderTransformer:
        """Set parameters, as for any estimator; they count as given, so they win over the goal's."""
        super().set_params(**params)
        self._given = self._given | params.keys()
        return self

    def __sklearn_clone__(self) -> AutoencoderTransformer:
        """An unfitted copy with the same parameters, given where they were given here."""
        twin: AutoencoderTransformer = super().__sklearn_clone__()
        twin._given = self._given
        return twin

    def fit(self, X: Any, y: Any = None) -> AutoencoderTransformer:
        """Learn preprocessing and train the autoencoder on ``X``; ``y`` is ignored."""
        frame = self._frame(X, reset=True)
        self.model_ = fit_model(frame, **self._fit_settings())
        return self

    def _fit_settings(self) -> dict[str, Any]:
        """The settings :meth:`fit` passes: the goal, and every parameter given (or assigned a
        value other than its default since); the goal's settings apply to the others."""
        return {
            name: getattr(self, name)
            for name in FIT_PARAMS
            if name == "goal" or name in self._given or getattr(self, name) != declared(name).default
        }

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
