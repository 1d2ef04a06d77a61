"""Repairs: projections of predictions onto what the theory allows.

Each repair is an immutable object with ``apply(context, predictions) -> predictions``
(a dict target -> array); repairs compose in sequence.

- :class:`ProjectToBounds` clips targets into their bounds (the nearest allowed value).
- :class:`IsotonicProjection` replaces a monotone quantity along ``wrt`` within each
  group by its least-squares isotonic fit (``sklearn.isotonic.isotonic_regression``);
  a ``Monotonic`` without ``within`` (a derivative sign, not an order of rows) is
  skipped with a warning.
  Rows tied in ``wrt`` are unordered among themselves, as in the audit: every row of
  one level must lie below every row of the next. The projection onto that partial
  order keeps the order of the values within a level (each fitted value is its
  original clipped between its neighbouring levels), so it is the isotonic fit of the
  chain sorted by ``wrt`` and, within a level, by value. Rows with a missing group, a
  non-finite ``wrt``, a non-finite value or weight are left as they are.
  When the quantity is a relation of one target (density of temperature), the
  projection is made on the relation, weighted by ``1/relation'(target)^2`` so that it
  is (to first order) the nearest monotone profile in the target's own units, and
  mapped back to the target by solving ``relation(T) = value`` on the monotone branch
  nearest the original prediction.
- :class:`ConservationProjection` projects the targets of each row onto the linear
  equations of the theory (``a·y = b``): the least-squares correction
  ``y - Aᵀ(AAᵀ)⁻¹(Ay - b)``; rows with a non-finite target or right-hand side are
  left as they are.

All three are idempotent: applied twice they change nothing more.
The bisection that inverts a relation is written here because scipy's scalar root
finders are not vectorised over thousands of rows.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sympy
from sklearn.isotonic import isotonic_regression

from tgds.exceptions import DataError, TheoryError
from tgds.refine._audit import _on_predictions, numeric_column
from tgds.theory import Bounds, Equation, Monotonic, SymbolicExpression, Theory
from tgds.utils import group_codes, roundoff

__all__ = [
    "AbstractRepair",
    "ProjectToBounds",
    "IsotonicProjection",
    "ConservationProjection",
    "RepairContext",
]


@dataclass(frozen=True)
class RepairContext:
    """The theory, the inputs the predictions belong to, and the predicted targets' names."""

    theory: Theory
    X: pd.DataFrame
    targets: tuple[str, ...]


