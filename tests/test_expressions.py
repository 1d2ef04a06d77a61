"""Compiled theory expressions, derivatives of fields, and symbolic differentiation.

* The NumPy and JAX compilations of an :class:`~tgds.theory.Expression` agree, in JAX's
  default float32 and with 64-bit floats enabled, for every whitelisted function and
  operator, and for random expression trees built from whitelisted pieces (hypothesis).
* :func:`~tgds.theory.field_derivatives` computes ``D(u, x)``, ``D(u, x, 2)``,
  ``D(D(u, x), t)``, ... that match analytic derivatives and central finite differences,
  and a Burgers residual bound by a :class:`~tgds.theory.Theory` evaluates correctly.
* :meth:`Expression.diff` gives the symbolic derivative; its errors are clear.
* :class:`~tgds.theory.CompiledExpression` names missing values and broadcasts.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
import sympy
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st

from tgds.exceptions import DataError, TheoryError
from tgds.theory import (
    CompiledExpression,
    DerivativeSpec,
    Equation,
    Expression,
    Parameter,
    Relation,
    Theory,
    Variable,
    field_derivatives,
)
from tgds.theory._parser import FUNCTIONS

WATER_DENSITY = "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))"
BURGERS = "D(u, t) + u*D(u, x) == nu*D(u, x, 2)"


# -- 64-bit JAX ------------------------------------------------------------------------------
def _x64_context():
    """The installed JAX's context manager for ``jax_enable_x64``, or None."""
    experimental = getattr(jax, "experimental", None)
    return getattr(experimental, "enable_x64", None) or getattr(jax, "enable_x64", None)


@contextlib.contextmanager
def jax_x64(enabled: bool = True) -> Iterator[None]:
    """Run with JAX's 64-bit mode on (or off); restore the previous mode afterwards.

    ``jax.experimental.enable_x64`` moved to ``jax.enable_x64`` in recent JAX; without
    either, the flag is set with ``jax.config.update`` and restored.
    """
    context = _x64_context()
    if context is not None:
        with context(enabled):
            yield
        return
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", old)


@pytest.fixture
def x64() -> Iterator[None]:
    with jax_x64(True):
        assert jnp.asarray(1.0).dtype == jnp.float64
        yield


def test_x64_helper_restores_the_previous_mode():
    before = jnp.asarray(1.0).dtype
    with jax_x64(True):
        assert jnp.asarray(1.0).dtype == jnp.float64
    with jax_x64(False):
        assert jnp.asarray(1.0).dtype == jnp.float32
    assert jnp.asarray(1.0).dtype == before


# -- NumPy vs JAX on a fixed list ------------------------------------------------------------
SIGNED = (-2.0, 2.0)
POSITIVE = (0.2, 3.0)
UNIT = (-0.95, 0.95)

# (expression, domain of each name); names absent from the dict use SIGNED.
CASES: list[tuple[str, dict[str, tuple[float, float]]]] = [
    ("exp(x)", {}),
    ("log(x)", {"x": POSITIVE}),
    ("log10(x)", {"x": POSITIVE}),
    ("sqrt(x)", {"x": POSITIVE}),
    ("sin(x)", {"x": (-4.0, 4.0)}),
    ("cos(x)", {"x": (-4.0, 4.0)}),
    ("tan(x)", {"x": (-1.3, 1.3)}),
    ("arcsin(x)", {"x": UNIT}),
    ("arccos(x)", {"x": UNIT}),
    ("arctan(x)", {"x": (-5.0, 5.0)}),
    ("sinh(x)", {}),
    ("cosh(x)", {}),
    ("tanh(x)", {}),
    ("abs(x)", {}),
    ("sign(x)", {}),
    ("min(x, y)", {}),
    ("max(x, y, z)", {}),
    ("min(x, 0.5) + max(y, -0.5)", {}),
    ("where(x > y, x*y, x - y)", {}),
    ("where(x <= 0.3, 1, 2)", {}),
    ("where(x >= y, exp(x), log(1 + y**2))", {}),
    ("where(x < 0, -x, 0)", {}),
    ("x**0.5", {"x": POSITIVE}),
    ("x**-1", {"x": POSITIVE}),
    ("x**-2 + y**-3", {"x": POSITIVE, "y": POSITIVE}),
    ("x**3", {}),
    ("x**9 - x**10", {"x": (-1.5, 1.5)}),
    ("x**(1/3)", {"x": POSITIVE}),
    ("x**y", {"x": POSITIVE}),
    ("2**x", {}),
    ("pi*x**2", {}),
    ("2*pi/x", {"x": POSITIVE}),
    ("(x - y)/(1 + z**2)", {}),
    ("-x + 2*y - z/3", {}),
    ("exp(-x**2/2)/sqrt(2*pi)", {}),
    ("log(1 + exp(x))", {}),
    ("sin(x)*cos(y) + tan(z)", {"z": (-1.0, 1.0)}),
    ("arctan(y/x)", {"x": POSITIVE}),
    ("sqrt(x**2 + y**2)", {}),
    ("tanh(sinh(x)) + cosh(y)/10", {}),
    ("abs(x - y)*sign(z)", {}),
]


