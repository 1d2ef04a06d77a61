"""Construction-time validation, immutability, accessors and views of ``tgds.theory.Theory``.

Every refused construction is checked for an error message that names the offending
thing, what was expected and what was received.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from tgds.exceptions import TheoryError, UnitError
from tgds.theory import (
    Bounds,
    Equation,
    HalfNormal,
    Interactions,
    Invariance,
    LogNormal,
    Monotonic,
    Normal,
    Parameter,
    Permutation,
    PhysicsModel,
    Reflection,
    Relation,
    Rotation,
    Scaling,
    Shape,
    Theory,
    Translation,
    Uniform,
    Variable,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DENSITY = "1000*(1 - (T + 288.9414)*(T - 3.9863)**2/(508929.2*(T + 68.12963)))"


def message(excinfo: pytest.ExceptionInfo) -> str:
    return str(excinfo.value)


def assert_mentions(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, f"message {text!r} does not mention {missing}"


def xy(**extra: object) -> list[Variable]:
    """An input ``x`` [m] and a target ``y`` [s]."""
    return [Variable("x", "m"), Variable("y", "s", role="target", **extra)]


@pytest.fixture(scope="module")
def lake() -> Theory:
    return Theory.from_toml(EXAMPLES / "lake.toml")


@pytest.fixture(scope="module")
def burgers() -> Theory:
    return Theory.from_toml(EXAMPLES / "burgers.toml")


@pytest.fixture(scope="module")
def lotka_volterra() -> Theory:
    return Theory.from_toml(EXAMPLES / "lotka_volterra.toml")


# -- names ----------------------------------------------------------------------------------
MAKERS = {
    "variable": lambda name: Variable(name),
    "parameter": lambda name: Parameter(name),
    "relation": lambda name: Relation(name, "1"),
}


@pytest.mark.parametrize("owner", sorted(MAKERS))
@pytest.mark.parametrize("name", ["1x", "a-b", "a b", "", "Tüte", "x.y"])
def test_name_must_be_an_ascii_identifier(owner: str, name: str) -> None:
    with pytest.raises(TheoryError) as err:
        MAKERS[owner](name)
    assert_mentions(message(err), owner, "identifier", repr(name))


@pytest.mark.parametrize("owner", sorted(MAKERS))
def test_name_must_not_start_with_underscore(owner: str) -> None:
    with pytest.raises(TheoryError) as err:
        MAKERS[owner]("_hidden")
    assert_mentions(message(err), owner, "'_hidden'", "must not start with '_'")


def test_name_length_is_limited() -> None:
    Variable("a" * 64)
    with pytest.raises(TheoryError) as err:
        Variable("a" * 65)
    assert_mentions(message(err), "variable name", "64 characters")


@pytest.mark.parametrize("owner", sorted(MAKERS))
@pytest.mark.parametrize("name", ["exp", "D", "pi", "where", "log10", "max"])
def test_reserved_names_are_refused(owner: str, name: str) -> None:
    with pytest.raises(TheoryError) as err:
        MAKERS[owner](name)
    assert_mentions(message(err), owner, repr(name), "reserved")


def test_non_string_name_is_refused() -> None:
    with pytest.raises(TheoryError) as err:
        Variable(3)  # type: ignore[arg-type]
    assert_mentions(message(err), "variable name", "identifier", "got 3")


@pytest.mark.parametrize("name", ["lambda", "None", "class"])
def test_python_keywords_are_refused_as_names(name: str) -> None:
    # A keyword passes str.isidentifier() but can never appear in an expression
    # ("lambda*x" is a syntax error), so it must be refused when the name is declared.
    with pytest.raises(TheoryError) as err:
        Parameter(name, value=1.0)
    assert_mentions(message(err), "parameter", repr(name))


@pytest.mark.parametrize(
    ("kwargs", "first", "second"),
    [
        ({"variables": [Variable("x"), Variable("x", role="target")]}, "variable", "variable"),
        ({"variables": [Variable("x")], "parameters": [Parameter("x")]}, "variable", "parameter"),
        ({"variables": [Variable("x")], "relations": {"x": "2"}}, "variable", "relation"),
        (
            {"variables": [Variable("x")], "parameters": [Parameter("k")], "relations": {"k": "x"}},
            "parameter",
            "relation",
        ),
    ],
)
def test_duplicate_names_are_refused(kwargs: dict, first: str, second: str) -> None:
    with pytest.raises(TheoryError) as err:
        Theory(**kwargs)
    name = "'k'" if "k" in {p.name for p in kwargs.get("parameters", [])} else "'x'"
    assert_mentions(message(err), name, "used twice", f"by a {first} and by a {second}")


def test_relation_key_must_match_its_name() -> None:
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], relations={"a": Relation("b", "x")})
    assert_mentions(message(err), "'a'", "'b'")


def test_theory_needs_a_variable() -> None:
    with pytest.raises(TheoryError, match="at least one variable"):
        Theory([])


def test_theory_parts_must_have_the_right_type() -> None:
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x"), "y"])  # type: ignore[list-item]
    assert_mentions(message(err), "variables", "Variable", "str")
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], constraints=["x > 0"])  # type: ignore[list-item]
    assert_mentions(message(err), "constraints", "AbstractConstraint", "str")
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], physics_model={"outputs": {}})  # type: ignore[arg-type]
    assert_mentions(message(err), "physics_model", "PhysicsModel", "dict")
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], name=3)  # type: ignore[arg-type]
    assert_mentions(message(err), "name", "string", "int")


# -- roles, bounds, units -------------------------------------------------------------------
def test_bad_role_lists_the_allowed_roles() -> None:
    with pytest.raises(TheoryError) as err:
        Variable("x", role="output")
    assert_mentions(message(err), "variable 'x' role", "'input'", "'target'", "'group'", "'time'")
    assert_mentions(message(err), "got 'output'")


@pytest.mark.parametrize("bounds", [(2.0, 1.0), (1, 1), (math.inf, math.inf)])
def test_bounds_out_of_order(bounds: tuple) -> None:
    with pytest.raises(TheoryError) as err:
        Variable("x", "m", bounds=bounds)
    assert_mentions(message(err), "variable 'x' bounds", "out of order", f"low {float(bounds[0])}")


@pytest.mark.parametrize("bounds", [(math.nan, 1.0), (0.0, math.nan)])
def test_bounds_must_not_be_nan(bounds: tuple) -> None:
    with pytest.raises(TheoryError) as err:
        Variable("x", bounds=bounds)
    assert_mentions(message(err), "variable 'x' bounds", "finite number", "nan")


@pytest.mark.parametrize("bounds", [(1.0, 2.0, 3.0), (1.0,), "ab", 5])
def test_bounds_must_be_a_pair(bounds: object) -> None:
    with pytest.raises(TheoryError) as err:
        Variable("x", bounds=bounds)  # type: ignore[arg-type]
    assert_mentions(message(err), "variable 'x' bounds", "pair (low, high)", repr(bounds))


def test_bounds_must_hold_numbers() -> None:
    with pytest.raises(TheoryError) as err:
        Variable("x", bounds=("0", 1))  # type: ignore[arg-type]
    assert_mentions(message(err), "variable 'x' bounds low", "must be a number", "str")


def test_open_bounds_are_normalised_to_infinity() -> None:
    assert Variable("x", bounds=(None, 1)).bounds == (-math.inf, 1.0)
    assert Variable("x", bounds=[0, None]).bounds == (0.0, math.inf)
    assert Variable("x", bounds=(-math.inf, math.inf)).bounds == (-math.inf, math.inf)


def test_parameter_value_outside_bounds() -> None:
    with pytest.raises(TheoryError) as err:
        Parameter("k", "1/s", value=5, bounds=(0, 1))
    assert_mentions(message(err), "parameter 'k'", "value 5.0", "outside", "(0.0, 1.0)")
    assert Parameter("k", "1/s", value=1, bounds=(0, 1)).value == 1.0


def test_parameter_value_must_be_finite() -> None:
    with pytest.raises(TheoryError) as err:
        Parameter("k", value=math.nan)
    assert_mentions(message(err), "parameter 'k' value", "finite", "nan")


def test_parameter_refuses_offset_temperature_unit() -> None:
    with pytest.raises(TheoryError) as err:
        Parameter("T0", "degC", value=4.0)
    assert_mentions(message(err), "parameter 'T0'", "'degC'", "offset temperature", "'K'")


@pytest.mark.parametrize(
    ("make", "owner"),
    [
        (lambda u: Variable("x", u), "variable 'x' unit"),
        (lambda u: Parameter("k", u), "parameter 'k' unit"),
        (lambda u: Relation("r", "1", unit=u), "relation 'r' unit"),
    ],
)
def test_unknown_unit_is_refused(make, owner: str) -> None:
    with pytest.raises(TheoryError) as err:
        make("furlongz")
    assert_mentions(message(err), owner, "'furlongz'", "not a unit pint understands")


def test_unit_must_be_a_string() -> None:
    with pytest.raises(TheoryError) as err:
        Variable("x", 3)  # type: ignore[arg-type]
    assert_mentions(message(err), "variable 'x' unit", "unit string", "int 3")


@pytest.mark.parametrize(
    ("prior", "words"),
    [
        (lambda: Normal(0.0, 0.0), ("Normal prior scale", "positive", "0.0")),
        (lambda: LogNormal(math.inf, 1.0), ("LogNormal prior loc", "finite", "inf")),
        (lambda: HalfNormal(-1.0), ("HalfNormal prior scale", "positive", "-1.0")),
        (lambda: Uniform(1.0, 0.0), ("Uniform prior limits", "out of order")),
        (lambda: Uniform(0.0, math.inf), ("Uniform prior limits", "finite")),
    ],
)
def test_bad_priors_are_refused(prior, words: tuple[str, ...]) -> None:
    with pytest.raises(TheoryError) as err:
        prior()
    assert_mentions(message(err), *words)


def test_parameter_prior_must_be_a_prior() -> None:
    with pytest.raises(TheoryError) as err:
        Parameter("k", prior={"distribution": "normal"})  # type: ignore[arg-type]
    assert_mentions(message(err), "parameter 'k' prior", "Normal, LogNormal, HalfNormal or Uniform")


@pytest.mark.parametrize(
    ("parameter", "words"),
    [
        (
            lambda: Parameter("k", bounds=(-2.0, -1.0), prior=LogNormal(0.0, 1.0)),
            (
                "parameter 'k'",
                "LogNormal",
                "(0.0, inf)",
                "does not overlap its bounds (-2.0, -1.0)",
            ),
        ),
        (
            lambda: Parameter("k", bounds=(None, 0.0), prior=HalfNormal(1.0)),
            ("parameter 'k'", "HalfNormal", "does not overlap its bounds (-inf, 0.0)"),
        ),
        (
            lambda: Parameter("k", bounds=(2.0, 3.0), prior=Uniform(0.0, 1.0)),
            ("parameter 'k'", "(0.0, 1.0)", "does not overlap its bounds (2.0, 3.0)"),
        ),
        (
            lambda: Parameter("k", value=-0.5, prior=LogNormal(0.0, 1.0)),
            ("parameter 'k'", "LogNormal", "does not hold its value -0.5"),
        ),
        (
            lambda: Parameter("k", value=1.5, prior=Uniform(0.0, 1.0)),
            ("parameter 'k'", "does not hold its value 1.5", "change the value or the prior"),
        ),
    ],
)
def test_prior_contradicting_bounds_or_value_is_refused(parameter, words) -> None:
    with pytest.raises(TheoryError) as err:
        parameter()
    assert_mentions(message(err), *words)


def test_prior_overlapping_bounds_is_kept() -> None:
    # a prior wider than the bounds, or touching them only partly, is truncated, not contradictory
    assert Parameter("k", bounds=(-1.0, 1.0), prior=Normal(5.0, 1.0)).prior == Normal(5.0, 1.0)
    assert Parameter("k", bounds=(0.5, 2.0), prior=Uniform(0.0, 1.0)).bounds == (0.5, 2.0)
    assert Parameter("k", bounds=(-1.0, 1.0), value=0.0, prior=HalfNormal(1.0)).value == 0.0


# -- constraints on names -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("constraint", "name"),
    [
        (Bounds("z", 0.0, 1.0), "'z'"),
        (Monotonic("density", wrt="x"), "'density'"),
        (Monotonic("y", wrt="depth"), "'depth'"),
        (Shape("y", wrt="w"), "'w'"),
        (Invariance(Reflection("q")), "'q'"),
        (Interactions([["x", "v"]]), "'v'"),
    ],
)
def test_constraint_on_unknown_quantity(constraint, name: str) -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[constraint])
    assert_mentions(message(err), f"constraint {constraint.label!r}", f"refers to {name}")
    assert_mentions(message(err), "not a variable or relation", "known: x, y")


def test_constraint_on_a_parameter_is_refused() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), parameters=[Parameter("k")], constraints=[Bounds("k", upper=1.0)])
    assert_mentions(message(err), "refers to 'k'", "not a variable or relation", "known: x, y")


def test_constraint_on_a_group_variable_is_refused() -> None:
    with pytest.raises(TheoryError) as err:
        Theory([*xy(), Variable("g", role="group")], constraints=[Bounds("g", upper=1.0)])
    assert_mentions(message(err), "'g'", "grouping variable", "not a quantity")


@pytest.mark.parametrize("wrt", ["y", "g"])
def test_monotonic_wrt_must_be_an_input(wrt: str) -> None:
    theory_vars = [*xy(), Variable("g", role="group")]
    with pytest.raises(TheoryError) as err:
        Theory(theory_vars, constraints=[Monotonic("y", wrt=wrt)])
    assert_mentions(message(err), f"constraint 'y increasing with {wrt}'", f"{wrt!r}")
    assert_mentions(message(err), "must be an input variable", "'input' or 'time'")


@pytest.mark.parametrize(("wrt", "role"), [("y", "target"), ("g", "group")])
def test_role_error_names_the_actual_role(wrt: str, role: str) -> None:
    # The message must say what was received in the user's vocabulary (the variable's
    # role), not internal binding kinds ("it is a field", "it is a other").
    theory_vars = [*xy(), Variable("g", role="group")]
    with pytest.raises(TheoryError) as err:
        Theory(theory_vars, constraints=[Monotonic("y", wrt=wrt)])
    assert re.search(rf"\b{role}\b", message(err)), message(err)


def test_monotonic_with_time_wrt_is_accepted() -> None:
    t = Theory([Variable("t", "s", role="time"), *xy()], constraints=[Monotonic("y", wrt="t")])
    assert t.constraints[0].wrt == "t"


def test_within_names_an_unknown_variable() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[Monotonic("y", wrt="x", within="day")])
    assert_mentions(message(err), "refers to 'day'", "not a variable or relation", "known: x, y")


def test_within_must_be_a_group_or_input() -> None:
    variables = [*xy(), Variable("z", role="target")]
    with pytest.raises(TheoryError) as err:
        Theory(variables, constraints=[Monotonic("y", wrt="x", within="z")])
    assert_mentions(message(err), "'z'", "must be a grouping or input variable")


def test_bounds_without_limits_needs_variable_bounds() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[Bounds("y")])
    assert_mentions(message(err), "constraint 'y within its variable bounds'", "gives no limits")
    assert_mentions(message(err), "'y' must be a variable with bounds")
    with pytest.raises(TheoryError) as err:
        Theory(xy(), relations={"r": "2*x"}, constraints=[Bounds("r")])
    assert_mentions(message(err), "'r' must be a variable with bounds")
    ok = Theory(xy(bounds=(0, 1)), constraints=[Bounds("y")])
    assert ok.constraints == (Bounds("y"),)


def test_constraint_field_validation() -> None:
    with pytest.raises(TheoryError) as err:
        Monotonic("y", wrt="x", direction="up")
    assert_mentions(
        message(err), "monotonic direction of 'y'", "'increasing', 'decreasing'", "'up'"
    )
    with pytest.raises(TheoryError) as err:
        Shape("y", wrt="x", curvature="flat")
    assert_mentions(message(err), "shape curvature of 'y'", "'convex', 'concave'", "'flat'")
    with pytest.raises(TheoryError) as err:
        Bounds("y", lower=2.0, upper=1.0)
    assert_mentions(message(err), "bounds on 'y'", "out of order", "lower 2.0", "upper 1.0")
    with pytest.raises(TheoryError) as err:
        Scaling(["x"], factor=1.0)
    assert_mentions(message(err), "scaling factor", "positive and not 1", "1.0")
    with pytest.raises(TheoryError) as err:
        Rotation(("x", "z"), angle=2 * math.pi)
    assert_mentions(message(err), "rotation angle", "multiple of 2*pi")
    with pytest.raises(TheoryError) as err:
        Rotation(("x", "y", "z"), angle=1.0)
    assert_mentions(message(err), "exactly two variables", "['x', 'y', 'z']")
    with pytest.raises(TheoryError) as err:
        Translation(("x", "z"), shift=(1.0,))
    assert_mentions(message(err), "translation shift", "one number per variable", "['x', 'z']")
    with pytest.raises(TheoryError) as err:
        Permutation(("x", "x"))
    assert_mentions(message(err), "permutation variables", "lists a name twice")
    with pytest.raises(TheoryError) as err:
        Interactions([])
    assert_mentions(message(err), "interactions groups", "non-empty")
    with pytest.raises(TheoryError) as err:
        Invariance("reflection")  # type: ignore[arg-type]
    assert_mentions(
        message(err), "invariance transform", "Reflection", "Permutation", "'reflection'"
    )


# -- relations ------------------------------------------------------------------------------
def test_relation_cycle_is_refused() -> None:
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], relations={"a": "b + x", "b": "2*a"})
    assert_mentions(message(err), "a, b", "cycle")
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], relations={"a": "a + x"})
    assert_mentions(message(err), "a ", "cycle")


def test_relation_cycle_names_only_the_relations_in_the_cycle() -> None:
    # c depends on the cycle a <-> b but is not part of it; the message should not
    # claim that c "refers to each other in a cycle".
    with pytest.raises(TheoryError) as err:
        Theory([Variable("x")], relations={"a": "b + x", "b": "2*a", "c": "a"})
    assert_mentions(message(err), "a, b", "cycle")
    assert "c" not in message(err).split("refer")[0], message(err)


def test_relation_with_derivative_is_refused() -> None:
    with pytest.raises(TheoryError) as err:
        Relation("r", "D(y, x)")
    assert_mentions(message(err), "relation 'r'", "derivative D(...)", "Equation constraints")


def test_relation_with_unknown_name() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), relations={"r": "x + foo"})
    assert_mentions(message(err), "relation 'r'", "unknown name 'foo'", "knows: x, y")


def test_relation_dimension_mismatch() -> None:
    with pytest.raises(UnitError) as err:
        Theory(xy(), relations={"r": "x + y"})
    assert_mentions(message(err), "relation 'r'", "'x'", "'y'", "[length]", "[time]")
    with pytest.raises(UnitError) as err:
        Theory(xy(), relations=[Relation("r", "x", unit="s")])
    assert_mentions(message(err), "relation 'r'", "declared unit 's'", "[length]", "[time]")


def test_empirical_relation_needs_a_unit() -> None:
    with pytest.raises(TheoryError) as err:
        Relation("density", DENSITY, empirical=True)
    assert_mentions(message(err), "relation 'density'", "empirical", "unit")


def test_relation_expression_is_parsed_safely() -> None:
    with pytest.raises(TheoryError) as err:
        Relation("r", "x.__class__")
    assert_mentions(message(err), "relation 'r'", "attribute access")
    with pytest.raises(TheoryError) as err:
        Relation("r", 3)  # type: ignore[arg-type]
    assert_mentions(message(err), "relation 'r'", "expression string", "int")


# -- equations and invariances --------------------------------------------------------------
def test_equation_cannot_differentiate_an_input() -> None:
    variables = [Variable("x", "m"), Variable("t", "s"), Variable("y", "s", role="target")]
    with pytest.raises(TheoryError) as err:
        Theory(variables, constraints=[Equation("D(x, t) == 0")])
    assert_mentions(
        message(err), "equation", "'x' is an input variable", "target (output) variable"
    )


def test_equation_cannot_differentiate_with_respect_to_a_target() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[Equation("D(y, y) == 0")])
    assert_mentions(message(err), "equation", "'y'", "differentiate against", "input variable")


def test_equation_dimension_mismatch() -> None:
    with pytest.raises(UnitError) as err:
        Theory(xy(), constraints=[Equation("D(y, x) == y", name="bad")])
    assert_mentions(message(err), "equation 'bad'", "different dimensions", "[length]")


def test_equation_is_bound_in_the_theory(burgers: Theory) -> None:
    (equation,) = [c for c in burgers.constraints if isinstance(c, Equation)]
    residual, derivatives = burgers.residual_of(equation)
    assert {d.key for d in derivatives} == {"D(u, t)", "D(u, x)", "D(u, x, 2)"}
    values = {"u": 2.0, "nu": 0.5, "D(u, t)": 1.0, "D(u, x)": 3.0, "D(u, x, 2)": 4.0}
    assert residual.evaluate(values) == pytest.approx(1.0 + 2.0 * 3.0 - 0.5 * 4.0)
    with pytest.raises(TheoryError, match="not one of this theory's constraints"):
        burgers.residual_of(Equation("D(u, t) == 0"))


@pytest.mark.parametrize("transform", [Rotation(("x", "t"), 1.0), Permutation(("x", "t"))])
def test_rotation_and_permutation_need_one_unit(transform) -> None:
    variables = [Variable("x", "m"), Variable("t", "s"), Variable("y", role="target")]
    with pytest.raises(UnitError) as err:
        Theory(variables, constraints=[Invariance(transform)])
    assert_mentions(message(err), transform.kind, "different units", "x [m]", "t [s]")


def test_rotation_of_same_unit_is_accepted() -> None:
    variables = [Variable("x", "m"), Variable("z", "m"), Variable("y", role="target")]
    t = Theory(variables, constraints=[Invariance(Rotation(("x", "z"), 0.5), quantity="y")])
    assert t.constraints[0].transform.variables == ("x", "z")


def test_scaling_of_offset_temperature_is_refused() -> None:
    variables = [Variable("T", "degC"), Variable("y", role="target")]
    with pytest.raises(UnitError) as err:
        Theory(variables, constraints=[Invariance(Scaling(["T"], 2.0))])
    assert_mentions(message(err), "scaling", "offset temperature", "kelvin")


def test_invariance_transform_must_act_on_inputs() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[Invariance(Reflection("y"))])
    assert_mentions(message(err), "'y'", "must be an input variable")


# -- contradictions -------------------------------------------------------------------------
def test_contradictory_monotonic() -> None:
    constraints = [Monotonic("y", "x"), Monotonic("y", "x", "decreasing")]
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=constraints)
    assert_mentions(message(err), "contradictory", "'y'", "increasing", "decreasing", "'x'")


def test_repeated_monotonic_is_not_a_contradiction() -> None:
    group = Variable("g", role="group")
    t = Theory(
        [*xy(), group],
        constraints=[
            Monotonic("y", "x"),
            Monotonic("y", "x"),
            Monotonic("y", "x", "decreasing", within="g"),
        ],
    )
    assert len(t.constraints) == 3


def test_contradictory_monotonic_within_the_same_groups_in_another_order() -> None:
    # within=("a", "b") and within=("b", "a") group the rows identically.
    variables = [*xy(), Variable("a", role="group"), Variable("b", role="group")]
    constraints = [
        Monotonic("y", "x", within=("a", "b")),
        Monotonic("y", "x", "decreasing", within=("b", "a")),
    ]
    with pytest.raises(TheoryError, match="contradictory"):
        Theory(variables, constraints=constraints)


def test_contradictory_shape() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[Shape("y", "x"), Shape("y", "x", "concave")])
    assert_mentions(message(err), "contradictory", "'y'", "convex", "concave", "'x'")


@pytest.mark.parametrize("constraint", [Monotonic("x", "x", "decreasing"), Shape("x", "x")])
def test_a_quantity_constrained_along_itself_is_refused(constraint) -> None:
    with pytest.raises(TheoryError, match="constrains 'x' along itself"):
        Theory(xy(), constraints=[constraint])


def test_monotonic_and_shape_do_not_clash() -> None:
    t = Theory(xy(), constraints=[Monotonic("y", "x"), Shape("y", "x", "concave")])
    assert len(t.constraints) == 2


def test_bounds_disjoint_from_variable_bounds() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(bounds=(0, 1)), constraints=[Bounds("y", 2.0, 3.0)])
    assert_mentions(message(err), "contradictory", "[2, 3]", "'y'", "variable 'y' [0, 1]")


def test_two_disjoint_bounds() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), relations={"r": "2*x"}, constraints=[Bounds("r", 0.0, 1.0), Bounds("r", 2.0)])
    assert_mentions(message(err), "contradictory", "[2, inf]", "'r'", "already declared", "[0, 1]")


def test_bounds_that_only_touch_are_refused_as_such() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), constraints=[Bounds("y", 0.0, 5.0), Bounds("y", 5.0, 10.0)])
    assert_mentions(message(err), "contradictory", "[5, 10]", "[0, 5]", "only at 5", "no range")


def test_overlapping_bounds_are_accepted() -> None:
    t = Theory(xy(bounds=(0, 10)), constraints=[Bounds("y", 5.0, 20.0), Bounds("y", upper=7.0)])
    assert len(t.constraints) == 2


# -- physics model --------------------------------------------------------------------------
def test_physics_model_needs_exactly_one_form() -> None:
    with pytest.raises(TheoryError) as err:
        PhysicsModel()
    assert_mentions(message(err), "exactly one of outputs, rates or function", "got none")
    with pytest.raises(TheoryError) as err:
        PhysicsModel(outputs={"y": "x"}, rates={"y": "x"}, time="t")
    assert_mentions(message(err), "exactly one", "['outputs', 'rates']")
    with pytest.raises(TheoryError) as err:
        PhysicsModel(outputs={"y": "x"}, function=lambda X, p: X, targets=("y",))
    assert_mentions(message(err), "exactly one", "['outputs', 'function']")


def test_physics_model_field_rules() -> None:
    with pytest.raises(TheoryError) as err:
        PhysicsModel(rates={"y": "x"})
    assert_mentions(message(err), "rates", "needs time")
    with pytest.raises(TheoryError) as err:
        PhysicsModel(outputs={"y": "x"}, time="t")
    assert_mentions(message(err), "'time'", "only used with rates")
    with pytest.raises(TheoryError) as err:
        PhysicsModel(function=lambda X, p: X)
    assert_mentions(message(err), "function", "must list its targets")
    with pytest.raises(TheoryError) as err:
        PhysicsModel(outputs={})
    assert_mentions(message(err), "physics model outputs", "non-empty table")


def test_physics_model_must_predict_targets() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), physics_model=PhysicsModel(outputs={"x": "x"}))
    assert_mentions(message(err), "predicts 'x'", "not a target variable", "['y']")


def test_physics_model_time_must_be_an_input() -> None:
    with pytest.raises(TheoryError) as err:
        Theory(xy(), physics_model=PhysicsModel(rates={"y": "y"}, time="z"))
    assert_mentions(message(err), "time 'z'", "input or time variable", "['x']")


def test_physics_model_units_are_checked() -> None:
    with pytest.raises(UnitError) as err:
        Theory(xy(), physics_model=PhysicsModel(outputs={"y": "x"}))
    assert_mentions(message(err), "physics model outputs['y']", "[length]", "[time]")
    variables = [Variable("t", "s", role="time"), Variable("n", role="target")]
    with pytest.raises(UnitError) as err:
        Theory(
            variables,
            parameters=[Parameter("k")],
            physics_model=PhysicsModel(rates={"n": "k*n"}, time="t"),
        )
    assert_mentions(message(err), "physics model rates['n']", "dimensionless", "[time]")


def test_physics_model_expression_is_converted(lotka_volterra: Theory) -> None:
    rate = lotka_volterra.physics_expression_of("Hare")
    values = {"alpha": 1.0, "beta": 0.5, "Hare": 2.0, "Lynx": 3.0}
    assert rate.evaluate(values) == pytest.approx(2.0 - 0.5 * 2.0 * 3.0)
    with pytest.raises(TheoryError, match="no expression for 'Year'"):
        lotka_volterra.physics_expression_of("Year")


def test_physics_model_function_theory() -> None:
    pm = PhysicsModel(function=lambda X, p: X, targets="y")
    t = Theory(xy(), physics_model=pm)
    assert t.physics_model.predicted == ("y",)


# -- immutability, equality -----------------------------------------------------------------
def test_theory_is_frozen(lake: Theory) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        lake.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lake.variables = ()  # type: ignore[misc]
    assert isinstance(lake.variables, tuple)
    assert isinstance(lake.constraints, tuple)


@pytest.mark.parametrize(
    ("obj", "attr"),
    [
        (Variable("x", "m"), "unit"),
        (Parameter("k", value=1.0), "value"),
        (Relation("r", "2"), "expression"),
        (Bounds("y", 0.0, 1.0), "upper"),
        (Monotonic("y", "x"), "direction"),
        (Invariance(Reflection("x")), "output_scale"),
        (Reflection("x"), "about"),
        (PhysicsModel(outputs={"y": "x"}), "outputs"),
        (Normal(0.0, 1.0), "scale"),
    ],
)
def test_parts_are_frozen(obj: object, attr: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, attr, None)


def test_expression_is_immutable() -> None:
    rel = Relation("r", "2*x")
    with pytest.raises(AttributeError, match="immutable"):
        rel.expression.text = "3*x"  # type: ignore[misc]


def make_theory(description: str = "d") -> Theory:
    return Theory(
        [
            Variable("x", "m", bounds=(0, 1)),
            Variable("g", role="group"),
            Variable("y", "s", role="target"),
        ],
        parameters=[Parameter("k", "s/m", value=2.0)],
        relations={"r": "k*x"},
        constraints=[Monotonic("y", "x", within="g"), Bounds("r", upper=5.0)],
        physics_model=PhysicsModel(outputs={"y": "r"}),
        name="t",
        description=description,
    )


def test_equality_and_hash() -> None:
    a, b = make_theory(), make_theory()
    assert a is not b
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != make_theory("other")
    assert a != "not a theory"


def test_relations_as_mapping_or_list_are_equal() -> None:
    as_map = Theory(xy(), relations={"r": "2*x", "q": {"expression": "r", "unit": "km"}})
    as_list = Theory(xy(), relations=[Relation("r", "2*x"), Relation("q", "r", unit="km")])
    assert as_map == as_list
    assert as_map.relations == as_list.relations


# -- accessors ------------------------------------------------------------------------------
def test_roles(lake: Theory, burgers: Theory) -> None:
    assert lake.targets == ("Observed_temp",)
    assert lake.groups == ("DateTime",)
    assert lake.inputs[:3] == ("doy", "growing_deg_days", "Depth")
    assert "Observed_temp" not in lake.inputs and "DateTime" not in lake.inputs
    assert burgers.inputs == ("x", "t")  # time counts as an input, in declaration order
    assert burgers.names == ("x", "t", "u", "nu")


def test_lookup_errors_list_what_exists(lake: Theory, burgers: Theory) -> None:
    assert lake.variable("Depth").unit == "m"
    with pytest.raises(TheoryError) as err:
        lake.variable("depth")
    assert_mentions(message(err), "no variable 'depth'", "DateTime, doy", "Depth", "Observed_temp")
    with pytest.raises(TheoryError) as err:
        lake.parameter("nu")
    assert_mentions(message(err), "no parameter 'nu'", "its parameters are none")
    with pytest.raises(TheoryError) as err:
        burgers.parameter("mu")
    assert_mentions(message(err), "no parameter 'mu'", "its parameters are nu")
    with pytest.raises(TheoryError) as err:
        lake.relation("rho")
    assert_mentions(message(err), "no relation 'rho'", "its relations are density")
    with pytest.raises(TheoryError) as err:
        lake.unit_of("rho")
    assert_mentions(message(err), "no quantity 'rho'", "Depth", "density")


def test_unit_of() -> None:
    t = make_theory()
    assert str(t.unit_of("x").unit) == "meter"
    assert str(t.unit_of("k").unit) == "second / meter"
    assert t.unit_of("r").unit.dimensionality == t.unit_of("y").unit.dimensionality
    assert t.unit_of("r").offset is False
    lake = Theory.from_toml(EXAMPLES / "lake.toml")
    assert lake.unit_of("Observed_temp").offset is True
    assert str(lake.unit_of("density").unit) == "kilogram / meter ** 3"


def test_parameter_values() -> None:
    t = Theory(
        xy(),
        parameters=[
            Parameter("a", value=1),
            Parameter("b", bounds=(0, 1)),
            Parameter("c", value=0.0),
        ],
    )
    assert t.parameter_values() == {"a": 1.0, "c": 0.0}
    assert t.parameter("a").known and not t.parameter("b").known


def test_expression_of_evaluates_a_relation(lake: Theory) -> None:
    density = lake.expression_of("density")
    assert float(density.evaluate({"Observed_temp": 3.9863})) == pytest.approx(1000.0)
    values = density.evaluate({"Observed_temp": [0.0, 4.0, 20.0]})
    assert values[1] > values[0] > values[2]
    assert values[2] == pytest.approx(998.2, abs=0.1)
    with pytest.raises(TheoryError, match="no relation 'Depth'"):
        lake.expression_of("Depth")


def test_expression_of_inlines_relations_and_converts_units() -> None:
    t = Theory(
        [Variable("x", "m"), Variable("y", "s", role="target")],
        parameters=[Parameter("k", "1/s", value=3.0)],
        relations=[Relation("r", "2*x"), Relation("q", "r*k", unit="km/h")],
    )
    assert str(t.unit_of("q").unit) == "kilometer / hour"
    assert float(t.expression_of("q").evaluate({"x": 1.0, "k": 3.0})) == pytest.approx(6.0 * 3.6)


# -- views ----------------------------------------------------------------------------------
def test_text_view(lake: Theory, lotka_volterra: Theory, burgers: Theory) -> None:
    text = str(lake)
    assert text.startswith("Theory 'lake'\nWater temperature by date and depth")
    assert re.search(r"^  Depth +input +m +\[0, 25\.3\] +Depth below the surface", text, re.M)
    assert re.search(r"^  Observed_temp +target +degC +\[0, 40\]", text, re.M)
    assert re.search(r"^  DateTime +group +1 +Date of the profile", text, re.M)
    assert re.search(
        r"^  density +1000\*\(1 - .* +kilogram / meter \*\* 3 \(empirical\)$", text, re.M
    )
    assert "density increasing with Depth within each DateTime" in text
    assert re.search(
        r"^  bounds +liquid_water +Observed_temp within its variable bounds$", text, re.M
    )
    assert "Physics model (outputs):" in text
    assert re.search(r"^  Observed_temp +Modeled_temp$", text, re.M)
    lv = str(lotka_volterra)
    assert "Physics model (ODE in Year):" in lv
    assert re.search(r"^  Hare +alpha\*Hare - beta\*Hare\*Lynx$", lv, re.M)
    assert re.search(r"^  Hare +target +1 +\[0, inf\]", lv, re.M)
    assert re.search(r"^  alpha +1/year +\[0, inf\] +Normal\(loc=1\.0, scale=0\.5\)$", lv, re.M)
    assert "D(u, t) + u*D(u, x) == nu*D(u, x, 2)" in str(burgers)
    assert "u scaled by -1 under reflection of x" in str(burgers)


def test_repr_is_a_summary(lake: Theory) -> None:
    assert repr(lake) == (
        "<Theory 'lake': 14 variables, 0 parameters, 1 relations, 2 constraints, a physics model>"
    )


def test_html_view_escapes_text(lake: Theory) -> None:
    html = lake._repr_html_()
    assert "<table>" in html and "<th>name</th>" in html
    assert "<td>Depth</td><td>input</td><td>m</td><td>[0, 25.3]</td>" in html
    assert "<h4>Relations</h4>" in html and "<h4>Physics model (outputs)</h4>" in html
    evil = "<script>alert('x')</script>"
    t = Theory(
        [Variable("x", description=evil), Variable("y", role="target")],
        constraints=[Bounds("y", lower=0.0)],
        name=evil,
        description=evil,
    )
    html = t._repr_html_()
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;") == 3
    assert "0 &lt;= y &lt;= inf" in html


def test_sample_spreads_points_over_the_bounds_box() -> None:
    t = Theory(
        [
            Variable("x", "m", bounds=(-1, 3)),
            Variable("t", "s", role="time", bounds=(0, 2)),
            Variable("z", "m"),
            Variable("u", "m/s", role="target"),
        ]
    )
    pts = t.sample(512, variables=["x", "t"], seed=1)
    assert list(pts.columns) == ["x", "t"] and len(pts) == 512
    assert pts["x"].between(-1, 3).all() and pts["t"].between(0, 2).all()
    assert pts.equals(t.sample(512, variables=["x", "t"], seed=1))
    assert not pts.equals(t.sample(512, variables=["x", "t"], seed=2))
    assert list(t.sample(8, variables="x").columns) == ["x"]
    with_z = t.sample(64, bounds={"z": (5, 6)}, seed=0, method="uniform")
    assert list(with_z.columns) == ["x", "t", "z"] and with_z["z"].between(5, 6).all()
    # the Halton points cover the box more evenly than random ones (lower discrepancy)
    from scipy.stats import qmc

    unit = lambda p: (p.to_numpy() - [-1, 0]) / [4, 2]  # noqa: E731
    halton = qmc.discrepancy(unit(pts))
    uniform = qmc.discrepancy(unit(t.sample(512, variables=["x", "t"], seed=1, method="uniform")))
    assert halton < uniform / 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"variable 'z' needs finite bounds low < high.*bounds=\{'z': \(low, high\)\}"),
        ({"bounds": {"z": (1, 1)}}, r"bounds\['z'\] are out of order: low 1.0 must be below"),
        ({"bounds": {"z": (0, None)}}, r"variable 'z' needs finite bounds.*\(0.0, inf\)"),
        (
            {"bounds": {"u": (0, 1)}, "variables": ["x"]},
            r"bounds names \['u'\], which are not sampled",
        ),
        ({"variables": ["nope"]}, "no variable 'nope'"),
        ({"method": "sobol", "variables": ["x"]}, "method must be one of"),
        ({"bounds": {"z": "wide"}}, r"bounds\['z'\] must be a pair"),
        ({"variables": ["x", "x"]}, r"variables names \['x'\] more than once"),
        ({"variables": ["x"], "seed": 1.5}, "seed must be an int or None; got 1.5"),
        ({"variables": ["x"], "seed": "0"}, "seed must be an int or None; got '0'"),
    ],
)
def test_sample_names_what_is_wrong(kwargs: dict, message: str) -> None:
    t = Theory(
        [Variable("x", "m", bounds=(0, 1)), Variable("z", "m"), Variable("u", role="target")]
    )
    with pytest.raises(TheoryError, match=message):
        t.sample(10, **kwargs)
    with pytest.raises(TheoryError, match="n must be a positive int"):
        t.sample(0, variables=["x"])


def test_numbers_may_be_numpy_scalars() -> None:
    import numpy as np

    assert Parameter("p", "1", value=np.int64(2)).value == 2.0
    assert Parameter("q", "1", value=np.float32(0.5)).value == 0.5
    assert Variable("y", "1", bounds=(np.int64(0), 5)).bounds == (0.0, 5.0)


def test_field_derivatives_take_integer_points() -> None:
    import numpy as np

    from tgds.theory import Expression, field_derivatives

    fn = field_derivatives(lambda p: p[:1] ** 2, Expression("D(u, x)").derivatives, ["x"], ["u"])
    assert float(fn(np.array([[3]]))["D(u, x)"][0]) == 6.0


@pytest.mark.parametrize(
    ("outputs", "relations", "used"),
    [
        ({"y": "y"}, [], "['y']"),  # the label would leak into the prediction
        ({"y": "z", "z": "x"}, [], "['z']"),
        ({"y": "r"}, [Relation("r", "2*y")], "['y']"),  # through a relation
    ],
)
def test_physics_outputs_may_not_use_targets(outputs, relations, used) -> None:
    variables = [Variable("x", "1"), Variable("y", "1", role="target")]
    variables.append(Variable("z", "1", role="target"))
    with pytest.raises(TheoryError, match=re.escape(f"uses the target(s) {used}")):
        Theory(variables, relations=relations, physics_model=PhysicsModel(outputs=outputs))


def test_an_exact_zero_fits_any_unit() -> None:
    # the rate of a constant state, or a zero output, in whatever unit the target has
    decay = Theory(
        [Variable("t", "s", role="time"), Variable("h", "m", role="target")],
        physics_model=PhysicsModel(rates={"h": "0"}, time="t"),
    )
    assert decay.physics_model.predicted == ("h",)
    Theory(
        [Variable("x", "m"), Variable("h", "m", role="target")],
        relations=[Relation("r", "0", unit="m/s")],
        physics_model=PhysicsModel(outputs={"h": "0"}),
    )
    with pytest.raises(UnitError, match=r"\[length\] but \[time\]"):  # other values keep their unit
        Theory(
            [Variable("x", "m"), Variable("h", "s", role="target")],
            physics_model=PhysicsModel(outputs={"h": "x"}),
        )