class AbstractRepair(ABC):
    """A projection of predictions onto a constraint of the theory."""

    @abstractmethod
    def apply(self, ctx: RepairContext, preds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The repaired predictions (new arrays; ``preds`` is not modified)."""


@dataclass(frozen=True)
class ProjectToBounds(AbstractRepair):
    """Clip each target (or only ``target``) into its variable bounds and ``Bounds`` constraints.

    A ``Bounds`` constraint on a relation that is linear in one predicted target with a
    constant coefficient, ``a·y + b(inputs)`` (an excess over a reference,
    ``T - T_room >= 0``), is a limit on that target row by row, and is enforced too,
    before the target's own bounds (which win where the two cannot both hold). Bounds on
    other relations are left to the audit.

    Examples
    --------
    >>> from tgds.theory import Bounds, Relation, Theory, Variable
    >>> t = Theory([Variable("x"), Variable("y", bounds=(0, 1), role="target")])
    >>> ctx = RepairContext(t, pd.DataFrame({"x": [0, 1, 2]}), ("y",))
    >>> ProjectToBounds().apply(ctx, {"y": np.array([-0.5, 0.5, 2.0])})["y"]
    array([0. , 0.5, 1. ])
    >>> t = Theory(
    ...     [Variable("x"), Variable("y", role="target")],
    ...     relations=[Relation("excess", "y - x")],
    ...     constraints=[Bounds("excess", lower=0.0)],
    ... )
    >>> ctx = RepairContext(t, pd.DataFrame({"x": [0.0, 1.0, 2.0]}), ("y",))
    >>> ProjectToBounds().apply(ctx, {"y": np.array([0.5, 0.5, 3.0])})["y"]
    array([0.5, 1. , 3. ])
    """

    target: str | None = None

    def apply(self, ctx: RepairContext, preds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        chosen = [self.target] if self.target else list(ctx.targets)
        for t in chosen:
            if t not in preds:
                raise TheoryError(
                    f"ProjectToBounds: {t!r} is not a predicted target; targets: {list(ctx.targets)}."
                )
        out = {**preds, **{t: np.asarray(preds[t], dtype=float) for t in chosen}}
        relations = {r.name for r in ctx.theory.relations}
        for c in ctx.theory.constraints:
            if isinstance(c, Bounds) and c.quantity in relations:
                _clip_affine(ctx, c, chosen, out)
        for t in chosen:
            out[t] = np.clip(out[t], *ctx.theory.target_bounds(t))
        return out


def _clip_affine(ctx: RepairContext, c: Bounds, chosen: list[str], out: dict) -> None:
    """Clip the target of ``a·y + b`` into ``c``'s limits, in place; nothing for another relation."""
    expr = ctx.theory.expression_of(c.quantity)
    params = ctx.theory.parameter_values()
    of_y = expr.sympy.subs({s: params[s.name] for s in expr.sympy.free_symbols if s.name in params})
    free = {s.name: s for s in of_y.free_symbols}
    ys = [n for n in free if n in ctx.theory.targets]
    if len(ys) != 1 or ys[0] not in chosen or any(n.startswith("D(") for n in free):
        return
    y = ys[0]
    if sympy.diff(of_y, free[y]).free_symbols:  # not linear, or a coefficient of the inputs
        return
    owner = f"ProjectToBounds: bounds {c.label!r}"
    values = {n: numeric_column(ctx.X, n, owner) for n in free if n != y}
    with np.errstate(all="ignore"):
        b = np.asarray(expr.evaluate({**values, y: np.zeros(len(ctx.X))}), dtype=float)
        a = np.asarray(expr.evaluate({**values, y: np.ones(len(ctx.X))}), dtype=float) - b
        lo = -np.inf if c.lower is None else (c.lower - b) / a
        hi = np.inf if c.upper is None else (c.upper - b) / a
    known = np.isfinite(a) & np.isfinite(b) & (a != 0)  # a missing input: the row is left
    lo, hi = np.where(a > 0, lo, hi), np.where(a > 0, hi, lo)
    out[y] = np.where(known, np.clip(out[y], lo, hi), out[y])


@dataclass(frozen=True)
class IsotonicProjection(AbstractRepair):
    """Project a monotone quantity onto monotone sequences along ``wrt`` within groups.

    Only a ``Monotonic`` constraint with ``within`` orders rows: one without groups is a
    sign of the derivative along ``wrt`` with the other inputs held fixed, which rows
    that differ in those inputs do not show, so it cannot be repaired by reordering
    predictions (the audit checks it by finite differences). By default such constraints
    on the predicted targets are skipped with one ``UserWarning`` per ``apply`` naming
    them; asking for one by name is an error.

    Parameters
    ----------
    constraint : str, optional
        The name (or description) of a ``Monotonic`` constraint with ``within``; by
        default every such constraint of the theory, in order.

    Examples
    --------
    >>> from tgds.theory import Monotonic, Theory, Variable
    >>> t = Theory(
    ...     [Variable("z"), Variable("site", role="group"), Variable("y", role="target")],
    ...     constraints=[Monotonic("y", wrt="z", within="site")],
    ... )
    >>> X = pd.DataFrame({"z": [0.0, 1.0, 2.0, 0.0, 1.0], "site": ["a", "a", "a", "b", "b"]})
    >>> y = np.array([1.0, 3.0, 2.0, 5.0, 4.0])  # 3 then 2 at site a; 5 then 4 at site b
    >>> IsotonicProjection().apply(RepairContext(t, X, ("y",)), {"y": y})["y"]
    array([1. , 2.5, 2.5, 4.5, 4.5])
    """

    constraint: str | None = None

    def apply(self, ctx: RepairContext, preds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = dict(preds)
        chosen = self._constraints(ctx.theory)
        if self.constraint is None:
            _warn_ungrouped(ctx)
        for c in chosen:
            out = _isotonic(ctx, c, out)
        return out

    def _constraints(self, theory: Theory) -> list[Monotonic]:
        found = [c for c in theory.constraints if isinstance(c, Monotonic) and c.within]
        if self.constraint is None:
            return found
        chosen = [c for c in found if c.label == self.constraint]
        if not chosen:
            ungrouped = any(
                isinstance(c, Monotonic) and not c.within and c.label == self.constraint
                for c in theory.constraints
            )
            why = " (it has none: a derivative sign, not an order of rows)" if ungrouped else ""
            raise TheoryError(
                f"IsotonicProjection: no monotonic constraint with 'within' named {self.constraint!r}{why}; "
                f"candidates: {[c.label for c in found]}."
            )
        return chosen


def _warn_ungrouped(ctx: RepairContext) -> None:
    """One warning naming the ``Monotonic`` constraints on the predictions without ``within``."""
    skipped = [
        c
        for c in ctx.theory.constraints
        if isinstance(c, Monotonic) and not c.within and _on_predictions(ctx.theory, c, ctx.targets)
    ]
    if skipped:
        names = ", ".join(f"{c.label!r} (along {c.wrt!r})" for c in skipped)
        warnings.warn(
            f"IsotonicProjection: skipped the monotonic constraint(s) {names}: a projection "
            "needs 'within' (the groups, e.g. profiles, whose rows are ordered along 'wrt'); "
            "got none, so each is a sign of a derivative, which reordering predictions "
            "cannot enforce. Only the audit checks them.",
            UserWarning,
            stacklevel=3,
        )


def _isotonic(
    ctx: RepairContext, c: Monotonic, preds: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    owner = f"IsotonicProjection of {c.label!r}"
    for name in (c.wrt, *c.within):
        if name not in ctx.X.columns:
            raise DataError(f"{owner} needs the column {name!r}; X has {list(ctx.X.columns)}.")
    wrt = numeric_column(ctx.X, c.wrt, owner)
    inverse = (
        _RelationInverse.of(ctx.theory, c.quantity, ctx.targets, preds)
        if c.quantity not in preds
        else None
    )
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        q = np.asarray(
            preds[c.quantity] if inverse is None else inverse.forward(preds[inverse.target]),
            dtype=float,
        )
        weights = np.ones_like(q) if inverse is None else inverse.weights(preds[inverse.target])
    codes = group_codes([ctx.X[g].to_numpy() for g in c.within])
    # rows with no group, no finite position or no finite value are in no order: kept as is
    usable = np.isfinite(wrt) & np.isfinite(q) & np.isfinite(weights) & (weights > 0)
    codes = np.where(usable, codes, -1)
    increasing = c.direction == "increasing"
    # the chain: by group, by wrt, and within a level of wrt by value (ascending for an
    # increasing quantity): consecutive rows across two levels are then the extreme pair
    # of the audit's level-to-level pairs, the one most likely to violate
    order = np.lexsort((q if increasing else -q, wrt, codes))
    projected = q.copy()
    starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        rows = order[a:b]
        if codes[rows[0]] < 0:
            continue
        seq = q[rows]
        drop = seq[:-1] - seq[1:] if increasing else seq[1:] - seq[:-1]
        if np.any(drop > roundoff(seq[:-1], seq[1:])):  # leave monotone groups untouched
            projected[rows] = isotonic_regression(
                seq, sample_weight=weights[rows], increasing=increasing
            )
    out = dict(preds)
    if inverse is None:
        out[c.quantity] = projected
    else:
        target = np.asarray(preds[inverse.target], dtype=float)
        changed = np.flatnonzero(np.abs(projected - q) > roundoff(q))  # others keep their value
        fixed = target.copy()
        if changed.size:
            fixed[changed] = inverse.solve(projected[changed], target[changed])
        out[inverse.target] = fixed
    return out


@dataclass(frozen=True)
class _RelationInverse:
    """``relation(target)`` for a relation of one target, and its branch-wise inverse."""

    target: str
    fn: Any
    slope: Any
    grid: np.ndarray  # increasing values of the target, on which the branches are found

    @classmethod
    def of(
        cls, theory: Theory, relation: str, targets: tuple[str, ...], preds: dict[str, np.ndarray]
    ) -> _RelationInverse:
        expr = theory.expression_of(relation)
        free = {s.name for s in expr.sympy.free_symbols} - set(theory.parameter_values())
        if len(free) != 1 or next(iter(free)) not in targets:
            raise TheoryError(
                f"isotonic projection of the relation {relation!r} needs a relation of one predicted target "
                f"(and parameters); it uses {sorted(free)}."
            )
        target = next(iter(free))
        params = theory.parameter_values()
        of_target = expr.sympy.subs(
            {s: params[s.name] for s in expr.sympy.free_symbols if s.name in params}
        )
        compiled = SymbolicExpression(of_target, relation).to_numpy()
        (variable,) = (s for s in of_target.free_symbols if s.name == target)
        derivative = SymbolicExpression(
            sympy.diff(of_target, variable), f"d{relation}/d{target}"
        ).to_numpy()
        # the variable's bounds and every Bounds constraint on it: what ProjectToBounds enforces
        grid = _search_grid(*theory.target_bounds(target), preds[target])

        def as_array(fn: Any) -> Any:
            return lambda v: np.broadcast_to(np.asarray(fn({target: v}), dtype=float), np.shape(v))

        return cls(target, as_array(compiled), as_array(derivative), grid)

    def forward(self, values: np.ndarray) -> np.ndarray:
        return self.fn(np.asarray(values, dtype=float))

    def weights(self, values: np.ndarray) -> np.ndarray:
        """Isotonic weights ``1 / relation'(target)^2``.

        With them the weighted least-squares projection of the relation is, to first
        order, the least-squares projection of the target itself: where the relation is
        flat (density near 4 degC) a small change of it is a large change of the target,
        so those points are moved least.
        """
        slope = self.slope(np.asarray(values, dtype=float))
        square = slope**2
        finite = square[np.isfinite(square)]  # a NaN prediction gets a NaN weight, not all rows
        floor = 1e-12 * max(float(finite.max()) if finite.size else 0.0, np.finfo(float).tiny)
        return 1.0 / np.maximum(square, floor)

    def branches(self) -> list[tuple[float, float]]:
        """Intervals of the target on which the relation is monotone."""
        grid = self.grid
        slope = np.sign(np.diff(self.fn(grid)))
        turns = np.flatnonzero(slope[1:] * slope[:-1] < 0) + 1
        edges = [float(grid[0]), *[float(grid[i]) for i in turns], float(grid[-1])]
        return list(zip(edges[:-1], edges[1:], strict=True))

    def solve(self, wanted: np.ndarray, near: np.ndarray) -> np.ndarray:
        """For each row, the target value nearest ``near`` with ``relation(value) = wanted``."""
        best = np.full(wanted.shape, np.nan)
        for a, b in self.branches():
            fa, fb = self.fn(np.array([a, b]))
            inside = (wanted >= min(fa, fb)) & (wanted <= max(fa, fb))
            if not inside.any():
                continue
            root = _bisect(
                self.fn, np.full(wanted.shape, a), np.full(wanted.shape, b), wanted, fa < fb
            )
            closer = inside & (np.isnan(best) | (np.abs(root - near) < np.abs(best - near)))
            best = np.where(closer, root, best)
        missing = np.isnan(best)
        if missing.any():  # out of every branch's range: the nearest value on the grid
            gap = np.abs(self.fn(self.grid)[None, :] - wanted[missing, None])
            best[missing] = self.grid[np.argmin(gap, axis=1)]
        return best


def _search_grid(lo: float, hi: float, predictions: np.ndarray) -> np.ndarray:
    """Increasing values of the target on which to find the relation's monotone branches.

    The grid covers the bounds ``[lo, hi]`` and every finite prediction (a value outside
    the bounds must be matched on its own branch, not on a far branch inside them). It is
    dense inside the bounds and where the predictions are: an even grid out to a far
    outlier would be so coarse that it misses the turns between branches.
    """
    values = np.asarray(predictions, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        values = np.array([lo if math.isfinite(lo) else (hi if math.isfinite(hi) else 0.0)])
    parts = [np.quantile(values, np.linspace(0, 1, 2001))]
    if math.isfinite(lo) and math.isfinite(hi):
        parts.append(np.linspace(lo, hi, 2001))
    span = float(np.ptp(values)) or 1.0
    lo = min(lo, float(np.min(values))) if math.isfinite(lo) else float(np.min(values)) - span
    hi = max(hi, float(np.max(values))) if math.isfinite(hi) else float(np.max(values)) + span
    return np.unique(np.concatenate([np.linspace(lo, hi, 2001), *parts]))


def _bisect(fn: Any, a: np.ndarray, b: np.ndarray, wanted: np.ndarray, rising: bool) -> np.ndarray:
    for _ in range(80):  # 80 halvings: below float resolution for any bracket
        mid = 0.5 * (a + b)
        below = (fn(mid) < wanted) if rising else (fn(mid) > wanted)
        a, b = np.where(below, mid, a), np.where(below, b, mid)
    return 0.5 * (a + b)


@dataclass(frozen=True)
class ConservationProjection(AbstractRepair):
    """Least-squares projection of each row's targets onto linear equations of the theory.

    Parameters
    ----------
    equations : str or tuple of str, optional
        Names (or descriptions) of ``Equation`` constraints that are linear in the targets
        with constant coefficients (numbers or parameters with a value; the right-hand side
        may depend on inputs), such as ``a + b + c == total``. By default every equation
        without derivatives.

    Rows with a non-finite target or right-hand side are left as they are.

    Examples
    --------
    >>> from tgds.theory import Equation, Theory, Variable
    >>> t = Theory(
    ...     [Variable("total"), Variable("a", role="target"), Variable("b", role="target")],
    ...     constraints=[Equation("a + b == total")],
    ... )
    >>> ctx = RepairContext(t, pd.DataFrame({"total": [3.0, 1.0]}), ("a", "b"))
    >>> out = ConservationProjection().apply(ctx, {"a": np.array([1.0, 1.0]), "b": np.array([1.0, 1.0])})
    >>> out["a"], out["b"]  # each moves by half of the excess a + b - total
    (array([1.5, 0.5]), array([1.5, 0.5]))
    """

    equations: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        names = (self.equations,) if isinstance(self.equations, str) else self.equations
        if names is not None:
            if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
                raise TheoryError(
                    "ConservationProjection: equations must be a name or a tuple of names of "
                    f"equations; got {self.equations!r:.60}."
                )
            object.__setattr__(self, "equations", tuple(names))

    def apply(self, ctx: RepairContext, preds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        eqs = self._equations(ctx.theory)
        if not eqs:
            return dict(preds)
        A, rhs = self._system(ctx, eqs)
        Y = np.column_stack([np.asarray(preds[t], dtype=float) for t in ctx.targets])
        # a non-finite target or right-hand side would spread to every target of its row
        ok = np.isfinite(Y).all(axis=1) & np.isfinite(rhs).all(axis=1)
        excess = Y[ok] @ A.T - rhs[ok]  # (n_ok, m)
        fixed = Y.copy()
        fixed[ok] -= excess @ np.linalg.solve(A @ A.T, A)  # (n_ok, k)
        return {**preds, **{t: fixed[:, k] for k, t in enumerate(ctx.targets)}}

    def _equations(self, theory: Theory) -> list[Equation]:
        eqs = [
            c
            for c in theory.constraints
            if isinstance(c, Equation) and not theory.residual_of(c)[1]
        ]
        if self.equations is None:
            return eqs
        chosen = [c for c in eqs if c.label in self.equations]
        missing = set(self.equations) - {c.label for c in chosen}
        if missing:
            raise TheoryError(
                f"ConservationProjection: no algebraic equation named {sorted(missing)}; candidates: {[c.label for c in eqs]}."
            )
        return chosen

    def _system(self, ctx: RepairContext, eqs: list[Equation]) -> tuple[np.ndarray, np.ndarray]:
        rows, rhs = [], []
        for c in eqs:
            linear = linear_in_targets(ctx.theory, c, ctx.targets)
            if linear is None:
                raise TheoryError(
                    f"ConservationProjection: equation {c.label!r} is not linear in the targets with constant coefficients."
                )
            coeffs, rest = linear
            if not any(coeffs):
                raise TheoryError(
                    f"ConservationProjection: equation {c.label!r} involves no predicted target "
                    f"(targets: {list(ctx.targets)}); there is nothing to project."
                )
            rows.append(coeffs)
            values = {
                s.name: ctx.X[s.name].to_numpy(dtype=float)
                for s in rest.free_symbols
                if s.name in ctx.X.columns
            }
            missing = {s.name for s in rest.free_symbols} - set(values)
            if missing:
                raise DataError(
                    f"ConservationProjection: equation {c.label!r} needs the column(s) {sorted(missing)}."
                )
            rhs.append(
                np.broadcast_to(SymbolicExpression(rest, c.label).evaluate(values), (len(ctx.X),))
            )
        A = np.asarray(rows, dtype=float)
        if np.linalg.matrix_rank(A) < len(rows):
            raise TheoryError(
                "ConservationProjection: the equations are linearly dependent; drop the redundant ones."
            )
        return A, np.column_stack(rhs)


def linear_in_targets(
    theory: Theory, equation: Equation, targets: tuple[str, ...]
) -> tuple[list[float], sympy.Expr] | None:
    """``(a, b)`` when the residual of ``equation`` is ``a·y - b`` with constant ``a``; else None.

    Parameters with a value are constants: they are substituted first, so they may be
    in ``a``. ``b`` is a sympy expression of the inputs (and parameters without a value).
    """
    residual = theory.residual_of(equation)[0].sympy
    params = theory.parameter_values()
    # by the expression's own symbols: a string key would become a plain Symbol('g'),
    # which is not the expression's Symbol('g', real=True), and substitute nothing
    r = residual.subs({s: params[s.name] for s in residual.free_symbols if s.name in params})
    own = {s.name: s for s in residual.free_symbols}
    symbols = [own.get(t, sympy.Symbol(t, real=True)) for t in targets]
    coeffs = [sympy.diff(r, s) for s in symbols]
    if any(co.free_symbols for co in coeffs):
        return None
    try:
        values = [float(co) for co in coeffs]
    except TypeError:  # not a real number (e.g. zoo)
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return values, -r.subs({s: 0 for s in symbols})
