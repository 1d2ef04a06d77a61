"""Physics loss terms built from a theory's constraints.

Each term is a pure function ``fn(model, batch) -> scalar`` (see :class:`LossTerm`)
evaluated on its own points, which may be unlabeled. All quantities, derivatives and
residuals are computed in physical units, through the model's physical-units wrapper.
Inequalities (bounds, monotonicity, shape) use a hinge (``relu``) of the violation,
as in PGNN's density-depth loss; equalities (equations, invariances) use the squared
difference. A term on a quantity ``q`` is divided by the scale ``s_q`` of ``q`` in the
training data, and a derivative of order ``k`` along an input ``x`` is multiplied by
``s_x**k`` (the change of ``q`` over a standard deviation of ``x``), so that default
weights of one are sensible for quantities of any unit; equation residuals are left in
physical units (their natural scale is problem-specific: set the term's weight).

Pairwise monotonic terms on a *relation* of the outputs (PGNN's density of water, a
function of the predicted temperature) measure each violation as its first-order
distance in the outputs: the difference of the relation over its root-mean-square
sensitivity to the (standardised) outputs at the two points. Where the relation is flat
(density near 4 °C) a raw difference would be tiny and its gradient vanish, although
the predicted temperatures may be visibly out of order; the distance does not. The
sensitivity is floored at a tenth of the relation's scale: where the relation is flatter
still (density within about 1.5 °C of its maximum), the violation is the difference over
that floor, a pull that does not vanish but is weaker than elsewhere. With a floor of
1e-3 the lake PGNN ordered turnover profiles by moving them 2-4 °C away from 4 °C, to
where the order of temperatures is the same on every date (a smooth network cannot flip
the sign of its depth trend exactly at the density maximum); on the development rows the
tenth lowered its RMSE by 0.03-0.05 °C at the same inversion rate. For a target itself
the distance is the difference over the target's scale.

The gradient of the distance moves each point of a violating pair in proportion to the
relation's slope at that point. Beside an extremum the point farther from it has the
steeper slope, so the pair drifts towards the extremum: cold lake profiles warm towards
4 °C. A distance whose gradient is the same for both points (the slope at the pair's
midpoint) removes the drift, but on the lake's development rows it was no better on
average (``docs/lake_pgnn.md``), so it is not used.

``Interactions`` constraints do not apply to networks (they drive tree ensembles and
group lasso) and are reported as skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from tgds.exceptions import TheoryError
from tgds.nn._train import LossTerm
from tgds.theory import (
    AbstractConstraint,
    AbstractTransform,
    Bounds,
    Equation,
    Interactions,
    Invariance,
    Monotonic,
    Shape,
    Theory,
    field_derivatives,
)
from tgds.utils import monotone_pairs

__all__ = ["TermContext", "build_physics_terms"]

PointFn = Callable[[object, jax.Array, jax.Array], jax.Array]

# the smallest sensitivity of a relation to the standardised outputs, in units of the
# relation's scale, used by pairwise distances (see the module docstring)
_SLOPE_FLOOR = 0.1


@dataclass(frozen=True)
class TermContext:
    """What the term builders need to know.

    ``output(model, x)`` gives the targets at one point of features ``x`` (probabilities
    for a classifier). ``extras`` are the non-feature columns carried with the points.
    ``scales`` maps quantity names (targets, relations) to their scale in the data;
    ``feature_scales`` holds one scale per feature. ``margin`` (in standardised target
    units) asks pairwise monotonic terms for that much slack: a pair counts as violating
    until it is ordered by at least the margin.
    """

    theory: Theory
    features: tuple[str, ...]
    targets: tuple[str, ...]
    extras: tuple[str, ...]
    params: Mapping[str, float]
    output: Callable[[object, jax.Array], jax.Array]
    scales: Mapping[str, float]
    feature_scales: Sequence[float]
    margin: float = 0.0

    def quantity(self, name: str, owner: str) -> PointFn:
        """``q(model, x, e)`` for a target or a relation at one point."""
        qy = self.quantity_of_output(name, owner)
        return lambda model, x, e: qy(self.output(model, x), x, e)

    def quantity_of_output(self, name: str, owner: str) -> Callable:
        """``q(y, x, e)``: a target or a relation as a function of the outputs ``y`` at a point."""
        if name in self.targets:
            k = self.targets.index(name)
            return lambda y, x, e: y[k]
        relation = self.theory.expression_of(name).to_jax()
        getters = [self._source(n, owner, name) for n in relation.names]

        def q(y: jax.Array, x: jax.Array, e: jax.Array) -> jax.Array:
            return relation({n: g(x, e, y) for n, g in zip(relation.names, getters, strict=True)})

        return q

    def _source(self, name: str, owner: str, quantity: str) -> Callable:
        if name in self.targets:
            k = self.targets.index(name)
            return lambda x, e, y: y[k]
        if name in self.features:
            i = self.features.index(name)
            return lambda x, e, y: x[i]
        if name in self.extras:
            j = self.extras.index(name)
            return lambda x, e, y: e[j]
        if name in self.params:
            value = float(self.params[name])
            return lambda x, e, y: value
        raise TheoryError(
            f"{owner}: {quantity!r} needs {name!r}, which is neither a feature, a target, a column of "
            "the points nor a parameter with a value. Pass the column in X / X_unlabeled, or give the parameter a value."
        )

    def feature_index(self, name: str, owner: str) -> int:
        if name not in self.features:
            raise TheoryError(
                f"{owner} differentiates with respect to {name!r}, which is not a model input; inputs: {list(self.features)}."
            )
        return self.features.index(name)

    def scale(self, name: str) -> float:
        s = self.scales.get(name, 1.0)
        return s if math.isfinite(s) and s > 0 else 1.0


def _per_point(fn: PointFn, model: object, x: jax.Array, e: jax.Array) -> jax.Array:
    return jax.vmap(lambda xi, ei: fn(model, xi, ei))(x, e)


def _derivative(q: PointFn, i: int, order: int) -> PointFn:
    def along(model: object, x: jax.Array, e: jax.Array) -> jax.Array:
        def f(v: jax.Array) -> jax.Array:
            return q(model, x.at[i].set(v), e)

        g = f
        for _ in range(order):
            g = jax.grad(g)
        return g(x[i])

    return along


def _sign(direction: str) -> float:
    return 1.0 if direction in ("increasing", "convex") else -1.0


def bounds_term(ctx: TermContext, c: Bounds) -> Callable:
    owner = f"constraint {c.label!r}"
    lo, hi = c.lower, c.upper
    if lo is None and hi is None:
        lo, hi = ctx.theory.variable(c.quantity).bounds
    lo = -math.inf if lo is None else lo
    hi = math.inf if hi is None else hi
    q, s = ctx.quantity(c.quantity, owner), ctx.scale(c.quantity)

    def fn(model: object, batch: dict) -> jax.Array:
        v = _per_point(q, model, batch["x"], batch["e"])
        return jnp.mean(jax.nn.relu(lo - v) + jax.nn.relu(v - hi)) / s

    return fn


def monotonic_pairs_term(ctx: TermContext, c: Monotonic) -> Callable:
    qy = ctx.quantity_of_output(c.quantity, f"constraint {c.label!r}")
    sign = _sign(c.direction)
    y_scales = jnp.asarray([ctx.scale(t) for t in ctx.targets])
    floor = _SLOPE_FLOOR * ctx.scale(c.quantity)
    value_and_slope = jax.value_and_grad(qy)

    def distance(model: object, x1, e1, x2, e2) -> jax.Array:
        q1, g1 = value_and_slope(ctx.output(model, x1), x1, e1)
        q2, g2 = value_and_slope(ctx.output(model, x2), x2, e2)
        # first-order distance of the outputs from the constraint, in standardised target
        # units: the violation over the root-mean-square sensitivity of q to the outputs
        slope = jnp.sqrt((jnp.sum((g1 * y_scales) ** 2) + jnp.sum((g2 * y_scales) ** 2)) / 2)
        return sign * (q1 - q2) / jax.lax.stop_gradient(jnp.maximum(slope, floor))

    def fn(model: object, batch: dict) -> jax.Array:
        d = jax.vmap(lambda *a: distance(model, *a))(
            batch["x1"], batch["e1"], batch["x2"], batch["e2"]
        )
        return jnp.mean(jax.nn.relu(d + ctx.margin))

    return fn


def derivative_sign_term(ctx: TermContext, c: Monotonic | Shape) -> Callable:
    owner = f"constraint {c.label!r}"
    i = ctx.feature_index(c.wrt, owner)
    order = 1 if isinstance(c, Monotonic) else 2
    sign = _sign(c.direction if isinstance(c, Monotonic) else c.curvature)
    d = _derivative(ctx.quantity(c.quantity, owner), i, order)
    norm = ctx.feature_scales[i] ** order / ctx.scale(c.quantity)

    def fn(model: object, batch: dict) -> jax.Array:
        return jnp.mean(jax.nn.relu(-sign * _per_point(d, model, batch["x"], batch["e"]))) * norm

    return fn


def equation_term(ctx: TermContext, c: Equation) -> Callable:
    residual, specs = ctx.theory.residual_of(c)
    compiled = residual.to_jax()
    keys = {spec.key for spec in specs}
    for spec in specs:
        for w in spec.wrt:
            ctx.feature_index(w, f"equation {c.label!r}")
    getters = {
        n: ctx._source(n, f"equation {c.label!r}", "the residual")
        for n in compiled.names
        if n not in keys
    }

    def fn(model: object, batch: dict) -> jax.Array:
        fields = field_derivatives(
            lambda x: ctx.output(model, x), specs, ctx.features, ctx.targets
        )(batch["x"])
        y = jnp.stack([fields[t] for t in ctx.targets], axis=-1)
        values = {n: jax.vmap(g)(batch["x"], batch["e"], y) for n, g in getters.items()}
        values.update({k: fields[k] for k in keys})
        return jnp.mean(compiled(values) ** 2)

    return fn


def _transform(
    ctx: TermContext, t: AbstractTransform, owner: str
) -> list[Callable[[jax.Array], jax.Array]]:
    """The transform's images as functions of one feature vector."""
    index = {v: ctx.feature_index(v, owner) for v in t.variables}

    def image(k: int) -> Callable[[jax.Array], jax.Array]:
        def moved(x: jax.Array) -> jax.Array:
            for v, value in t.images({v: x[i] for v, i in index.items()})[k].items():
                x = x.at[index[v]].set(value)
            return x

        return moved

    return [image(k) for k in range(len(t.images(dict.fromkeys(index, 0.0))))]


