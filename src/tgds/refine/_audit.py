"""``audit``: check any model's predictions against a theory, without automatic differentiation.

The model is only called through ``predict`` on data frames, so scikit-learn, XGBoost
and tgds models are audited alike:

- ``Bounds``: every prediction (or relation of it) against its limits;
- ``Monotonic`` with ``within``: consecutive pairs along ``wrt`` inside each group
  (e.g. depths of one profile), equal to floating-point precision (16 ulp) counting as
  monotone; without ``within``: a forward finite difference of each row along ``wrt``;
- ``Shape``: a central second difference along ``wrt``;
- ``Equation``: the residual with predictions substituted, derivatives ``D(u, x)`` by
  central finite differences; a row violates it when ``|residual|`` exceeds both ``rtol``
  times the root mean square of the residual's additive terms at that row and the
  round-off of the computation, ``16·eps/step**k`` (``k`` the highest order of its
  derivatives) times the largest such root mean square over the rows: where every term
  is near zero (the boundary of an exact solution) round-off is not a violation;
- ``Invariance``: predictions at transformed inputs against ``output_scale`` times the
  original ones, relative to the quantity's spread;
- ``Interactions``: the mixed second difference of each predicted target for every pair
  of inputs that share no group, which must vanish.

Finite-difference steps are ``step`` times each input's standard deviation in ``X``.
A check that involves a non-finite value (a NaN or infinite prediction, residual or
difference) counts as violated, with size ``inf``. Rows are found by position and
reported also by the index labels of a pandas ``X`` (see :class:`ConstraintResult`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sympy

from tgds.exceptions import DataError, TheoryError
from tgds.refine._report import ConsistencyReport, ConstraintResult
from tgds.theory import (
    AbstractConstraint,
    Bounds,
    Equation,
    Interactions,
    Invariance,
    Monotonic,
    Shape,
    Theory,
)
from tgds.theory._check import label_text
from tgds.utils import group_codes, monotone_pairs, roundoff

__all__ = ["audit"]


@dataclass(frozen=True)
class _Evaluator:
    """Computes targets and relations of the predictions for (modified copies of) ``X``;
    ``index`` holds the labels of the rows of ``X`` as given (None: their positions)."""

    predict: Callable[[pd.DataFrame], Any]
    theory: Theory
    X: pd.DataFrame
    targets: tuple[str, ...]
    index: pd.Index | None = None

    def predictions(self, X: pd.DataFrame, given: Any = None) -> dict[str, np.ndarray]:
        """The targets predicted on ``X``: ``given`` (already computed) or the model's."""
        raw = prediction_array(self.predict(X) if given is None else given, self.targets)
        shape = raw.shape
        raw = raw[:, None] if raw.ndim == 1 else raw
        if raw.shape != (len(X), len(self.targets)):
            n, k = len(X), len(self.targets)
            expected = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
            hint = (
                " (a model of fewer targets: pass targets=[...])" if raw.shape[1:] == (1,) else ""
            )
            raise DataError(
                f"the model's predictions have shape {shape}; expected {expected} for the "
                f"targets {list(self.targets)}{hint}."
            )
        return {t: raw[:, k] for k, t in enumerate(self.targets)}

    def quantity(
        self, name: str, X: pd.DataFrame, preds: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        preds = self.predictions(X) if preds is None else preds
        if name in preds:
            return preds[name]
        if name in X.columns and name not in {r.name for r in self.theory.relations}:
            raise TheoryError(
                f"{name!r} is an input of the model, not a predicted quantity; it cannot be audited."
            )
        expr = self.theory.expression_of(name)
        return np.asarray(expr.evaluate(self.values(expr.sympy, X, preds)), dtype=float)

    def values(
        self, expr: sympy.Expr, X: pd.DataFrame, preds: dict[str, np.ndarray]
    ) -> dict[str, Any]:
        params = self.theory.parameter_values()
        out: dict[str, Any] = {}
        for s in expr.free_symbols:
            n = s.name
            if n in preds:
                out[n] = preds[n]
            elif n in params:
                out[n] = params[n]
            elif n in X.columns:
                out[n] = X[n].to_numpy(dtype=float)
            elif not n.startswith("D("):
                raise DataError(
                    f"auditing needs the column {n!r} (or a value of parameter {n!r}); X lacks it."
                )
        return out

    def shifted(self, X: pd.DataFrame, column: str, delta: float) -> pd.DataFrame:
        moved = X.copy()
        moved[column] = moved[column].to_numpy(dtype=float) + delta
        return moved


def prediction_array(
    raw: Any, targets: Sequence[str], what: str = "the model's predictions"
) -> np.ndarray:
    """``raw`` as a float array with the targets' columns in order.

    A data frame whose columns are the targets in another order is reordered by name;
    one with other names is refused (unnamed columns ``0, 1, ...`` are taken in order).
    """
    if type(raw).__module__.split(".")[0] == "polars" and hasattr(raw, "columns"):
        raw = _as_pandas(raw)
    if isinstance(raw, pd.DataFrame):
        names = list(raw.columns)
        if names != list(range(len(names))) and names != list(targets):
            if len(names) != len(targets) or set(names) != set(targets):
                raise DataError(
                    f"{what} have the columns {names}; expected the targets {list(targets)} "
                    "(in any order)."
                )
            raw = raw[list(targets)]
        return raw.to_numpy(dtype=float)
    return np.asarray(raw, dtype=float)


def _violations(
    size: np.ndarray, violated: np.ndarray, *inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sizes and violation flags where a check on a non-finite value is violated, size inf."""
    size = np.asarray(size, dtype=float)
    bad = ~np.isfinite(size)
    for values in inputs:
        bad = bad | ~np.isfinite(values)
    return np.where(bad, np.inf, size), np.asarray(violated, dtype=bool) | bad


def _largest_finite(values: np.ndarray) -> float:
    """The largest finite absolute value (0 when there is none), without NaN warnings."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def _steps(X: pd.DataFrame, step: float) -> dict[str, float]:
    out = {}
    for c in X.columns:
        if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c]):
            s = float(np.nanstd(X[c].to_numpy(dtype=float)))
            out[c] = step * (s if s > 0 else 1.0)
    return out


