"""A physicist's review of the theory language: contradictions, compilation, display.

Each test pins down a defect found in review: a contradictory or vacuous constraint
that was accepted, a JAX gradient that came out NaN, a NumPy and a JAX compilation
that disagreed, a text view that lost what the theory says.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tgds.exceptions import TheoryError
from tgds.theory import (
    Bounds,
    Expression,
    Invariance,
    Monotonic,
    Parameter,
    Permutation,
    Reflection,
    Rotation,
    Scaling,
    Shape,
    Theory,
    Translation,
    Variable,
)


@pytest.fixture(autouse=True)
def x64() -> Iterator[None]:
    """Finite differences need float64; the previous mode is restored afterwards."""
    with jax.enable_x64(True):
        yield


# -- gradients through where() ---------------------------------------------------------------
WHERES = [
    "where(x > 0, sqrt(x), 0)",
    "where(x > 1, log(x - 1), where(x >= 0, sqrt(x), -x))",
    "where(x < y, x*y, sqrt(x - y))",
    "y*where(x > 0, x**0.5, arcsin(x))",
]


@pytest.mark.parametrize("text", WHERES)
def test_jax_gradient_through_where_ignores_the_branch_not_taken(text: str) -> None:
    """The jnp.where trap: a branch not taken (sqrt of a negative number) must not turn
    the gradient into NaN; it must equal the symbolic derivative of the branch taken."""
    f = Expression(text).to_jax()
    grad = jax.vmap(jax.grad(lambda x, y: f({"x": x, "y": y}), argnums=(0, 1)))
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-3, 3, 200), [-1.0, -0.5, 0.0, 1.0, 2.0, 3.0]])
    y = np.concatenate([rng.uniform(-3, 3, 200), [0.0, 0.5, 0.0, 1.0, 2.0, 3.0]])
    gx, gy = (np.asarray(g) for g in grad(jnp.asarray(x), jnp.asarray(y)))
    e = Expression(text)
    with np.errstate(all="ignore"):
        want_x, want_y = (
            e.diff(n).to_numpy()({"x": x, "y": y}) if n in e.names else np.zeros_like(x)
            for n in ("x", "y")
        )
    finite = np.isfinite(want_x) & np.isfinite(want_y)
    assert finite.sum() > 100
    np.testing.assert_allclose(gx[finite], want_x[finite], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gy[finite], want_y[finite], rtol=1e-9, atol=1e-12)


def test_jax_gradient_through_where_matches_finite_differences() -> None:
    f = Expression("where(x > 0, sqrt(x), x**2)").to_jax()
    grad = jax.grad(lambda x: f({"x": x}))
    for x in (-2.0, -0.3, 0.7, 4.0):
        h = 1e-6
        fd = (float(f({"x": x + h})) - float(f({"x": x - h}))) / (2 * h)
        assert float(grad(x)) == pytest.approx(fd, rel=1e-6)


def test_jax_second_derivative_through_where_is_finite() -> None:
    f = Expression("where(x > 0, sqrt(x), x**3)").to_jax()
    second = jax.grad(jax.grad(lambda x: f({"x": x})))
    assert float(second(-2.0)) == pytest.approx(-12.0)
    assert float(second(4.0)) == pytest.approx(-0.25 * 4.0**-1.5)


def test_where_values_unchanged_by_the_gradient_guard() -> None:
    text = "where(x > y, sqrt(x - y), where(x > 0, log(x), -x))"
    x = np.array([-1.0, 0.0, 0.5, 2.0, np.inf, -np.inf, np.nan, 3.0])
    y = np.array([0.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, np.nan])
    with np.errstate(all="ignore"):
        a = Expression(text).to_numpy()({"x": x, "y": y})
    b = np.asarray(Expression(text).to_jax()({"x": jnp.asarray(x), "y": jnp.asarray(y)}))
    np.testing.assert_array_equal(a, b)


# -- NumPy and JAX agree ---------------------------------------------------------------------
@pytest.mark.parametrize("text", ["x**0.5", "y*x**0.5", "sqrt(x)", "x**1.5", "x**(-0.5)"])
def test_numpy_and_jax_agree_on_powers_at_infinities(text: str) -> None:
    """``x**0.5`` is ``sqrt(x)``: NaN at -inf in both backends (not +inf in JAX)."""
    values = np.array([-np.inf, -2.0, -0.0, 0.0, 2.0, np.inf, np.nan])
    x, y = (a.ravel() for a in np.meshgrid(values, values))
    with np.errstate(all="ignore"):
        a = Expression(text).to_numpy()({"x": x, "y": y})
    b = np.asarray(Expression(text).to_jax()({"x": jnp.asarray(x), "y": jnp.asarray(y)}))
    np.testing.assert_array_equal(a, b)


# -- invariances -----------------------------------------------------------------------------
def _alternating(values: dict) -> np.ndarray:
    """A function odd under the exchange of any two of its variables."""
    names = sorted(values)
    out = np.ones_like(values[names[0]])
    for a, b in itertools.combinations(names, 2):
        out = out * (values[b] - values[a])
    return out


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_permutation_with_output_scale_minus_one_is_antisymmetry(n: int) -> None:
    """With ``output_scale=-1`` every image must be an odd permutation: an even one (a
    3-cycle) would demand ``f(Tx) = -f(x)`` of a function that satisfies ``f(Tx) = f(x)``."""
    names = [f"x{i}" for i in range(n)]
    c = Invariance(Permutation(names), output_scale=-1.0)
    values = dict(zip(names, np.random.default_rng(n).normal(size=(n, 50)), strict=True))
    f = _alternating(values)
    images = c.transform.images(values)
    for image in images:
        np.testing.assert_allclose(_alternating({**values, **image}), c.output_scale * f)
    # the images still generate every permutation: a symmetric function is still invariant
    symmetric = sum(values.values()) ** 2 + np.prod(list(values.values()), axis=0)
    for image in images:
        moved = {**values, **image}
        np.testing.assert_allclose(
            sum(moved.values()) ** 2 + np.prod(list(moved.values()), axis=0), symmetric
        )


def test_permutation_images_generate_the_symmetric_group() -> None:
    names = ("a", "b", "c", "d", "e")
    images = Permutation(names).images({v: v for v in names})
    perms = [tuple(img.get(v, v) for v in names) for img in images]
    group = {names}
    while True:
        grown = group | {tuple(p[names.index(x)] for x in g) for g in group for p in perms}
        if grown == group:
            break
        group = grown
    assert len(group) == 120


@pytest.mark.parametrize(
    "transform",
    [Reflection("x"), Permutation(("x", "y")), Rotation(("x", "y"), angle=0.5)],
)
def test_output_scale_of_a_finite_or_compact_symmetry_must_be_plus_or_minus_one(transform) -> None:
    """``f(Tx) = 2 f(x)`` with ``T`` a reflection gives ``f = T(T f) = 4 f``: only f = 0."""
    with pytest.raises(TheoryError, match=r"output_scale .*1 or -1.*got 2") as info:
        Invariance(transform, output_scale=2.0)
    assert transform.kind in str(info.value)
    Invariance(transform, output_scale=-1.0)  # odd functions are fine


@pytest.mark.parametrize("transform", [Translation("x", 1.0), Scaling("x", 2.0)])
def test_output_scale_zero_is_refused(transform) -> None:
    with pytest.raises(TheoryError, match=r"output_scale.*non-zero.*got 0"):
        Invariance(transform, output_scale=0.0)
    Invariance(transform, output_scale=4.0)  # homogeneity, growth per period: allowed


# -- vacuous or contradictory monotonicity and shape -----------------------------------------
@pytest.mark.parametrize("cls", [Monotonic, Shape])
def test_grouping_by_wrt_is_refused(cls) -> None:
    """Within one value of ``wrt`` there is nothing to compare: the constraint says nothing."""
    with pytest.raises(TheoryError, match=r"'within' lists 'x', the variable of 'wrt'"):
        cls("u", wrt="x", within=("site", "x"))


# -- the text view says everything the theory says -------------------------------------------
@pytest.fixture
def detailed() -> Theory:
    return Theory(
        [
            Variable("x", "m", bounds=(0, 0.123456789)),
            Variable("y", "m", bounds=(-1, 1)),
            Variable("site", role="group"),
            Variable("u", "m", role="target"),
        ],
        parameters=[Parameter("k", "1", value=6.02214076e23)],
        constraints=[
            Shape("u", "x", within="site"),
            Invariance(Reflection("x", about=0.05), quantity="u", output_scale=-1),
            Invariance(Translation(("x", "y"), (0.5, 0.25))),
            Invariance(Scaling("x", 2.0), output_scale=4),
            Invariance(Rotation(("x", "y"), angle=0.5)),
            Invariance(Permutation(("x", "y"))),
            Bounds("u", lower=0.1234567891),
        ],
    )


def test_text_view_keeps_the_transform_of_an_invariance(detailed: Theory) -> None:
    text = str(detailed)
    assert "u scaled by -1 under reflection of x about 0.05" in text
    assert "the prediction invariant under translation of x, y by 0.5, 0.25" in text
    assert "the prediction scaled by 4 under scaling of x by 2" in text
    assert "the prediction invariant under rotation of x, y by 0.5 rad" in text
    assert "the prediction invariant under permutation of x, y" in text


def test_text_view_keeps_the_groups_of_a_shape(detailed: Theory) -> None:
    assert "u convex in x within each site" in str(detailed)


def test_text_view_keeps_every_digit_of_a_number(detailed: Theory) -> None:
    text = str(detailed)
    assert re.search(r"^  x +input +m +\[0, 0\.123456789\]", text, re.M)
    assert re.search(r"^  k +1 +6\.02214076e\+23", text, re.M)
    assert "0.1234567891 <= u <= inf" in text


def test_short_numbers_stay_short() -> None:
    assert Bounds("u", lower=0.0, upper=10.0).describe() == "0 <= u <= 10"
    assert Bounds("u", upper=1e6).describe() == "-inf <= u <= 1e+06"


@pytest.mark.parametrize("bounds", [{1.0, 2.0}, {"low": 1.0, "high": 2.0}])
def test_bounds_without_an_order_are_a_theory_error(bounds) -> None:
    # a set has no first element (it raised a bare TypeError); a dict's are its keys
    with pytest.raises(TheoryError, match=r"variable 'x' bounds must be a pair \(low, high\)"):
        Variable("x", "m", bounds=bounds)
