"""scikit-learn adapters: :class:`AutoencoderTransformer` returns only the new feature columns,
:class:`AutoencoderImputer` the input with its missing cells filled.

Needs the ``sklearn`` extra (``pip install -e '.[sklearn]'`` in the clone).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
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


class _NotFittedError(NotFittedError, SklearnNotFittedError):
    """Not fitted yet: aefeatures' error, and scikit-learn's, which its tools and checks expect."""


def _signature(own: str, goal: str) -> inspect.Signature:
    """The ``__init__`` signature scikit-learn reads: ``kind``, then every other fit setting
    (keyword-only, with the default and type of its declaration; ``goal`` defaulting to ``goal``),
    then the adapter's ``own`` boolean parameter."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    return inspect.Signature(
        [
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *(
                inspect.Parameter(
                    name,
                    inspect.Parameter.POSITIONAL_OR_KEYWORD if name == "kind" else keyword,
                    default=goal if name == "goal" else declared(name).default,
                    annotation=declared(name).type,
                )
                for name in FIT_PARAMS
            ),
            inspect.Parameter(own, keyword, default=False, annotation=bool),
        ]
    )


class _Settings(BaseEstimator):
    """The fit settings as estimator parameters, given ones winning over the goal's (shared by
    both adapters; ``_signature_`` is each one's ``__init__`` signature)."""

    _signature_: inspect.Signature
    _given: frozenset[str]  # the parameters passed to __init__ or set_params

    def __init__(self, *args: Any, **params: Any) -> None:
        # Bound to the declared signature: a wrong name or a second positional argument is the
        # same TypeError as with a written-out __init__.
        given = self._signature_.bind(self, *args, **params).arguments
        for name, parameter in self._signature_.parameters.items():
            if name != "self":
                setattr(self, name, given.get(name, parameter.default))
        self._given = frozenset(given) - {"self"}

    def set_params(self, **params: Any) -> Any:
        """Set parameters, as for any estimator; they count as given, so they win over the goal's."""
        super().set_params(**params)
        self._given = self._given | params.keys()
        return self

    def __sklearn_clone__(self) -> Any:
        """An unfitted copy with the same parameters, given where they were given here."""
        twin = super().__sklearn_clone__()
        twin._given = self._given
        return twin

    def _fit_settings(self) -> dict[str, Any]:
        """The settings ``fit`` passes: the goal, and every parameter given (or assigned a value
        other than its default since); the goal's settings apply to the others."""
        defaults = self._signature_.parameters
        return {
            name: getattr(self, name)
            for name in FIT_PARAMS
            if name == "goal" or name in self._given or getattr(self, name) != defaults[name].default
        }

    def fit(self, X: Any, y: Any = None) -> Any:
        """Learn preprocessing and train the autoencoder on ``X``; ``y`` is ignored."""
        frame = self._frame(X, reset=True)
        self.model_ = fit_model(frame, **self._fit_settings())
        return self

    def _fitted(self) -> AutoencoderModel:
        if not hasattr(self, "model_"):
            raise _NotFittedError(
                f"this {type(self).__name__} is not fitted yet.",
                hint="call fit(X) before transform or get_feature_names_out",
            )
        return self.model_

    def __sklearn_is_fitted__(self) -> bool:
        """Whether ``fit`` has run."""
        return hasattr(self, "model_")

    def __sklearn_tags__(self) -> Any:
        """Missing values are features of the data (imputed, with a missingness indicator)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

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

    def _output(self, new: pl.DataFrame, X: Any) -> Any:
        """``new`` in the container ``set_output`` asked for (numpy float64 by default)."""
        container = _get_output_config("transform", self)["dense"]
        if container == "polars":
            return new
        if container == "pandas":
            out = new.to_pandas()
            if type(X).__module__.split(".")[0] == "pandas":
                out.index = X.index
            return out
        return new.to_numpy().astype(np.float64, copy=False)


class AutoencoderTransformer(TransformerMixin, _Settings):
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
    after ``set_output(transform="polars")`` / ``"pandas"``. As an outlier detector, it has
    ``score_samples`` (``-ae_error``: higher is more normal, scikit-learn's sign) and
    ``decision_function`` (negative for the rows ``ae_outlier`` flags).

    Attributes
    ----------
    model_ : AutoencoderModel
        The fitted model; ``model_.save(path)`` writes it without pickle.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input column names, when the input had string column names.
    offset_ : float
        ``-model_.threshold``, so that ``decision_function = score_samples - offset_``.

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

    _signature_ = _signature("per_feature_errors", "outliers")

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)

    __init__.__signature__ = _signature_  # type: ignore[attr-defined]

    def transform(self, X: Any) -> Any:
        """The new columns only, one row per input row, in order."""
        model = self._fitted()
        frame = self._frame(X, reset=False)
        names = model.output_names(self.per_feature_errors)
        return self._output(model.transform_frame(frame, self.per_feature_errors).select(names), X)

    def score_samples(self, X: Any) -> np.ndarray:
        """``-ae_error`` of each row, as scikit-learn's outlier detectors (``IsolationForest``,
        ``LocalOutlierFactor``) score: the higher, the more normal.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(300, 3)); X[:, 2] = X[:, 0] + X[:, 1]
        >>> ae = AutoencoderTransformer(latent_dim=2, epochs=30, threads=1).fit(X)
        >>> odd = np.array([[0.0, 0.0, 6.0]])  # breaks the rule x2 = x0 + x1
        >>> bool(ae.score_samples(odd)[0] < np.median(ae.score_samples(X)))
        True
        """
        model = self._fitted()
        errors = model.transform_frame(self._frame(X, reset=False))[f"{model.config.prefix}error"]
        return -errors.to_numpy().astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples(X) - offset_`` (``offset_ = -threshold``): negative for the rows
        ``ae_outlier`` flags, positive for the others, as for scikit-learn's outlier detectors."""
        return self.score_samples(X) - self.offset_

    @property
    def offset_(self) -> float:
        """``-threshold``: ``decision_function`` is ``score_samples`` minus it."""
        return -self._fitted().threshold

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the columns ``transform`` returns."""
        model = self._fitted()
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray(model.output_names(self.per_feature_errors), dtype=object)


class AutoencoderImputer(TransformerMixin, _Settings):
    """Fill missing values from an autoencoder: a scikit-learn imputer for the start of a Pipeline.

    Fitted once (``goal="imputation"`` by default: a network trained to predict a column from
    the others), it fills the missing cells of any later table without refitting; present cells
    are returned as they were. The parameters are those of :class:`AutoencoderTransformer`,
    ``count_filled`` appends ``ae_imputed`` (cells filled per row). Numeric, boolean, string,
    categorical and datetime columns: a numpy input gives a float64 array back, a DataFrame
    (``set_output(transform="polars")`` / ``"pandas"``) its columns in their own types.

    Examples
    --------
    >>> import numpy as np
    >>> from aefeatures.integrations.sklearn import AutoencoderImputer
    >>> X = np.random.default_rng(0).normal(size=(300, 3)); X[:, 2] = X[:, 0] + X[:, 1]
    >>> imputer = AutoencoderImputer(epochs=20, threads=1).fit(X)
    >>> filled = imputer.transform(np.array([[1.0, 1.0, np.nan]]))
    >>> filled.shape, bool(np.isnan(filled).any())
    ((1, 3), False)
    """

    _signature_ = _signature("count_filled", "imputation")

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)

    __init__.__signature__ = _signature_  # type: ignore[attr-defined]

    def transform(self, X: Any) -> Any:
        """``X`` with every missing cell filled, one row per input row, in order."""
        model = self._fitted()
        frame = self._frame(X, reset=False)
        return self._output(model.impute_frame(frame, self.count_filled), X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The input's column names (and ``ae_imputed`` with ``count_filled``)."""
        model = self._fitted()
        names = list(_check_feature_names_in(self, input_features))
        return np.asarray(
            names + ([f"{model.config.prefix}imputed"] if self.count_filled else []), dtype=object
        )


def _is_dataframe(X: Any) -> bool:
    return isinstance(X, pl.DataFrame) or type(X).__module__.split(".")[0] in ("pandas", "pyarrow")