def _need_column(X: pd.DataFrame, name: str, owner: str) -> None:
    if name not in X.columns:
        raise DataError(f"{owner} needs the column {name!r}; X has {list(X.columns)}.")


def _step(steps: dict[str, float], X: pd.DataFrame, name: str, owner: str) -> float:
    """The finite-difference step of the column ``name``, which must be numeric."""
    _need_column(X, name, owner)
    if name not in steps:
        raise DataError(
            f"{owner} differentiates along the column {name!r}, which has dtype "
            f"{X[name].dtype}; a numeric column is needed."
        )
    return steps[name]


def numeric_column(X: pd.DataFrame, name: str, owner: str) -> np.ndarray:
    """The column ``name`` as floats to order rows by (dates too, NaT as NaN), or a DataError."""
    _need_column(X, name, owner)
    column = X[name]
    if pd.api.types.is_datetime64_any_dtype(column):
        column = column.astype("int64").where(column.notna())
    try:
        return column.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise DataError(
            f"{owner} orders rows along the column {name!r}, which has dtype {column.dtype}; "
            "a numeric (or date) column is needed."
        ) from None


def _result(
    ev: _Evaluator,
    c: AbstractConstraint,
    magnitude: np.ndarray,
    violated: np.ndarray,
    rows: np.ndarray,
    note: str = "",
) -> ConstraintResult:
    return ConstraintResult.from_checks(
        c.kind, c.label, magnitude, violated, rows, note, index=ev.index
    )


def _audit_bounds(ev: _Evaluator, c: Bounds, X: pd.DataFrame, preds: dict) -> ConstraintResult:
    lo, hi = c.lower, c.upper
    if lo is None and hi is None:
        lo, hi = ev.theory.variable(c.quantity).bounds
    lo = -math.inf if lo is None else lo
    hi = math.inf if hi is None else hi
    q = ev.quantity(c.quantity, X, preds)
    excess = np.maximum(lo - q, q - hi)
    violated = (excess > 0) | ~np.isfinite(q)
    return _result(
        ev, c, np.where(np.isfinite(excess), excess, np.inf), violated, np.arange(len(q))
    )


