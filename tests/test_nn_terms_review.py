"""Physics terms, pairs, weighting and hard bounds against analytic references."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tgds.nn import ReLoBRaLo, TermContext, build_physics_terms
from tgds.nn._network import _bounded
from tgds.theory import (
    Equation,
    Invariance,
    Parameter,
    Rotation,
    Shape,
    Theory,
    Variable,
)
from tgds.utils import monotone_pairs


def _term(theory, fn, features, *, scales=None, feature_scales=None, points):
    """The one physics term of ``theory``, for a 'model' that is the analytic ``fn(p)``."""
    ctx = TermContext(
        theory=theory,
        features=features,
        targets=tuple(v.name for v in theory.variables if v.role == "target"),
        extras=(),
        params=theory.parameter_values(),
        output=lambda model, p: jnp.atleast_1d(fn(p)),
        scales=scales or {},
        feature_scales=list(feature_scales or [1.0] * len(features)),
    )
    pts = {"x": points, "e": np.zeros((len(points), 0))}
    terms, skipped = build_physics_terms(ctx, list(theory.constraints), pts, None, {}, 64)
    assert not skipped
    (term,) = terms
    return lambda: float(term.fn(None, {k: jnp.asarray(v) for k, v in term.points.items()}))


# -- pairs -----------------------------------------------------------------------------------
def test_rows_without_a_position_are_never_paired_even_with_ties():
    # NaN has no order: the NaN rows must not be paired, whether or not other rows tie
    groups = np.zeros(5, dtype=int)
    no_ties = monotone_pairs(np.array([0.0, 1.0, np.nan, 2.0, np.nan]), groups)
    assert no_ties.tolist() == [[0, 1], [1, 3]]
    ties = monotone_pairs(np.array([0.0, 0.0, 1.0, np.nan, np.nan]), groups)
    assert ties.tolist() == [[0, 2], [1, 2]]


def test_tied_levels_pair_completely_and_never_across_groups():
    wrt = np.array([1.0, 1.0, 2.0, 2.0, 1.0, 2.0])
    groups = np.array([0, 0, 0, 0, 1, 1])
    pairs = monotone_pairs(wrt, groups)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 2), (0, 3), (1, 2), (1, 3), (4, 5)]
    assert (wrt[pairs[:, 0]] < wrt[pairs[:, 1]]).all()
    assert (groups[pairs[:, 0]] == groups[pairs[:, 1]]).all()


# -- derivatives in physical units ------------------------------------------------------------
def _xt_theory(*constraints, parameters=(), unit="m/s"):
    return Theory(
        variables=[Variable("x", "m"), Variable("t", "s"), Variable("u", unit, role="target")],
        parameters=list(parameters),
        constraints=list(constraints),
    )


def test_shape_penalty_is_the_second_derivative_in_standardised_units():
    # u = -3 x^2: u'' = -6; standardised by x's scale squared over u's scale: 6 * 3^2 / 4
    theory = _xt_theory(Shape("u", wrt="x", curvature="convex"))
    pts = np.column_stack([np.linspace(-1.0, 1.0, 9), np.zeros(9)])
    value = _term(
        theory,
        lambda p: -3.0 * p[0] ** 2,
        ("x", "t"),
        scales={"u": 4.0},
        feature_scales=[3.0, 1.0],
        points=pts,
    )
    assert value() == pytest.approx(6.0 * 9.0 / 4.0, rel=1e-6)
    concave = _xt_theory(Shape("u", wrt="x", curvature="concave"))
    assert _term(concave, lambda p: -3.0 * p[0] ** 2, ("x", "t"), points=pts)() == 0.0


def test_mixed_derivative_residual_vanishes_on_its_analytic_solution():
    # u = sin(x/L) t^2 has d2u/dxdt = 2 c t cos(x/L) / L (c = 1 s^-2 carries the units)
    eq = Equation("D(D(u, x), t) - 2*c*t*cos(x/L)/L")
    params = [Parameter("L", "m", value=2.0), Parameter("c", "1/s^2", value=1.0)]
    theory = _xt_theory(eq, parameters=params, unit="1")
    pts = np.column_stack([np.linspace(0.0, 3.0, 7), np.linspace(1.0, 2.0, 7)])
    with jax.enable_x64(True):
        assert (
            _term(theory, lambda p: jnp.sin(p[0] / 2.0) * p[1] ** 2, ("x", "t"), points=pts)()
            < 1e-20
        )
        # a wrong solution leaves its known residual: d2(x t^2)/dxdt = 2t
        wrong = _term(theory, lambda p: p[0] * p[1] ** 2, ("x", "t"), points=pts)()
    t, x = pts[:, 1], pts[:, 0]
    assert wrong == pytest.approx(np.mean((2 * t - t * np.cos(x / 2.0)) ** 2), rel=1e-10)


def test_cooling_law_in_degrees_celsius_vanishes_on_its_solution():
    # Newton's cooling in degC: only differences of temperatures enter, so no offset appears
    theory = Theory(
        variables=[
            Variable("t", "s"),
            Variable("Ta", "degC"),
            Variable("T", "degC", role="target"),
        ],
        parameters=[Parameter("k", "1/s", value=0.5)],
        constraints=[Equation("D(T, t) == k*(Ta - T)")],
    )
    pts = np.column_stack([np.linspace(0.0, 3.0, 7), np.full(7, 20.0)])
    with jax.enable_x64(True):
        exact = _term(theory, lambda p: 20.0 - 15.0 * jnp.exp(-0.5 * p[0]), ("t", "Ta"), points=pts)
        assert exact() < 1e-20


def test_rotation_invariance_of_a_radial_function():
    theory = Theory(
        variables=[Variable("x", "m"), Variable("y", "m"), Variable("u", "1", role="target")],
        constraints=[Invariance(Rotation(["x", "y"], angle=0.7))],
    )
    pts = np.random.default_rng(0).normal(size=(16, 2))
    radial = _term(theory, lambda p: jnp.exp(-(p[0] ** 2 + p[1] ** 2)), ("x", "y"), points=pts)
    assert radial() == pytest.approx(0.0, abs=1e-12)
    # u = x: u(Rx) - u(x) = (cos a - 1) x - sin a y, squared and averaged
    along_x = _term(theory, lambda p: p[0], ("x", "y"), points=pts, scales={"u": 2.0})
    a = 0.7
    diff = (math.cos(a) - 1) * pts[:, 0] - math.sin(a) * pts[:, 1]
    assert along_x() == pytest.approx(np.mean((diff / 2.0) ** 2), rel=1e-5)


# -- hard bounds -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lo", "hi", "at"), [(0.0, 10.0, 5.0), (0.0, np.inf, 1e3), (-np.inf, 10.0, -1e3)]
)
def test_hard_bounds_have_slope_one_away_from_the_limits(lo, hi, at):
    def f(y):
        return _bounded(jnp.array([y]), jnp.array([lo]), jnp.array([hi]), jnp.array([2.0]))[0]

    assert float(jax.grad(f)(at)) == pytest.approx(1.0, abs=1e-6)
    assert float(f(at)) == pytest.approx(at, rel=1e-6)
    inside = [float(f(y)) for y in (-1e4, -3.0, 0.0, 3.0, 1e4)]
    assert all(lo <= v <= hi for v in inside)
    # a NaN gradient would come from an unselected branch: none for any side
    grads = [float(jax.grad(f)(y)) for y in (-1e4, 0.0, 1e4)]
    assert np.isfinite(grads).all()


# -- ReLoBRaLo -------------------------------------------------------------------------------
def test_relobralo_follows_the_published_update():
    # Bischof & Kraus (2021), eqs. 11-13, by hand for two steps with and without look-back
    alpha, temp = 0.9, 0.5
    first, previous, now = np.array([2.0, 1.0]), np.array([1.0, 0.8]), np.array([0.5, 0.6])

    def bal(ref):
        z = now / (temp * ref)
        return 2 * np.exp(z) / np.exp(z).sum()

    lambdas = np.array([1.2, 0.8])
    state = {
        "lambdas": jnp.asarray(lambdas),
        "first": jnp.asarray(first),
        "previous": jnp.asarray(previous),
    }
    for rho in (1.0, 0.0):
        scheme = ReLoBRaLo(alpha=alpha, temperature=temp, expected_rho=rho)
        got = np.asarray(scheme.update(state, jnp.asarray(now), jax.random.PRNGKey(0))["lambdas"])
        hist = rho * lambdas + (1 - rho) * bal(first)
        assert got == pytest.approx(alpha * hist + (1 - alpha) * bal(previous), rel=1e-5)