def invariance_term(ctx: TermContext, c: Invariance) -> Callable:
    owner = f"constraint {c.label!r}"
    name = c.quantity or ctx.targets[0]
    q, s = ctx.quantity(name, owner), ctx.scale(name)
    maps = _transform(ctx, c.transform, owner)
    scale = c.output_scale

    def fn(model: object, batch: dict) -> jax.Array:
        base = _per_point(q, model, batch["x"], batch["e"])
        total = 0.0
        for m in maps:
            moved = jax.vmap(lambda xi, ei, m=m: q(model, m(xi), ei))(batch["x"], batch["e"])
            total = total + jnp.mean(((moved - scale * base) / s) ** 2)
        return total / len(maps)

    return fn


def build_physics_terms(
    ctx: TermContext,
    constraints: Sequence[AbstractConstraint],
    points: Mapping[str, np.ndarray],
    group_codes: np.ndarray | None,
    weights: Mapping[str, float],
    batch_size: int,
) -> tuple[list[LossTerm], list[str]]:
    """One :class:`LossTerm` per applicable constraint, and notes on those skipped.

    ``points`` holds ``"x"`` (features) and ``"e"`` (extras) for the physics points;
    ``group_codes`` the integer codes of the ``within`` groups of monotonic constraints
    (``None`` when the points carry no group columns).
    """
    terms, skipped = [], []
    relations = {r.name for r in ctx.theory.relations}
    for c in constraints:
        name = f"{c.kind}:{c.label}"
        weight = float(weights.get(c.label, weights.get("*", 1.0)))
        if isinstance(c, Interactions):
            skipped.append(
                f"{name}: interaction constraints apply to tree ensembles and group lasso, not networks"
            )
            continue
        quantity = getattr(c, "quantity", None)
        if quantity is not None and quantity not in ctx.targets and quantity not in relations:
            skipped.append(
                f"{name}: constrains {quantity!r}, which is neither an output of the model nor a "
                "relation of its outputs (Theory.check_data tests it in the data)"
            )
            continue
        if isinstance(c, Monotonic) and c.within and group_codes is not None:
            i = ctx.feature_index(c.wrt, f"constraint {c.label!r}")
            pairs = monotone_pairs(np.asarray(points["x"][:, i]), group_codes)
            if len(pairs) == 0:
                skipped.append(f"{name}: no pairs of points differ in {c.wrt!r} within a group")
                continue
            pts = {
                "x1": points["x"][pairs[:, 0]],
                "e1": points["e"][pairs[:, 0]],
                "x2": points["x"][pairs[:, 1]],
                "e2": points["e"][pairs[:, 1]],
            }
            terms.append(LossTerm(name, monotonic_pairs_term(ctx, c), pts, batch_size, weight))
            continue
        if isinstance(c, Monotonic | Shape):
            fn = derivative_sign_term(ctx, c)
        elif isinstance(c, Bounds):
            fn = bounds_term(ctx, c)
        elif isinstance(c, Equation):
            fn = equation_term(ctx, c)
        elif isinstance(c, Invariance):
            fn = invariance_term(ctx, c)
        else:
            skipped.append(f"{name}: not supported for networks")
            continue
        terms.append(LossTerm(name, fn, dict(points), batch_size, weight))
    return terms, skipped