def test_cases_cover_every_function():
    used = {name for text, _ in CASES for name in FUNCTIONS if re.search(rf"\b{name}\(", text)}
    assert used == set(FUNCTIONS) - {"D"}
    assert len(CASES) >= 25
    for op in ("+", "-", "*", "/", "**", "pi", ">", "<", ">=", "<="):
        assert any(op in text for text, _ in CASES), op


def _values(
    expression: Expression, domains: dict[str, tuple[float, float]], n: int = 64, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random values in each name's domain, exactly representable in float32."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in sorted(expression.names):
        lo, hi = domains.get(name, SIGNED)
        out[name] = rng.uniform(lo, hi, n).astype(np.float32).astype(np.float64)
    return out


@pytest.mark.parametrize(("text", "domains"), CASES, ids=[c[0] for c in CASES])
def test_numpy_and_jax_agree_in_float32(text, domains):
    e = Expression(text)
    values = _values(e, domains)
    expected = e.to_numpy()(values)
    with jax_x64(False):
        got = e.to_jax()(values)
        assert got.dtype == jnp.float32
    assert expected.dtype == np.float64
    assert expected.shape == got.shape == (64,)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("text", "domains"), CASES, ids=[c[0] for c in CASES])
def test_numpy_and_jax_agree_in_float64(text, domains, x64):
    e = Expression(text)
    values = _values(e, domains, seed=1)
    expected = e.to_numpy()(values)
    got = e.to_jax()(values)
    assert got.dtype == jnp.float64
    assert expected.shape == got.shape == (64,)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-13)


def test_jax_compilation_is_jit_traceable(x64):
    e = Expression("where(x > y, exp(x)*y, log(1 + y**2)) + max(x, y)**2")
    f = e.to_jax()
    values = _values(e, {}, n=8)
    jitted = jax.jit(lambda v: f(v))
    np.testing.assert_allclose(jitted(values), e.to_numpy()(values), rtol=1e-12)
    grad = jax.grad(lambda x: f({"x": x, "y": 0.5}))(jnp.asarray(1.0))
    assert float(grad) == pytest.approx(math.exp(1.0) * 0.5 + 2 * 1.0, rel=1e-12)


# -- NumPy vs JAX on random expression trees (hypothesis) ------------------------------------
UNARY = sorted(set(FUNCTIONS) - {"D", "min", "max", "where"})
LEAVES = st.sampled_from(["x", "y", "z", "0.5", "2", "3", "1.25", "pi"])
COMPARISONS = st.sampled_from([">", "<", ">=", "<="])


