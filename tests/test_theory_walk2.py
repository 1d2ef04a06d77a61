"""A second new-user walk through ``tgds.theory``: constraint names, statements that say
nothing, malformed unit strings and the wording of some errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tgds.cli import app
from tgds.exceptions import TheoryError, UnitError
from tgds.theory import (
    Bounds,
    Equation,
    Monotonic,
    Parameter,
    Relation,
    Shape,
    Theory,
    UnitInfo,
    Variable,
    parse_unit,
)

APEX = "H == v0**2*sin(theta)**2/(2*g)"


def projectile(*constraints, relations=()) -> Theory:
    """Launch speed and angle (inputs), apex height (target), gravity (a known parameter)."""
    return Theory(
        [
            Variable("v0", "m/s", bounds=(1, 50)),
            Variable("theta", "1", bounds=(0.1, 1.5)),
            Variable("H", "m", bounds=(0, 200), role="target"),
        ],
        parameters=[Parameter("g", "m/s^2", value=9.81), Parameter("k", "1")],
        relations=list(relations),
        constraints=list(constraints),
    )


def message(fn, *args, error=TheoryError, **kwargs) -> str:
    with pytest.raises(error) as info:
        fn(*args, **kwargs)
    return str(info.value)


def assert_mentions(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, f"message {text!r} does not mention {missing}"


# -- 1. two constraints with one name ------------------------------------------------------
def test_an_equation_and_a_bounds_with_one_name_are_refused():
    text = message(projectile, Equation(APEX, name="apex"), Bounds("H", 0, 50, name="apex"))
    assert_mentions(
        text,
        "two constraints are named 'apex'",
        f"constraint 1 (equation {APEX!r})",
        "constraint 2 (bounds '0 <= H <= 50')",
        "physics=[...]",
        "rename one of them",
    )


def test_one_statement_repeated_exactly_is_no_ambiguity_but_two_with_one_name_are():
    # a name is an identifier and a statement is not, so an unnamed constraint (labelled by
    # its statement) shares its label only with a repeat of itself
    twice = projectile(Equation(APEX, name="apex"), Equation(APEX, name="apex"), Equation(APEX))
    assert len(twice.constraints) == 3
    text = message(projectile, Equation(APEX, name="apex"), Equation("H == v0", name="apex"))
    assert_mentions(text, "named 'apex'", "constraint 2 (equation 'H == v0')")


def test_duplicate_names_in_a_toml_file_name_the_file_and_the_second_constraint(tmp_path):
    path = tmp_path / "projectile.toml"
    path.write_text(
        "[variables.v0]\nunit = 'm/s'\n"
        "[variables.H]\nunit = 'm'\nrole = 'target'\n"
        "[[constraints]]\nkind = 'equation'\nresidual = 'H == v0**2/20'\nname = 'apex'\n"
        "[[constraints]]\nkind = 'bounds'\nquantity = 'H'\nlower = 0.0\nname = 'apex'\n",
        encoding="utf-8",
    )
    text = message(Theory.from_toml, path)
    assert_mentions(text, "projectile.toml", "constraints #2", "line 10", "named 'apex'")


# -- 2. statements that say nothing ----------------------------------------------------------
@pytest.mark.parametrize(
    ("residual", "words"),
    [
        ("1 == 2", ("involves no variable and can never hold", "is -1")),
        ("0", ("says nothing", "simplifies to 0")),
        ("1 == 1", ("says nothing",)),
        ("pi == 3", ("involves no variable", "holds always or never")),
        ("v0 == v0", ("says nothing", "every value of v0")),
        ("x - x + 1 == 2", ("x cancel", "constant residual -1", "can never hold")),
    ],
)
def test_an_equation_without_a_variable_is_refused_when_it_is_made(residual, words):
    text = message(Equation, residual)
    assert_mentions(text, f"equation {residual!r}", "at least one variable", *words)


@pytest.mark.parametrize(
    ("residual", "words"),
    [
        ("H - height == 0", ("says nothing", "every value of H, height")),
        ("sin(theta)**2 + cos(theta)**2 == 1", ("says nothing", "simplifies to 0")),
        ("(theta + 1)**2 == theta**2 + 2*theta + 1", ("says nothing",)),
        ("H == height", ("says nothing", "every value of H, height")),
        ("k == 0.5", ("only the parameter(s) k", "give it a 'value'")),
        ("k*g == g/2", ("only the parameter(s) g, k",)),
    ],
)
def test_an_equation_that_says_nothing_in_its_theory_is_refused(residual, words):
    height = Relation("height", "H")
    text = message(lambda: projectile(Equation(residual, name="e"), relations=[height]))
    assert_mentions(text, f"equation 'e' {residual!r}", *words)


def test_an_equation_that_cancels_only_on_some_values_is_kept():
    with pytest.raises(TheoryError, match="says nothing"):
        projectile(Equation("log(exp(theta)) == theta"))
    # |theta| = theta only for theta >= 0, so this one says something
    assert len(projectile(Equation("abs(theta)*H == theta*H")).constraints) == 1


def test_an_equation_that_says_nothing_in_a_toml_file_names_its_line(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        "[variables.x]\nunit = 'm'\n[variables.y]\nunit = 'm'\nrole = 'target'\n"
        "[[constraints]]\nkind = 'equation'\nresidual = '1 == 2'\n",
        encoding="utf-8",
    )
    text = message(Theory.from_toml, path)
    assert_mentions(text, "t.toml", "constraints #1", "line 6", "can never hold")


@pytest.mark.parametrize("kind", [Monotonic, Shape])
def test_a_monotonic_or_shape_constraint_on_an_input_is_refused(kind):
    text = message(projectile, kind("theta", wrt="v0"))
    assert_mentions(
        text,
        "'theta' is an input variable, not a target",
        "statement about the data",
        "must be a target or a relation that uses one; got 'theta'",
    )


def test_a_monotonic_constraint_on_a_relation_of_inputs_is_refused():
    reach = Relation("reach", "k*v0**2*sin(2*theta)/g", unit="m")
    text = message(projectile, Monotonic("reach", wrt="v0"), relations=[reach])
    assert_mentions(
        text,
        "'reach' is a relation of g, k, theta, v0 only, which involves no target",
        "give them 'bounds' or a 'prior'",
    )
    energy = Relation("energy", "g*H + v0**2/2", unit="m^2/s^2")
    kept = projectile(Monotonic("energy", wrt="v0"), relations=[energy])
    assert len(kept.constraints) == 1


# -- 3. malformed unit strings -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "why"),
    [
        ("1/0", "it divides by zero"),
        ("m/0", "it divides by zero"),
        ("kg**(1/0)", "it divides by zero"),
        ("(m/s", "1 '(' is never closed by a ')'"),
        ("((m", "2 '(' are never closed"),
        ("m)", "the ')' at position 2 closes no '('"),
        ("m/s**", "it ends with '**', which needs a unit or a number after it"),
        ("m/", "it ends with '/'"),
        ("()", "has nothing to act on"),
        ("m+s", "units cannot be added or subtracted"),
        ("m $", "it contains '$', which a unit cannot hold"),
        ("m,s", "it contains ','"),
        ("[m]", "it contains '[', ']'"),
        ("2 m", "a unit cannot be scaled"),
        ("1e9^1e9", "exponents must be small numbers"),
        ("m**1e300", "exponents must be small numbers"),
        ("1e99^9", "a number in it is too large"),
    ],
)
def test_a_malformed_unit_is_a_unit_error_naming_it_and_what_is_wrong(unit, why):
    text = message(Variable, "x", unit, error=UnitError)
    assert_mentions(text, f"variable 'x' unit {unit!r}", why)
    assert "AssertionError" not in text and ": )" not in text


unit_texts = st.lists(
    st.sampled_from(
        ["m", "s", "kg", "degC", "K", "km", "1", "0", "2", "e", "9", ".", "/", "*", "**", "^"]
        + ["(", ")", "-", "+", " ", ",", "$", "%", "1e9", "delta_", "inf", "nan", "!", "'"]
    ),
    max_size=10,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit_texts)
def test_any_unit_string_parses_or_raises_a_unit_error(text):
    try:
        assert isinstance(parse_unit(text, "unit"), UnitInfo)
    except UnitError as err:
        named = (repr(text), repr(text.strip()), "too long")  # as written, or stripped
        assert any(n in str(err) for n in named), str(err)


def test_a_malformed_unit_in_a_theory_file_exits_2_from_the_cli(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text("[variables.x]\nunit = '1/0'\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["theory", str(path)])
    assert result.exit_code == 2, result.output
    assert_mentions(result.output, "'1/0'", "divides by zero")


# -- 4. wording ----------------------------------------------------------------------------------
def test_an_unnamed_equation_is_quoted_once_in_an_error():
    variables = [Variable("v0", "m/s"), Variable("R", "m"), Variable("H", "m", role="target")]
    text = message(Theory, variables, constraints=[Equation("D(R, v0) == R")])
    assert text.count("'D(R, v0) == R'") == 1, text
    assert text.startswith("equation 'D(R, v0) == R': ")


def test_differentiating_an_input_says_what_is_expected_and_what_was_given():
    text = message(projectile, Equation("D(theta, v0) == H"))
    assert "differentiated must be" not in text
    assert_mentions(
        text,
        "the first argument of D(), the quantity differentiated, must be a target (output) "
        "variable, but 'theta' is an input variable",
    )
    swapped = message(projectile, Equation("D(theta, H) == 0"))
    assert_mentions(swapped, "write D(H, theta)")
    text = message(projectile, Equation("D(H, g) == 0"))
    assert_mentions(
        text,
        "the second argument of D(), the variable to differentiate against, must be an "
        "input variable (role 'input' or 'time'), but 'g' is a parameter",
    )
