"""``compare``: many models on the same folds, judged on accuracy, consistency and simplicity.

Following Karpatne et al. (2017), *performance ∝ accuracy + simplicity + consistency*:
each model is ranked on test RMSE (lower is better), on the consistency score of its
test predictions (:func:`tgds.audit`, higher is better) and on its complexity
(:func:`complexity`, lower is better); the overall rank is the mean of the three
ranks (ties share the better rank), and the table is sorted by it.
"""

from __future__ import annotations

import numbers
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _is_arraylike_not_scalar, _num_samples

from tgds._validation import bind_targets
from tgds.exceptions import DataError
from tgds.refine import audit
from tgds.selection._scorers import names_of
from tgds.selection._simplicity import complexity
from tgds.theory import Theory

__all__ = ["compare", "Comparison", "score_fold", "summarise"]


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`.

    ``folds``: one row per model and fold (``rmse``, ``mae``, ``r2``, ``consistency``,
    ``violation_rate``, ``complexity``, ``fit_s``, and ``error``: empty, or the message of
    a model whose fit failed on the fold); ``summary``: one row per model with
    the means over folds, the rank on each criterion and the overall rank, sorted by it.
    """

    folds: pd.DataFrame
    summary: pd.DataFrame

    @property
    def best(self) -> str:
        """The model ranked first overall."""
        return str(self.summary.index[0])

    def first_on(self, criterion: str) -> str:
        """The model ranked first on ``accuracy``, ``consistency`` or ``simplicity``."""
        column = {
            "accuracy": "rank_accuracy",
            "consistency": "rank_consistency",
            "simplicity": "rank_simplicity",
        }
        if criterion not in column:
            raise DataError(f"criterion must be one of {list(column)}; got {criterion!r}.")
        return str(self.summary[column[criterion]].idxmin())

    def __str__(self) -> str:
        shown = self.summary[
            ["rmse", "mae", "r2", "consistency", "violation_rate", "complexity", "fit_s", "rank"]
        ]
        return (
            "Comparison on the same folds (means over folds; rank = mean of accuracy, consistency, simplicity ranks)\n"
            + shown.to_string(float_format=lambda v: f"{v:.4g}")
        )

    def _repr_html_(self) -> str:
        return self.summary.to_html(float_format=lambda v: f"{v:.4g}")


def score_fold(
    model: Any,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    theory: Theory,
    *,
    targets: Any = None,
) -> tuple[dict, Any, np.ndarray]:
    """Metrics of a fitted model on one test fold: accuracy, consistency (audit), complexity.

    ``targets``: the targets the model predicts, in order (default: the theory's targets),
    e.g. ``["Lynx"]`` for a model of one target of a two-target theory.
    Returns the metrics dict, the :class:`~tgds.refine.ConsistencyReport` and the predictions.
    """
    pred = np.asarray(model.predict(X_test), dtype=float)
    flat = _per_row(pred, len(X_test), "the model's predictions")
    obs = _per_row(y_test, len(X_test), "y_test")
    if obs.shape != flat.shape:  # (n, 2) - (n, 1) would broadcast into a wrong RMSE
        raise DataError(
            f"score_fold: y_test has shape {np.shape(y_test)}, the model's predictions "
            f"{pred.shape}; they need one column per target predicted, on the same rows."
        )
    err = flat - obs
    # the model itself: checks may perturb the inputs
    report = audit(model, theory, X_test, targets=targets, predictions=flat)
    checks = sum(r.n_checks for r in report.results)
    ss_tot = float(np.sum((obs - obs.mean(axis=0)) ** 2))
    metrics = {
        "n_test": len(X_test),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else np.nan,
        "consistency": report.score,
        "violation_rate": report.n_violations / checks if checks else 0.0,
        "complexity": complexity(model),
    }
    return metrics, report, pred


def _per_row(values: Any, n: int, what: str) -> np.ndarray:
    """``values`` as an (n, k) float array: one row per row of X_test."""
    array = np.asarray(values, dtype=float)
    if array.ndim not in (1, 2) or len(array) != n:
        raise DataError(
            f"score_fold: {what} has shape {array.shape}; expected ({n},) or ({n}, n_targets), "
            f"one row per row of X_test."
        )
    return array.reshape(n, -1)


def _fold(
    name: str,
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    theory: Theory,
    fold: int,
    fit_params: dict,
    targets: Any = None,
    error_score: Any = np.nan,
) -> dict:
    est = clone(model)
    start = time.perf_counter()
    try:
        est.fit(X.iloc[train], y[train], **_rows_of(fit_params, len(X), train))
    except Exception as err:  # the model's own failure; a scoring error is the caller's
        if isinstance(error_score, str):  # "raise"
            err.add_note(f"compare: model {name!r} failed on fold {fold}.")
            raise
        error = f"{type(err).__name__}: {err}"
        warnings.warn(
            f"compare: model {name!r} failed on fold {fold} ({error:.300}); its scores on "
            "that fold are NaN, so it ranks last. Pass error_score='raise' to see the traceback.",
            FitFailedWarning,
            stacklevel=2,
        )
        failed = dict.fromkeys(_FOLD_METRICS, np.nan) | {"n_test": len(test), "fit_s": np.nan}
        return {"model": name, "fold": fold, **failed, "error": error}
    fit_s = time.perf_counter() - start
    metrics, _, _ = score_fold(
        est, X.iloc[test].reset_index(drop=True), y[test], theory, targets=targets
    )
    return {"model": name, "fold": fold, **metrics, "fit_s": fit_s, "error": None}


#: The scores of a fold (``score_fold``), NaN where the model's fit failed.
_FOLD_METRICS = ("rmse", "mae", "r2", "consistency", "violation_rate", "complexity")


def _rows_of(fit_params: dict, n: int, train: np.ndarray) -> dict:
    """``fit_params`` for a fold: a value with one entry per row of X (``sample_weight``) is
    cut to the fold's training rows, as scikit-learn's ``cross_validate`` does;
    ``X_unlabeled`` (also as ``step__X_unlabeled`` of a pipeline) holds other points,
    whatever its length, and is passed whole."""
    out = {}
    for key, value in fit_params.items():
        if _is_per_row(key, value, n):
            value = _safe_indexing(value, train)
        out[key] = value
    return out


def _is_per_row(key: str, value: Any, n: int) -> bool:
    if key == "X_unlabeled" or key.endswith("__X_unlabeled"):
        return False
    if isinstance(value, str | bytes | Mapping) or not _is_arraylike_not_scalar(value):
        return False
    try:  # not np.ndim: a list of (X_val, y_val) pairs (eval_set) is no array
        return _num_samples(value) == n
    except TypeError:
        return False


def compare(
    models: Mapping[str, Any],
    X: Any,
    y: Any,
    theory: Theory,
    cv: Any,
    *,
    groups: Any = None,
    fit_params: Mapping[str, Mapping[str, Any]] | None = None,
    n_jobs: int | None = None,
    targets: Sequence[str] | None = None,
    error_score: float | str = np.nan,
) -> Comparison:
    """Fit and evaluate every model on the same folds of ``cv``.

    Parameters
    ----------
    models : dict name -> estimator
        Unfitted estimators (cloned for each fold), e.g. ``PhysicsModelRegressor``,
        ``TheoryGuidedRegressor``, a scikit-learn pipeline.
    X : pandas DataFrame
        Inputs with the theory's column names (and group columns for the audit).
    y : array-like
        Observed targets, one column per target (``targets``, else the theory's); a data
        frame's columns are matched to them by name.
    theory : Theory
        Used to audit each model's test predictions.
    cv : splitter, int or iterable of (train, test) pairs
        Any scikit-learn splitter, e.g. :class:`tgds.selection.BlockedTimeSplit` (an int
        is a ``KFold`` with that many folds, as in scikit-learn), or the folds themselves
        as arrays of row positions.
    groups : array-like, optional
        Passed to ``cv.split``.
    fit_params : dict name -> dict, optional
        Extra ``fit`` arguments per model (e.g. ``{"PGNN": {"X_unlabeled": df}}``). An
        array with one value per row of ``X`` (``sample_weight``) is cut to each fold's
        training rows; ``X_unlabeled`` is passed whole.
    n_jobs : int, optional
        Folds run in parallel with joblib (``-1``: all cores).
    targets : list of str, optional
        The targets the models predict, in order (default: the theory's targets), e.g.
        ``["Lynx"]`` for models of one target of a two-target theory; the audit then
        leaves out the constraints that involve another target.
    error_score : nan or "raise"
        As in scikit-learn's ``cross_validate``: with NaN (the default) a model whose
        ``fit`` raises on a fold gets NaN scores there (so it ranks last), a
        ``FitFailedWarning`` names the model, the fold and the error, and the fold's
        ``error`` column keeps the message; with ``"raise"`` the error propagates, with a
        note naming the model and the fold. Errors in scoring (predictions of the wrong
        shape) always propagate: they are mistakes in the call, not in one fold.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.model_selection import KFold
    >>> from tgds.theory import Theory, Variable, Monotonic
    >>> t = Theory([Variable("x"), Variable("y", role="target")], constraints=[Monotonic("y", wrt="x")])
    >>> X = pd.DataFrame({"x": np.linspace(0, 1, 40)})
    >>> result = compare({"linear": LinearRegression()}, X, 2 * X["x"], t, KFold(4))
    >>> float(result.summary.loc["linear", "consistency"])
    1.0
    """
    if not isinstance(theory, Theory):
        raise DataError(f"compare needs a Theory; got {type(theory).__name__}.")
    if not isinstance(models, Mapping) or not models:
        got = "an empty dict" if isinstance(models, Mapping) else type(models).__name__
        raise DataError(
            f"models must be a non-empty dict name -> estimator; got {got}, e.g. use "
            "{'linear': LinearRegression()}."
        )
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"X must be a pandas DataFrame with the theory's column names; got {type(X).__name__}."
        )
    targets = names_of(targets, "targets", theory, "compare")  # before any model is fitted
    y = bind_targets(y, targets or theory.targets)  # a frame's columns by name
    try:
        y_arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"y must hold numbers, one per row of X; got {type(y).__name__} ({err})."
        ) from None
    if y_arr.ndim == 0:
        raise DataError(
            f"y must hold one target value per row of X ({len(X)}); got the scalar {y!r:.40}."
        )
    if len(y_arr) != len(X):
        raise DataError(f"y has {len(y_arr)} rows but X has {len(X)}.")
    fit_params = dict(fit_params or {})
    unknown = set(fit_params) - set(models)
    if unknown:
        raise DataError(
            f"fit_params names unknown model(s) {sorted(unknown)}; models: {list(models)}."
        )
    bad = [n for n, p in fit_params.items() if not isinstance(p, Mapping)]
    if bad:
        raise DataError(
            f"fit_params must map each model name to a dict of fit arguments; {bad[0]!r} has "
            f"{type(fit_params[bad[0]]).__name__} {fit_params[bad[0]]!r:.40}."
        )
    is_nan = isinstance(error_score, float) and np.isnan(error_score)
    if not (is_nan or error_score == "raise"):
        raise DataError(
            f"compare: error_score must be numpy.nan (a failed fold scores NaN) or 'raise'; "
            f"got {error_score!r:.40}."
        )
    X = X.reset_index(drop=True)
    splits = _splits(cv, X, y_arr, groups)
    jobs = (
        delayed(_fold)(
            name,
            model,
            X,
            y_arr,
            train,
            test,
            theory,
            k,
            dict(fit_params.get(name, {})),
            targets,
            error_score,
        )
        for name, model in models.items()
        for k, (train, test) in enumerate(splits)
    )
    folds = pd.DataFrame(Parallel(n_jobs=n_jobs)(jobs))
    return Comparison(folds=folds, summary=summarise(folds))


def _splits(cv: Any, X: pd.DataFrame, y: np.ndarray, groups: Any) -> list[tuple]:
    """The (train, test) positions of each fold of ``cv``, checked: a splitter, a number of
    folds or an iterable of (train, test) pairs, as scikit-learn's ``cv`` arguments."""
    splitter = isinstance(cv, numbers.Integral) or hasattr(cv, "split")
    if isinstance(cv, str | bytes | bool | Mapping) or not (splitter or isinstance(cv, Iterable)):
        raise DataError(
            f"cv must be a scikit-learn splitter (with split()), a number of folds or a list "
            f"of (train, test) pairs; got {type(cv).__name__} {cv!r:.40}."
        )
    # scikit-learn's wrapper of an iterable would fail to unpack a bad fold: listed here
    splits = list(check_cv(cv).split(X, y, groups)) if splitter else list(cv)
    if not splits:
        raise DataError(f"compare: cv gave no folds; got {type(cv).__name__} {cv!r:.40}.")
    for k, fold in enumerate(splits):
        _check_fold(fold, k, len(X))
    return splits


def _check_fold(fold: Any, k: int, n: int) -> None:
    if not (isinstance(fold, Sequence | np.ndarray) and len(fold) == 2):
        raise DataError(
            f"compare: fold {k} of cv must be a pair (train, test) of row positions; "
            f"got {type(fold).__name__} {fold!r:.40}."
        )
    for part, rows in zip(("training", "test"), fold, strict=True):
        rows = np.asarray(rows)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise DataError(
                f"compare: the {part} rows of fold {k} of cv must be a 1-D array of integer "
                f"positions; got an array of shape {rows.shape} and type {rows.dtype}."
            )
        if not len(rows):
            raise DataError(f"compare: fold {k} of cv has no {part} rows.")
        bad = rows[(rows < 0) | (rows >= n)]
        if len(bad):
            raise DataError(
                f"compare: fold {k} of cv has {part} rows outside X, whose positions are 0 to "
                f"{n - 1}; got {bad[0]}."
            )


def summarise(folds: pd.DataFrame) -> pd.DataFrame:
    """One row per model: means over folds, the three ranks and the overall rank, sorted.

    A model with a missing (NaN) score on any fold, e.g. NaN predictions, keeps NaN as its
    mean score and is ranked last on that criterion.
    """
    metrics = [*_FOLD_METRICS, "fit_s"]
    summary = folds.groupby("model", sort=False)[metrics].mean()
    strict = ["rmse", "mae", "consistency", "violation_rate"]  # NaN on a fold is a failure
    failed = folds[strict].isna().groupby(folds["model"], sort=False).any()
    summary[strict] = summary[strict].mask(failed)
    # r2 is NaN on a fold with a constant y too; it is a failure where rmse is
    summary["r2"] = summary["r2"].mask(failed["rmse"])
    summary["rank_accuracy"] = summary["rmse"].rank(method="min", na_option="bottom")
    summary["rank_consistency"] = summary["consistency"].rank(
        method="min", ascending=False, na_option="bottom"
    )
    summary["rank_simplicity"] = summary["complexity"].rank(method="min", na_option="bottom")
    summary["rank"] = summary[["rank_accuracy", "rank_consistency", "rank_simplicity"]].mean(axis=1)
    return summary.sort_values(["rank", "rmse"], na_position="last")
