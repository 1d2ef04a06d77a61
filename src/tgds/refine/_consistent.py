"""``ConsistentRegressor``: a meta-estimator that repairs or rejects inconsistent predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from tgds._validation import Boolean, Instance, Optional, Rule, validate_params
from tgds.exceptions import DataError
from tgds.refine._audit import _as_pandas, _on_predictions, audit, prediction_array
from tgds.refine._repairs import (
    AbstractRepair,
    ConservationProjection,
    IsotonicProjection,
    ProjectToBounds,
    RepairContext,
    linear_in_targets,
)
from tgds.theory import Equation, Monotonic, Theory

__all__ = ["ConsistentRegressor", "default_repairs"]


def default_repairs(
    theory: Theory, targets: Sequence[str] | None = None
) -> tuple[AbstractRepair, ...]:
    """The repairs a theory calls for: linear equations, then bounds, then monotone quantities.

    For a model of some of the theory's ``targets`` (default: all of them), the
    constraints that involve another target, directly or through a relation, are left
    out, as in :func:`audit`.

    Only the algebraic equations that are linear in the targets with constant
    coefficients, not all zero, can be projected onto: the others (``y**2 == x``, an
    equation of inputs alone) are left to the audit, and without any there is no
    ``ConservationProjection``.

    The isotonic projection comes after the bounds: it keeps values inside the range of
    its input (a relation is mapped back inside the target's bounds and ``Bounds``
    constraints), so it cannot break bounds that hold before it, and it then works on
    physically valid values.

    Examples
    --------
    >>> from tgds.theory import Equation, Theory, Variable
    >>> t = Theory(
    ...     [Variable("total"), Variable("a", role="target"), Variable("b", role="target")],
    ...     constraints=[Equation("a + b == total")],
    ... )
    >>> default_repairs(t)
    (ConservationProjection(equations=None), ProjectToBounds(target=None))
    >>> default_repairs(t, targets=["a"])  # the budget needs b too
    (ProjectToBounds(target=None),)
    """
    targets = theory.targets if targets is None else tuple(targets)
    out: list[AbstractRepair] = []
    algebraic = [
        c for c in theory.constraints if isinstance(c, Equation) and not theory.residual_of(c)[1]
    ]
    linear = [c for c in algebraic if _projectable(theory, c, targets)]
    if linear:
        every = len(linear) == len(algebraic)
        out.append(ConservationProjection(None if every else tuple(c.label for c in linear)))
    out.append(ProjectToBounds())
    monotone = [c for c in theory.constraints if isinstance(c, Monotonic) and c.within]
    usable = [c for c in monotone if _on_predictions(theory, c, targets)]
    if usable and len(usable) == len(monotone):
        out.append(IsotonicProjection())
    else:
        out.extend(IsotonicProjection(c.label) for c in usable)
    return tuple(out)


def _projectable(theory: Theory, equation: Equation, targets: tuple[str, ...]) -> bool:
    if not _on_predictions(theory, equation, targets):
        return False
    linear = linear_in_targets(theory, equation, targets)
    return linear is not None and any(linear[0])


class ConsistentRegressor(RegressorMixin, BaseEstimator):
    """Wrap any regressor; repair its predictions onto the theory, or reject inconsistent ones.

    Parameters
    ----------
    estimator : regressor
        Any scikit-learn compatible regressor (cloned and fitted by ``fit``).
    theory : Theory
    repairs : sequence of repairs, optional
        Applied in order after each ``predict``; default :func:`default_repairs` of the
        theory and ``targets``. Pass ``()`` for none (audit or reject only).
    reject : bool
        After repairing, audit the predictions and return NaN for rows that still
        violate a constraint; ``rejections_`` says which constraint and by how much.
    targets : list of str, optional
        The targets the estimator predicts, in order (default: the theory's targets).
    prefit : bool
        ``estimator`` is already fitted: ``fit`` (which may then be called without
        data) uses it as it is instead of fitting a clone.

    Attributes
    ----------
    estimator_ : the fitted estimator
    repair_report_ : pandas.DataFrame
        After each ``predict``: per repair, rows changed, mean and largest absolute change
        (a NaN left as it is does not count; a change to or from a non-finite value has
        size inf).
    rejections_ : pandas.DataFrame
        After each ``predict`` with ``reject=True``: row, constraint, size.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from tgds.theory import Theory, Variable
    >>> t = Theory([Variable("x"), Variable("y", bounds=(0, 1), role="target")])
    >>> X = pd.DataFrame({"x": np.linspace(0, 2, 21)})
    >>> model = ConsistentRegressor(LinearRegression(), t).fit(X, X["x"] / 2)
    >>> float(model.predict(pd.DataFrame({"x": [4.0]}))[0])  # 2.0 clipped to the bound
    1.0
    """

    _parameter_rules: dict[str, Rule] = {
        "theory": Instance(Theory),
        "repairs": Optional(Instance(list, tuple, words="a sequence of repairs")),
        "reject": Boolean,
        "targets": Optional(Instance(list, tuple, words="a list of target names")),
        "prefit": Boolean,
    }

    def __init__(
        self,
        estimator: Any,
        theory: Theory,
        *,
        repairs: Sequence[AbstractRepair] | None = None,
        reject: bool = False,
        targets: Sequence[str] | None = None,
        prefit: bool = False,
    ):
        self.estimator = estimator
        self.theory = theory
        self.repairs = repairs
        self.reject = reject
        self.targets = targets
        self.prefit = prefit

    def fit(self, X: Any = None, y: Any = None, **fit_params: Any) -> ConsistentRegressor:
        """Fit a clone of ``estimator`` on ``(X, y)`` (``fit_params`` are passed on), or take it as fitted with ``prefit``."""
        validate_params(self, self._parameter_rules)
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "predict"):
            raise DataError(
                f"ConsistentRegressor needs an estimator with fit and predict; got {type(self.estimator).__name__}."
            )
        self.targets_ = tuple(self.targets) if self.targets is not None else self.theory.targets
        for t in self.targets_:
            if t not in self.theory.targets:
                raise DataError(
                    f"ConsistentRegressor: {t!r} is not a target of the theory; "
                    f"targets: {list(self.theory.targets)}."
                )
        for r in self._repairs():
            if not isinstance(r, AbstractRepair):
                raise DataError(
                    f"repairs must be repair objects (ProjectToBounds(), IsotonicProjection(), ...); got {r!r:.60}."
                )
        if self.prefit:
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
        else:
            if X is None:
                raise DataError("fit needs X (and y) unless prefit=True.")
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    def _repairs(self) -> tuple[AbstractRepair, ...]:
        if self.repairs is None:
            return default_repairs(self.theory, self.targets_)
        return tuple(self.repairs)

    def predict_raw(self, X: Any) -> np.ndarray:
        """The wrapped estimator's predictions, unrepaired."""
        check_is_fitted(self, "estimator_")
        return prediction_array(
            self.estimator_.predict(X), self.targets_, "the estimator's predictions"
        )

    def predict(self, X: Any) -> np.ndarray:
        """Predictions after the repairs (NaN for rejected rows when ``reject=True``)."""
        out, self.repair_report_ = self._repaired(X)
        if self.reject:
            out = self._reject(_as_pandas(X), out)
        return out[:, 0] if len(self.targets_) == 1 else out

    def _repaired(self, X: Any) -> tuple[np.ndarray, pd.DataFrame]:
        """Repaired predictions, shape (n, n_targets), and the repair report."""
        raw = self.predict_raw(X)
        frame = _as_pandas(X)
        flat = raw[:, None] if raw.ndim == 1 else raw
        if flat.shape != (len(frame), len(self.targets_)):
            raise DataError(
                f"the estimator's predictions have shape {raw.shape}; expected ({len(frame)},) or "
                f"({len(frame)}, {len(self.targets_)}) for the targets {list(self.targets_)}."
            )
        preds = {t: flat[:, k] for k, t in enumerate(self.targets_)}
        ctx = RepairContext(self.theory, frame, self.targets_)
        rows = []
        for repair in self._repairs():
            new = repair.apply(ctx, preds)
            delta = np.column_stack([_change(new[t], preds[t]) for t in self.targets_])
            moved = delta.max(axis=1)
            rows.append(
                {
                    "repair": type(repair).__name__,
                    "rows_changed": int(np.count_nonzero(moved)),
                    "mean_abs_change": float(np.mean(delta)),
                    "max_abs_change": float(moved.max()) if moved.size else 0.0,
                }
            )
            preds = new
        report = pd.DataFrame(
            rows, columns=["repair", "rows_changed", "mean_abs_change", "max_abs_change"]
        )
        return np.column_stack([preds[t] for t in self.targets_]), report

    def _reject(self, frame: pd.DataFrame, out: np.ndarray) -> np.ndarray:
        # audit the repaired model itself, so that checks that perturb the inputs see its response
        report = audit(
            lambda Z: self._repaired(Z)[0],
            self.theory,
            frame,
            targets=self.targets_,
            predictions=out,
        )
        records = [
            {"row": row, "constraint": r.label, "size": size}
            for r in report.results
            for rows, size in r.violations
            for row in rows
        ]
        self.rejections_ = pd.DataFrame(records, columns=["row", "constraint", "size"])
        out = out.copy()
        out[self.rejections_["row"].unique().astype(int)] = np.nan
        return out


def _change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``|new - old|``: 0 where a value is kept (a NaN left NaN too), inf where a
    non-finite value is involved in a change."""
    new, old = np.asarray(new, dtype=float), np.asarray(old, dtype=float)
    kept = (new == old) | (np.isnan(new) & np.isnan(old))
    with np.errstate(invalid="ignore"):
        size = np.abs(new - old)
    return np.where(kept, 0.0, np.where(np.isfinite(size), size, np.inf))