def _audit_pairs(ev: _Evaluator, c: Monotonic, X: pd.DataFrame, preds: dict) -> ConstraintResult:
    owner = f"constraint {c.label!r}"
    for name in (c.wrt, *c.within):
        _need_column(X, name, owner)
    wrt = numeric_column(X, c.wrt, owner)
    codes = group_codes([X[g].to_numpy() for g in c.within])
    # a row without a finite position along wrt is in no order, like a row without a group
    pairs = monotone_pairs(wrt, np.where(np.isfinite(wrt), codes, -1))
    q = ev.quantity(c.quantity, X, preds)
    sign = 1.0 if c.direction == "increasing" else -1.0
    first, second = q[pairs[:, 0]], q[pairs[:, 1]]
    with np.errstate(invalid="ignore"):
        drop = sign * (first - second)  # > 0: the quantity moves the wrong way
        size, violated = _violations(drop, drop > roundoff(first, second), first, second)
    note = f"{len(pairs)} consecutive pairs along {c.wrt} within {', '.join(c.within)}"
    return _result(ev, c, size, violated, pairs, note)


def _audit_derivative_sign(
    ev: _Evaluator, c: Monotonic | Shape, X: pd.DataFrame, preds: dict, steps: dict
) -> ConstraintResult:
    h = _step(steps, X, c.wrt, f"constraint {c.label!r}")
    q0 = ev.quantity(c.quantity, X, preds)
    up = ev.quantity(c.quantity, ev.shifted(X, c.wrt, h))
    with np.errstate(invalid="ignore", over="ignore"):
        if isinstance(c, Monotonic):
            sign = 1.0 if c.direction == "increasing" else -1.0
            wrong = -sign * (up - q0) / h
            down = q0
            note = f"forward difference along {c.wrt} (step {h:.3g})"
        else:
            down = ev.quantity(c.quantity, ev.shifted(X, c.wrt, -h))
            sign = 1.0 if c.curvature == "convex" else -1.0
            wrong = -sign * (up - 2 * q0 + down) / h**2
            note = f"central second difference along {c.wrt} (step {h:.3g})"
        scale = _largest_finite(q0)
        slack = 1e-9 * max(scale, 1.0) / h ** (1 if isinstance(c, Monotonic) else 2)
        size, violated = _violations(wrong, wrong > slack, q0, up, down)
    return _result(ev, c, size, violated, np.arange(len(q0)), note)


def _fd_derivative(
    ev: _Evaluator, field: str, wrt: Sequence[str], X: pd.DataFrame, steps: dict
) -> np.ndarray:
    """Central finite differences of a predicted field, one variable of ``wrt`` at a time."""
    if not wrt:
        return ev.predictions(X)[field]
    first, rest = wrt[0], wrt[1:]
    h = _step(steps, X, first, f"the derivative D({field}, {', '.join(wrt)})")
    plus = _fd_derivative(ev, field, rest, ev.shifted(X, first, h), steps)
    minus = _fd_derivative(ev, field, rest, ev.shifted(X, first, -h), steps)
    return (plus - minus) / (2 * h)