@st.composite
def expression_text(draw, depth: int = 3, allow_where: bool = True, top: bool = True) -> str:
    """A random, syntactically valid theory expression built from whitelisted pieces."""
    if depth == 0 or (not top and draw(st.integers(0, 3)) == 0):
        return draw(LEAVES)
    sub = expression_text(depth - 1, allow_where, top=False)
    kinds = ["unary", "binary", "power", "neg", "extremum"] + (["where"] if allow_where else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "unary":
        return f"{draw(st.sampled_from(UNARY))}({draw(sub)})"
    if kind == "binary":
        return f"({draw(sub)} {draw(st.sampled_from('+-*/'))} {draw(sub)})"
    if kind == "power":
        exponent = draw(st.sampled_from(["2", "3", "0.5", "-1", "-2", "1.5", "y", "(1/3)"]))
        return f"({draw(sub)})**{exponent}"
    if kind == "neg":
        return f"-({draw(sub)})"
    if kind == "extremum":
        args = [draw(sub) for _ in range(draw(st.integers(2, 3)))]
        return f"{draw(st.sampled_from(['min', 'max']))}({', '.join(args)})"
    # Comparisons hold no where(): sympy folds a where() inside a comparison into an ITE
    # node, which test_where_inside_a_comparison_compiles checks on its own.
    cond_side = expression_text(depth - 1, allow_where=False, top=False)
    cond = f"{draw(cond_side)} {draw(COMPARISONS)} {draw(cond_side)}"
    return f"where({cond}, {draw(sub)}, {draw(sub)})"


_POINTS = {
    name: np.random.default_rng(seed).uniform(-2.0, 3.0, 48)
    for seed, name in enumerate(("x", "y", "z"))
}


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")


def _nudged_text(text: str, rel: float = 1e-9) -> str:
    """``text`` with every number and ``pi`` moved by ``rel`` (relative)."""
    text = _NUMBER.sub(lambda m: repr(float(m.group()) * (1 + rel)), text)
    return re.sub(r"\bpi\b", f"(pi*{1 + rel!r})", text)


def test_nudged_text_moves_every_constant():
    assert _nudged_text("sin(cosh(exp(3))) + x**2 - pi*1.25") == (
        "sin(cosh(exp(3.0000000030000002))) + x**2.000000002 - (pi*1.000000001)*1.25000000125"
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(text=expression_text())
@example(text="sin(cosh(exp(3)))")  # cosh(e**3) is 2.6e8: its sine depends on the last bits
def test_random_expressions_agree_between_numpy_and_jax(text):
    try:
        e = Expression(text)
    except TheoryError as err:
        # A constant part such as log(0), sqrt(-1) or arccos(2) is refused when built
        # ("contains a constant part ..." or, when sympy cannot order it in min/max,
        # "could not be built"); the expression is invalid, not a disagreement.
        if "constant part" in str(err) or "could not be built" in str(err):
            reject()
        raise
    if e.sympy.has(sympy.zoo, sympy.oo, sympy.nan):
        reject()  # x/(y - y) and the like: test_non_finite_constant_parts_are_refused
    values = {k: v for k, v in _POINTS.items() if k in e.names}
    nudged = {k: v * (1 + 1e-9) for k, v in values.items()}
    f = e.to_numpy()
    try:  # the same expression with its constants moved too
        g = Expression(_nudged_text(text)).to_numpy()
    except TheoryError:
        reject()  # a constant moved out of its domain (arccos(1.000000001)): ill-conditioned
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(f(values), (48,))
        moved = np.broadcast_to(g(nudged), (48,))
        # Compare where numpy is finite and the expression is well conditioned (a relative
        # change of 1e-9 in the inputs and the constants moves the result by at most 1e-6
        # relative; numpy and JAX may round a constant part differently).
        finite = np.isfinite(expected) & np.isfinite(moved) & (np.abs(expected) < 1e12)
        stable = np.abs(moved - expected) <= 1e-6 * (1 + np.abs(expected))
    mask = finite & stable
    if not mask.any():
        reject()
    with jax_x64(True):
        got = np.broadcast_to(np.asarray(e.to_jax()(values)), (48,))
    np.testing.assert_allclose(
        got[mask], expected[mask], rtol=1e-10, atol=1e-12, err_msg=f"expression {text!r}"
    )


# -- D(...) by automatic differentiation vs finite differences ---------------------------------
def two_fields(p):
    """u(x, t) = sin(3x) exp(-t) + x^2 t and v(x, t) = cos(x t) + x^3."""
    x, t = p[0], p[1]
    u = jnp.sin(3 * x) * jnp.exp(-t) + x**2 * t
    v = jnp.cos(x * t) + x**3
    return jnp.stack([u, v])


def analytic(key: str, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    s, c, et = np.sin(3 * x), np.cos(3 * x), np.exp(-t)
    return {
        "u": s * et + x**2 * t,
        "v": np.cos(x * t) + x**3,
        "D(u, x)": 3 * c * et + 2 * x * t,
        "D(u, x, 2)": -9 * s * et + 2 * t,
        "D(u, x, 3)": -27 * c * et,
        "D(u, t)": -s * et + x**2,
        "D(D(u, t), x)": -3 * c * et + 2 * x,
        "D(v, x)": -t * np.sin(x * t) + 3 * x**2,
        "D(v, t, 2)": -(x**2) * np.cos(x * t),
    }[key]


DERIVATIVE_TEXT = (
    "D(u, x) + D(u, x, 2) + D(u, t) + D(D(u, x), t) + D(u, x, 3) + D(v, x) + D(v, t, 2)"
)


def _points(n: int = 16, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-1.5, 1.5, n), rng.uniform(0.0, 2.0, n)])


def _fd(f, p: np.ndarray, field: int, key: str) -> np.ndarray:
    """Central finite differences of ``f(points)[:, field]`` in float64."""

    def g(dx: float = 0.0, dt: float = 0.0) -> np.ndarray:
        return np.asarray(f(p + np.array([dx, dt])))[:, field]

    if key.endswith(", x)") and key.count("D(") == 1:
        h = 1e-5
        return (g(dx=h) - g(dx=-h)) / (2 * h)
    if key.endswith(", t)") and key.count("D(") == 1:
        h = 1e-5
        return (g(dt=h) - g(dt=-h)) / (2 * h)
    if key.endswith(", x, 2)"):
        h = 1e-4
        return (g(dx=h) - 2 * g() + g(dx=-h)) / h**2
    if key.endswith(", t, 2)"):
        h = 1e-4
        return (g(dt=h) - 2 * g() + g(dt=-h)) / h**2
    if key.endswith(", x, 3)"):
        h = 1e-3
        return (g(dx=2 * h) - 2 * g(dx=h) + 2 * g(dx=-h) - g(dx=-2 * h)) / (2 * h**3)
    assert key == "D(D(u, t), x)", key
    h = 1e-4
    return (g(h, h) - g(h, -h) - g(-h, h) + g(-h, -h)) / (4 * h * h)


FD_TOLERANCE = {1: 1e-7, 2: 1e-5, 3: 1e-3}  # absolute; derivatives are O(1)-O(30)


def test_derivative_keys_are_canonical():
    keys = sorted(d.key for d in Expression(DERIVATIVE_TEXT).derivatives)
    assert keys == sorted(
        ["D(u, x)", "D(u, x, 2)", "D(u, t)", "D(D(u, t), x)", "D(u, x, 3)", "D(v, x)", "D(v, t, 2)"]
    )
    assert DerivativeSpec("u", ("t", "x")).key == "D(D(u, t), x)"
    assert DerivativeSpec("u", ("x", "x", "t")).order == 3
    assert Expression("D(D(u, t), x)").derivatives == Expression("D(D(u, x), t)").derivatives


def test_field_derivatives_match_analytic_and_finite_differences(x64):
    specs = Expression(DERIVATIVE_TEXT).derivatives
    f = field_derivatives(two_fields, specs, ["x", "t"], ["u", "v"])
    p = _points()
    out = f(jnp.asarray(p))
    assert set(out) == {"u", "v"} | {d.key for d in specs}
    values_fn = jax.jit(jax.vmap(two_fields))
    for key, got in out.items():
        got = np.asarray(got)
        assert got.dtype == np.float64 and got.shape == (16,)
        np.testing.assert_allclose(
            got, analytic(key, p[:, 0], p[:, 1]), rtol=1e-12, atol=1e-12, err_msg=key
        )
        if key in ("u", "v"):
            continue
        spec = next(d for d in specs if d.key == key)
        fd = _fd(values_fn, p, 0 if spec.field == "u" else 1, key)
        np.testing.assert_allclose(got, fd, rtol=0, atol=FD_TOLERANCE[spec.order], err_msg=key)


def test_field_derivatives_in_float32():
    specs = Expression("D(u, x, 2) + D(u, t)").derivatives
    p = _points()
    with jax_x64(False):
        out = field_derivatives(two_fields, specs, ["x", "t"], ["u", "v"])(jnp.asarray(p))
        assert out["D(u, x, 2)"].dtype == jnp.float32
    for key in ("D(u, x, 2)", "D(u, t)"):
        expected = analytic(key, p[:, 0], p[:, 1])
        np.testing.assert_allclose(out[key], expected, rtol=1e-4, atol=1e-4, err_msg=key)


def test_field_derivatives_respect_input_order(x64):
    # The same field with inputs given as (t, x) instead of (x, t).
    specs = Expression("D(u, x) + D(D(u, x), t)").derivatives
    swapped = field_derivatives(lambda q: two_fields(q[::-1]), specs, ["t", "x"], ["u", "v"])
    p = _points()
    out = swapped(jnp.asarray(p[:, ::-1]))
    for key in ("D(u, x)", "D(D(u, t), x)"):
        np.testing.assert_allclose(out[key], analytic(key, p[:, 0], p[:, 1]), rtol=1e-12)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("D(w, x)", "'w', which is not a field"), ("D(u, y)", "'y', which is not an input")],
)
def test_field_derivatives_refuse_unknown_names(text, fragment):
    with pytest.raises(TheoryError, match=fragment):
        field_derivatives(two_fields, Expression(text).derivatives, ["x", "t"], ["u", "v"])


# -- a Burgers residual bound by a theory ------------------------------------------------------
def burgers_theory(nu_unit: str = "m^2/s") -> Theory:
    return Theory(
        variables=[
            Variable("x", "m"),
            Variable("t", "s", role="time"),
            Variable("u", "m/s", role="target"),
        ],
        parameters=[Parameter("nu", nu_unit, bounds=(0, 1e4))],
        constraints=[Equation(BURGERS, name="burgers")],
    )


NU, WAVE_A, WAVE_C = 0.05, 0.5, 0.3


def travelling_wave(p):
    """An exact solution of u_t + u u_x = nu u_xx: u = c - a tanh(a (x - c t) / (2 nu))."""
    x, t = p[0], p[1]
    return jnp.stack([WAVE_C - WAVE_A * jnp.tanh(WAVE_A * (x - WAVE_C * t) / (2 * NU))])


def _residual(theory: Theory, field, points: np.ndarray, nu: float) -> np.ndarray:
    residual, specs = theory.residual_of(theory.constraints[0])
    f = residual.to_jax()
    values = field_derivatives(field, specs, theory.inputs, theory.targets)

    @jax.jit
    def run(pts, nu):
        return f({**values(pts), "nu": nu})

    return np.asarray(run(jnp.asarray(points), nu))