def _audit_equation(
    ev: _Evaluator,
    c: Equation,
    X: pd.DataFrame,
    preds: dict,
    steps: dict,
    rtol: float,
    step: float,
) -> ConstraintResult:
    residual, specs = ev.theory.residual_of(c)
    values = ev.values(residual.sympy, X, preds)
    for spec in specs:
        for w in spec.wrt:
            _need_column(X, w, f"equation {c.label!r}")
        values[spec.key] = _fd_derivative(ev, spec.field, spec.wrt, X, steps)
    expr = residual.sympy
    r = np.broadcast_to(np.asarray(residual.evaluate(values), dtype=float), (len(X),))
    terms = expr.args if isinstance(expr, sympy.Add) else (expr,)
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.sqrt(
            np.mean([np.broadcast_to(_eval(t, values), (len(X),)) ** 2 for t in terms], axis=0)
        )
    # Where every term is near zero (u = sin(pi x / L) at x = L) the residual is round-off
    # over round-off. A residual is known to about eps / step**k of the terms' scale (a
    # finite difference of order k divides the field's round-off by step**k), of the
    # largest row rather than a typical one: the round-off comes from the field around the
    # row, not from its terms, and a median row is tiny where a solution decays over most
    # of the domain. The denominator is floored so that |r| below 16 times that (16 ulp,
    # as in `roundoff`) is never a violation; a row with larger terms keeps its own scale.
    order = max((len(spec.wrt) for spec in specs), default=0)
    noise = 16 * np.finfo(float).eps / step**order
    floor = noise / rtol * _largest_finite(size) if rtol > 0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.maximum(size, floor)
        rel = np.abs(r) / np.where(scale > 0, scale, 1.0)
        rel, violated = _violations(rel, rel > rtol, r)
    note = f"relative residual |r| / max(rms(terms), {floor:.3g})" + (
        ", derivatives by finite differences" if specs else ""
    )
    return _result(ev, c, rel, violated, np.arange(len(X)), note)


def _eval(expr: sympy.Expr, values: dict) -> np.ndarray:
    from tgds.theory import SymbolicExpression  # noqa: PLC0415

    return np.asarray(
        SymbolicExpression(expr, "term").evaluate(
            {s.name: values[s.name] for s in expr.free_symbols}
        ),
        dtype=float,
    )


def _transformed(t: Any, X: pd.DataFrame) -> list[pd.DataFrame]:
    """Copies of ``X`` with the transform applied (one per generator of the transform)."""
    for col in t.variables:
        _need_column(X, col, f"{t.kind} transform")
    values = {c: X[c].to_numpy(dtype=float) for c in t.variables}
    return [X.assign(**image) for image in t.images(values)]


def _audit_invariance(
    ev: _Evaluator, c: Invariance, X: pd.DataFrame, preds: dict, rtol: float
) -> ConstraintResult:
    name = c.quantity or ev.targets[0]
    q = ev.quantity(name, X, preds)
    finite = q[np.isfinite(q)]
    scale = (float(np.std(finite)) if finite.size else 0.0) or _largest_finite(q) or 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        gaps = [
            np.abs(ev.quantity(name, moved) - c.output_scale * q) / scale
            for moved in _transformed(c.transform, X)
        ]
        # a NaN gap (non-finite values) must not hide behind np.max: inf it first
        gap = np.max([np.where(np.isfinite(g), g, np.inf) for g in gaps], axis=0)
        gap, violated = _violations(gap, gap > rtol, q)
    return _result(
        ev, c, gap, violated, np.arange(len(q)), f"|q(Tx) - {c.output_scale:g} q(x)| / spread of q"
    )


def _audit_interactions(
    ev: _Evaluator,
    c: Interactions,
    X: pd.DataFrame,
    preds: dict,
    steps: dict,
    rtol: float,
    step: float,
) -> ConstraintResult:
    inputs = sorted({v for g in c.groups for v in g})
    for name in inputs:
        _step(steps, X, name, f"constraint {c.label!r}")
    forbidden = [
        (a, b)
        for i, a in enumerate(inputs)
        for b in inputs[i + 1 :]
        if not any(a in g and b in g for g in c.groups)
    ]
    if not forbidden:
        return _result(
            ev,
            c,
            np.zeros(0),
            np.zeros(0, bool),
            np.zeros(0, int),
            "every pair of inputs may interact",
        )
    scales = {}
    for t, base in preds.items():
        finite = base[np.isfinite(base)]
        scales[t] = (float(np.std(finite)) if finite.size else 0.0) or 1.0
    mags = []
    with np.errstate(invalid="ignore", over="ignore"):
        for a, b in forbidden:
            ha, hb = steps[a], steps[b]
            fa = ev.predictions(ev.shifted(X, a, ha))
            fb = ev.predictions(ev.shifted(X, b, hb))
            fab = ev.predictions(ev.shifted(ev.shifted(X, a, ha), b, hb))
            for t, base in preds.items():  # every target: a model is as coupled as its worst
                mix = np.abs(fab[t] - fa[t] - fb[t] + base) / (ha * hb) * (ha / step) * (hb / step)
                mix = mix / scales[t]
                mags.append(np.where(np.isfinite(mix) & np.isfinite(base), mix, np.inf))
        mag = np.concatenate(mags)
        mag, violated = _violations(mag, mag > rtol)
    rows = np.tile(np.arange(len(X)), len(mags))
    note = f"mixed differences for {len(forbidden)} pair(s) of inputs in different groups"
    if len(preds) > 1:
        note += f", for each of {len(preds)} targets"
    return _result(ev, c, mag, violated, rows, note)