@pytest.mark.parametrize(("nu_unit", "nu_value"), [("m^2/s", NU), ("cm^2/s", NU * 1e4)])
def test_burgers_residual_vanishes_on_an_exact_solution(nu_unit, nu_value, x64):
    theory = burgers_theory(nu_unit)
    assert theory.inputs == ("x", "t") and theory.targets == ("u",)
    rng = np.random.default_rng(5)
    points = np.column_stack([rng.uniform(-1.0, 1.0, 32), rng.uniform(0.0, 2.0, 32)])
    r = _residual(theory, travelling_wave, points, nu_value)
    # each term of the equation is up to a^2 k / 2 = 1.25 at these points
    np.testing.assert_allclose(r, 0.0, atol=1e-12)
    wrong = _residual(theory, travelling_wave, points, 2 * nu_value)
    assert np.max(np.abs(wrong)) > 0.1  # a wrong viscosity leaves a visible residual


def test_burgers_residual_matches_finite_differences(x64):
    theory = burgers_theory()
    field = lambda p: two_fields(p)[:1]  # noqa: E731 - u only
    p = _points(seed=11)
    nu = 0.07
    got = _residual(theory, field, p, nu)
    u_of = jax.jit(jax.vmap(field))
    fd = {key: _fd(u_of, p, 0, key) for key in ("D(u, t)", "D(u, x)", "D(u, x, 2)")}
    u = np.asarray(u_of(jnp.asarray(p)))[:, 0]
    by_fd = fd["D(u, t)"] + u * fd["D(u, x)"] - nu * fd["D(u, x, 2)"]
    np.testing.assert_allclose(got, by_fd, rtol=0, atol=1e-6)
    x, t = p[:, 0], p[:, 1]
    exact = (
        analytic("D(u, t)", x, t)
        + analytic("u", x, t) * analytic("D(u, x)", x, t)
        - nu * analytic("D(u, x, 2)", x, t)
    )
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-12)
    residual, _ = theory.residual_of(theory.constraints[0])
    by_numpy = residual.to_numpy()(
        {"u": u, "nu": nu, **{k: analytic(k, x, t) for k in ("D(u, t)", "D(u, x)", "D(u, x, 2)")}}
    )
    np.testing.assert_allclose(by_numpy, exact, rtol=1e-12, atol=1e-12)


# -- symbolic derivatives ----------------------------------------------------------------------
def test_diff_of_a_polynomial_and_sine():
    e = Expression("x**3 + sin(x)")
    x = np.linspace(-2.0, 2.0, 9)
    np.testing.assert_allclose(e.diff("x").evaluate({"x": x}), 3 * x**2 + np.cos(x), rtol=1e-14)
    np.testing.assert_allclose(e.diff("x", 2).evaluate({"x": x}), 6 * x - np.sin(x), atol=1e-14)
    np.testing.assert_allclose(e.diff("x", 3).evaluate({"x": x}), 6 - np.cos(x), rtol=1e-14)


def test_diff_partial_derivative_and_jax_backend(x64):
    e = Expression("x*y**2 + exp(x*y)")
    rng = np.random.default_rng(2)
    values = {"x": rng.uniform(-1, 1, 10), "y": rng.uniform(-1, 1, 10)}
    x, y = values["x"], values["y"]
    expected = 2 * x * y + x * np.exp(x * y)
    d = e.diff("y")
    np.testing.assert_allclose(d.evaluate(values), expected, rtol=1e-13)
    np.testing.assert_allclose(d.to_jax()(values), expected, rtol=1e-13)


def test_diff_holds_derivative_symbols_fixed():
    d = Expression("u*D(u, x) + u**2").diff("u")
    values = {"u": np.array([1.0, 2.0]), "D(u, x)": np.array([5.0, -1.0])}
    np.testing.assert_allclose(d.evaluate(values), values["D(u, x)"] + 2 * values["u"])


def test_diff_of_where_is_piecewise():
    d = Expression("where(x > 0, x**2, -x)").diff("x")
    np.testing.assert_allclose(d.evaluate({"x": np.array([-1.0, 0.5, 2.0])}), [-1.0, 1.0, 4.0])


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("max(x, 1)", [0.0, 2.0], [0.0, 1.0]),
        ("min(x, 1)", [0.0, 2.0], [1.0, 0.0]),
        ("abs(x) + max(2*x, 0)", [-1.0, 3.0], [-1.0, 3.0]),
    ],
)
def test_diff_of_min_and_max_can_be_evaluated(text, x, expected):
    """d/dx max(x, 1) is 0 below 1 and 1 above; the derivative must be evaluable."""
    d = Expression(text).diff("x")
    np.testing.assert_allclose(d.evaluate({"x": np.array(x)}), expected)