def audit(
    model: Any,
    theory: Theory,
    X: Any,
    y: Any = None,
    *,
    targets: Sequence[str] | None = None,
    constraints: Sequence[str] | None = None,
    step: float = 1e-3,
    rtol: float = 1e-3,
    predictions: Any = None,
) -> ConsistencyReport:
    """Check a model's predictions on ``X`` against every constraint of ``theory``.

    Parameters
    ----------
    model : estimator with ``predict``, or callable
        Called as ``predict(X_frame)``; returns one column per target (a data frame's
        columns are matched to the targets by name).
    theory : Theory
    X : pandas or polars DataFrame
        Inputs, plus the group columns that monotonic constraints use (``within``).
    y : array-like, optional
        The observed targets, shape ``(n,)`` (one target) or ``(n, n_targets)``, finite;
        a data frame's columns are matched to the targets by name, as the predictions'
        are. When given, the report also gives the accuracy (``rmse``).
    targets : list of str, optional
        Which targets the model predicts, in order (default: the theory's targets).
    constraints : list of str, optional
        Audit only these constraints (by name or description). By default, every
        constraint on the predictions: those on an input, or involving a target the model
        does not predict (directly or through a relation), are left out.
    step : float
        Finite-difference step, as a fraction of each input's standard deviation.
    rtol : float
        Relative tolerance of equality checks (equations, invariances, interactions).
    predictions : array-like, optional
        The model's predictions on ``X`` when they are already computed, shape ``(n,)``
        or ``(n, n_targets)``: the audit then does not predict ``X`` again. Checks that
        perturb the inputs (derivative signs, equations, invariances) still call the model.

    Returns
    -------
    ConsistencyReport
        Per constraint: checks made, violations, their mean and largest size, the worst
        rows (by position in ``violations``, by ``X``'s index label in
        ``violation_labels`` and in the text); ``report.score`` in [0, 1] (see
        :class:`ConsistencyReport`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tgds.theory import Theory, Variable, Monotonic
    >>> theory = Theory([Variable("x", "m"), Variable("y", "1", role="target")], constraints=[Monotonic("y", wrt="x")])
    >>> X = pd.DataFrame({"x": np.linspace(-1, 1, 101)})
    >>> report = audit(lambda X: X["x"].to_numpy() ** 2, theory, X)  # falls for x < 0
    >>> report.results[0].n_checks, report.results[0].n_violations
    (101, 50)
    >>> r = audit(lambda X: X["x"].to_numpy() ** 2, theory, X.iloc[40:]).results[0]  # x >= -0.2
    >>> r.worst[0][0], r.worst_labels[0][0]  # position in the frame audited, its label
    ((0,), (40,))
    """
    if not isinstance(theory, Theory):
        raise DataError(f"audit needs a Theory; got {type(theory).__name__}.")
    predict = model.predict if hasattr(model, "predict") else model
    if not callable(predict):
        raise DataError(
            f"audit needs a model with predict() or a callable; got {type(model).__name__}."
        )
    frame = _as_pandas(X)
    if len(frame) == 0:
        raise DataError("X has 0 rows; nothing to audit.")
    targets = tuple(targets) if targets is not None else theory.targets
    for t in targets:
        if t not in theory.targets:
            raise DataError(
                f"{t!r} is not a target of the theory; targets: {list(theory.targets)}."
            )
    selected = _select(theory, constraints, targets)
    index = X.index if isinstance(X, pd.DataFrame) else None
    ev = _Evaluator(predict, theory, frame, targets, index)
    preds = ev.predictions(frame, predictions)
    steps = _steps(frame, step)
    results = [_audit_one(ev, c, frame, preds, steps, rtol, step) for c in selected]
    accuracy = None
    if y is not None:
        observed = _observed(y, targets, len(frame), index)
        predicted = np.column_stack([preds[t] for t in targets])
        accuracy = float(np.sqrt(np.mean((predicted - observed) ** 2)))
    return ConsistencyReport(tuple(results), n_rows=len(frame), rmse=accuracy)