def test_diff_of_water_density_matches_finite_differences():
    relation = Relation("density", WATER_DENSITY, unit="kg/m^3", empirical=True)
    rho = relation.expression.to_numpy()
    d_rho = relation.expression.diff("T")
    T = np.linspace(0.5, 35.0, 12)
    h = 1e-4
    fd = (rho({"T": T + h}) - rho({"T": T - h})) / (2 * h)
    np.testing.assert_allclose(d_rho.evaluate({"T": T}), fd, rtol=1e-6, atol=1e-9)
    # the density is largest at 3.9863 degC: the slope vanishes there and changes sign
    assert abs(float(d_rho.evaluate({"T": 3.9863}))) < 1e-12
    assert float(d_rho.evaluate({"T": 2.0})) > 0 > float(d_rho.evaluate({"T": 6.0}))
    d2 = relation.expression.diff("T", 2).evaluate({"T": T})
    fd2 = (rho({"T": T + 1e-3}) - 2 * rho({"T": T}) + rho({"T": T - 1e-3})) / 1e-6
    np.testing.assert_allclose(d2, fd2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "text", ["x + log(0)", "x*log(0)", "x/(y - y)", "x*(x - x)**-1", "x*arccos(2)", "sqrt(-2)*x"]
)
def test_non_finite_constant_parts_are_refused(text):
    """A constant part that is infinite or complex is refused when the expression is built."""
    with pytest.raises(TheoryError, match="constant part that is infinite, undefined or complex"):
        Expression(text)


def test_diff_with_respect_to_an_unused_name():
    with pytest.raises(TheoryError, match=r"'x\*\*3'.*'y': it does not use that name"):
        Expression("x**3").diff("y")
    with pytest.raises(TheoryError, match="'pi'"):
        Expression("pi*x").diff("pi")


@pytest.mark.parametrize("order", [0, -1, 1.5, "2", None, True])
def test_diff_with_a_bad_order(order):
    with pytest.raises(TheoryError, match="order of diff\\(\\) must be a positive integer"):
        Expression("x**3").diff("x", order)


# -- CompiledExpression ------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["to_numpy", "to_jax"])
def test_missing_values_are_named(backend):
    f = getattr(Expression("a*x + b"), backend)()
    with pytest.raises(DataError) as info:
        f({"a": 1.0, "other": 2.0})
    message = str(info.value)
    assert "'a*x + b'" in message
    assert "'b', 'x'" in message
    assert "'a', 'other'" in message
    assert isinstance(info.value, ValueError)


def test_missing_derivative_value_is_named():
    f = Expression("D(u, t) + u*D(u, x)").to_numpy()
    assert f.names == ("D(u, t)", "D(u, x)", "u")
    with pytest.raises(DataError, match=r"'D\(u, x\)'"):
        f({"u": 1.0, "D(u, t)": 2.0})


def test_no_values_given():
    with pytest.raises(DataError, match="got values for nothing"):
        Expression("x").evaluate({})


@pytest.mark.parametrize("backend", ["to_numpy", "to_jax"])
@pytest.mark.parametrize(
    ("value", "got"),
    [
        ("abc", "got str 'abc'"),
        ("2.5", "got str '2.5'"),  # text that looks like a number is still text
        (None, "got None"),
        (pd.Series(["u", "v", "w"]), "got Series of dtype object holding str 'u'"),
        (np.array(["u", "v", "w"]), "got ndarray of dtype <U1"),
        (np.array([1.0, {"k": 1}, 2.0], dtype=object), "holding dict {'k': 1}"),
        (1 + 2j, "got complex (1+2j)"),
        (pd.Series(pd.to_datetime(["2020-01-01"] * 3)), "got Series of dtype datetime64"),
        ([[1.0], [1.0, 2.0]], "got list that NumPy cannot make an array of"),
    ],
)
def test_non_numeric_values_are_named(backend, value, got):
    f = getattr(Expression("a*x + b"), backend)()
    with pytest.raises(DataError) as info:
        f({"a": value, "x": np.ones(3), "b": 1.0})
    message = str(info.value)
    assert "expression 'a*x + b'" in message
    assert "the value of 'a' must be numeric (a number or an array of numbers)" in message
    assert got in message, f"{got!r} missing from: {message}"