def _observed(y: Any, targets: Sequence[str], n: int, index: pd.Index | None = None) -> np.ndarray:
    """``y`` as an array of shape (n, n_targets), bound by name as predictions are (see
    :func:`prediction_array`); a missing or infinite value is refused, as it would make
    the RMSE NaN or infinite, naming the first such row by its label in ``index``."""
    observed = prediction_array(y, targets, "y")
    k = len(targets)
    if observed.shape == (n,) and k == 1:
        observed = observed[:, None]
    if observed.shape != (n, k):
        expected = f"({n},) or ({n}, 1)" if k == 1 else f"({n}, {k})"
        raise DataError(
            f"y has shape {observed.shape}; expected {expected} for the targets {list(targets)} "
            f"on the {n} rows of X."
        )
    bad = ~np.isfinite(observed)
    if bad.any():
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        row = first if index is None else index[first]
        raise DataError(
            f"y has {int(bad.sum())} missing or infinite value(s) (first at row "
            f"{label_text(row)}); audit the rows with observations."
        )
    return observed


def _audit_one(ev, c, X, preds, steps, rtol, step) -> ConstraintResult:
    if isinstance(c, Bounds):
        return _audit_bounds(ev, c, X, preds)
    if isinstance(c, Monotonic) and c.within:
        return _audit_pairs(ev, c, X, preds)
    if isinstance(c, Monotonic | Shape):
        return _audit_derivative_sign(ev, c, X, preds, steps)
    if isinstance(c, Equation):
        return _audit_equation(ev, c, X, preds, steps, rtol, step)
    if isinstance(c, Invariance):
        return _audit_invariance(ev, c, X, preds, rtol)
    return _audit_interactions(ev, c, X, preds, steps, rtol, step)


def _select(
    theory: Theory, names: Sequence[str] | None, targets: Sequence[str]
) -> list[AbstractConstraint]:
    if names is None:
        return [c for c in theory.constraints if _on_predictions(theory, c, targets)]
    labels = {c.label: c for c in theory.constraints}
    unknown = [n for n in names if n not in labels]
    if unknown:
        raise TheoryError(
            f"unknown constraint(s) {unknown}; the theory's constraints: {list(labels)}."
        )
    return [labels[n] for n in names]


def _on_predictions(theory: Theory, c: AbstractConstraint, targets: Sequence[str]) -> bool:
    """Whether a model of ``targets`` can be audited on ``c``: its quantity is not an input
    or another target, and it involves no other target, directly or through relations."""
    if getattr(c, "quantity", None) in {v.name for v in theory.variables} - set(targets):
        return False
    others = set(theory.targets) - set(targets)
    if not others:
        return True
    relations = {r.name for r in theory.relations}
    used = set(c.residual.names) if isinstance(c, Equation) else set(c.referenced_names())
    for n in used & relations:
        used |= {str(s) for s in theory.expression_of(n).sympy.free_symbols}
    return not used & others


def _as_pandas(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    if type(X).__module__.split(".")[0] == "polars":
        return pd.DataFrame({c: X.get_column(c).to_numpy() for c in X.columns})
    raise DataError(
        f"X must be a pandas or polars DataFrame with the theory's column names; got {type(X).__name__}."
    )