@pytest.mark.parametrize("backend", ["to_numpy", "to_jax"])
def test_missing_values_in_numeric_and_object_arrays_are_nan(backend):
    f = getattr(Expression("a + x"), backend)()
    x = np.zeros(3)
    for a in (
        [1.0, None, True],
        np.array([1.0, None, 3], dtype=object),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series([1.0, pd.NA, 3.0], dtype=object),
    ):
        out = np.asarray(f({"a": a, "x": x}))
        assert np.isnan(out[1]) and out[[0, 2]].tolist() == [1.0, float(a[2])]


@pytest.mark.parametrize("backend", ["to_numpy", "to_jax"])
def test_values_of_shapes_that_do_not_broadcast_are_named(backend):
    f = getattr(Expression("a*x + b"), backend)()
    with pytest.raises(DataError) as info:
        f({"a": np.ones(3), "b": 1.0, "x": np.ones(4)})
    message = str(info.value)
    assert "expression 'a*x + b'" in message
    assert "shapes that broadcast together (equal, or 1 along each axis where they differ)" in (
        message
    )
    assert "got 'x' of shape (4,), which does not broadcast with shape (3,) (of 'a', 'b')" in (
        message
    )


def test_jax_arrays_and_tracers_pass_the_value_checks(x64):
    f = Expression("a*x**2").to_jax()
    x = jnp.arange(3.0)
    np.testing.assert_allclose(jax.jit(f)({"a": 2.0, "x": x}), [0.0, 2.0, 8.0])
    assert float(jax.grad(lambda a: f({"a": a, "x": 3.0}))(2.0)) == pytest.approx(9.0)
    with pytest.raises(DataError, match=r"got 'x' of shape \(4,\)"):
        jax.jit(f)({"a": jnp.ones(3), "x": jnp.ones(4)})


@pytest.mark.parametrize("backend", ["to_numpy", "to_jax"])
def test_broadcasting_of_constants_and_scalars(backend):
    def run(text, values):
        return np.asarray(getattr(Expression(text), backend)()(values))

    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(run("a*x + 1", {"a": 2.0, "x": x}), 2 * x + 1, rtol=1e-6)
    assert run("where(x > 0, 1, 2)", {"x": x}).tolist() == [2.0, 1.0, 1.0]
    assert run("max(x, 0.25)", {"x": x}).shape == (3,)
    assert run("a + x", {"a": np.ones((2, 1)), "x": x}).shape == (2, 3)
    assert run("a + 1", {"a": 3.0}).shape == ()
    constant = run("2*pi", {})
    assert constant.shape == () and float(constant) == pytest.approx(2 * math.pi, rel=1e-6)
    assert run("2*pi", {"x": x, "unused": 1.0}).shape == ()  # unused values are ignored


@pytest.mark.parametrize("text", ["x - x", "0*x + 3", "sign(exp(x))", "where(x > 0, 1, 1)"])
def test_expression_that_simplifies_to_a_constant_keeps_the_shape_of_its_input(text):
    """sympy folds these to a number; the values of x must still set the output shape."""
    x = np.array([-1.0, 0.5, 2.0])
    out = Expression(text).evaluate({"x": x})
    assert np.shape(out) == x.shape


def test_where_inside_a_comparison_compiles():
    e = Expression("where(where(x > 0, x, y) > 1, 1, 0)")
    values = {"x": np.array([-0.5, 0.5, 2.0, -1.0]), "y": np.array([2.0, 5.0, 0.0, 0.0])}
    np.testing.assert_allclose(e.evaluate(values), [1.0, 0.0, 1.0, 0.0])


def test_unknown_backend_is_refused():
    with pytest.raises(TheoryError, match="backend must be 'numpy' or 'jax'"):
        CompiledExpression(Expression("x").sympy, "torch")


def test_theory_relation_compiles_with_both_backends(x64):
    theory = Theory(
        variables=[Variable("T", "degC")],
        relations=[Relation("density", WATER_DENSITY, unit="kg/m^3", empirical=True)],
    )
    rho = theory.expression_of("density")
    T = np.linspace(0.0, 30.0, 7)
    np.testing.assert_allclose(rho.to_jax()({"T": T}), rho.to_numpy()({"T": T}), rtol=1e-13)
