"""Denial-of-service guards of theory building: unit exponents, relation growth, TOML depth.

Each risky call runs in a subprocess with a timeout, so that a regression fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tgds.exceptions import TheoryError, UnitError
from tgds.theory import Relation, Theory, Variable

_TIMEOUT = 30  # seconds; each call below takes well under one when the guards work


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout (the test fails on a hang)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"did not finish within {_TIMEOUT} s (denial of service)")
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- 1. unit exponents ----------------------------------------------------------------------


def test_unit_power_tower_from_toml_is_refused_quickly():
    out = _run(
        """
        from tgds.theory import Theory
        from tgds.exceptions import TheoryError
        try:
            Theory.from_toml('[variables.x]\\nunit = "m**9**9**9"\\n')
        except TheoryError as err:
            print("TheoryError", err)
        """
    )
    assert out.startswith("TheoryError")
    assert "'m**9**9**9'" in out and "exponents must be small numbers" in out
    assert "got '9**9**9'" in out and "variable 'x'" in out


@pytest.mark.parametrize(
    "unit",
    ["m**9**9**9", "m^9^9^9", "m**999", "m**(1/2)**2", "(((m**99)**99)**99)**99", "m**x"],
)
def test_unit_exponents_must_be_small_numbers(unit):
    out = _run(
        f"""
        from tgds.theory import Variable
        from tgds.exceptions import UnitError
        try:
            Variable("x", {unit!r})
        except UnitError as err:
            print("UnitError", err)
        """
    )
    assert out.startswith("UnitError variable 'x' unit"), out
    assert "exponents must be small numbers" in out


def test_nested_numeric_powers_in_a_unit_are_refused_quickly():
    out = _run(
        """
        from tgds.theory import Variable
        from tgds.exceptions import UnitError
        try:
            Variable("x", "(((10**99)**99)**99)**99")
        except UnitError as err:
            print("UnitError", err)
        """
    )
    assert "must not be raised to a power again" in out


@pytest.mark.parametrize(
    "unit",
    [
        "m",
        "kg/m^3",
        "W/m^2",
        "m**2/s",
        "kg/m**3",
        "m^-2",
        "s**-1",
        "m**(1/2)",
        "(m/s)**2",
        "m ** 2",
        "m**0.5",
        "cm^2/s",
        "m**+3",
        "1/year",
        "degC",
    ],
)
def test_ordinary_units_still_parse(unit):
    Variable("x", unit).unit_info  # noqa: B018


def test_dangling_power_is_still_pints_error():
    with pytest.raises(TheoryError, match="is not a unit pint understands"):
        Variable("x", "m**")


# -- 2. relations substituted into each other --------------------------------------------


def _chain_code(n: int, template: str) -> str:
    return f"""
        import time
        from tgds.theory import Relation, Theory, Variable
        from tgds.exceptions import TheoryError
        rels, prev = [], "x"
        for i in range(1, {n} + 1):
            rels.append(Relation(f"r{{i}}", {template!r}.replace("P", prev)))
            prev = f"r{{i}}"
        start = time.perf_counter()
        try:
            Theory([Variable("x"), Variable("y")], relations=rels)
            print("built")
        except TheoryError as err:
            print("TheoryError", err)
        print(time.perf_counter() - start)
        """


def test_exponentially_growing_relations_are_refused_quickly():
    out = _run(_chain_code(20, "P*P + P"))
    message, seconds = out.strip().rsplit("\n", 1)
    assert message.startswith("TheoryError relation 'r13'"), message
    assert "terms when the relations it uses are substituted (limit 20000)" in message
    assert float(seconds) < 2


@pytest.mark.parametrize(
    "template",
    [
        "max(P, P+1, P*2)",
        "where(P > 0, P, P+1)",
        "where(P > y, 1, 2)*P",
        "max(P, P+1, P*2, P*3, P*4, P*5)",
        "where(P > 0, where(P > 1, P, P+1), P+2)",
    ],
)
def test_nested_min_max_where_are_refused_quickly(template):
    out = _run(_chain_code(8, template))
    message, seconds = out.strip().rsplit("\n", 1)
    assert message.startswith("TheoryError relation 'r"), message
    assert "min/max/where calls of weight" in message
    assert float(seconds) < 5


def test_growth_limit_applies_to_constraints_and_physics_models():
    from tgds.theory._build import MAX_TERMS

    rels = [Relation("r1", "x*x + x")]
    for i in range(2, 13):
        rels.append(Relation(f"r{i}", f"r{i - 1}*r{i - 1} + r{i - 1}"))
    theory = Theory([Variable("x"), Variable("y", role="target")], relations=rels)
    assert theory.expression_of("r12") is not None
    toml = "[variables.x]\n[variables.y]\nrole = 'target'\n[relations]\n"
    toml += "".join(f"{r.name} = '{r.expression.text}'\n" for r in rels)
    with pytest.raises(TheoryError, match=rf"grows to .* terms .*limit {MAX_TERMS}"):
        Theory.from_toml(toml + "[physics_model]\noutputs = { y = 'r12*r12 + r12' }\n")
    with pytest.raises(TheoryError, match=rf"grows to .* terms .*limit {MAX_TERMS}"):
        Theory.from_toml(
            toml + "[[constraints]]\nkind = 'equation'\nresidual = 'y == r12*r12 + r12'\n"
        )


def test_realistic_relations_are_not_refused():
    rels = [
        Relation("clipped", "min(max(x, 0), 10)"),
        Relation("a", "clipped*2 + where(clipped > 5, clipped, 5 - clipped)"),
        Relation("b", "max(a, clipped) + min(a, 1) + a*a"),
        Relation("c", "b + a + clipped + where(x > 1, a, 0)"),
    ]
    Theory([Variable("x")], relations=rels)


def test_bundled_theories_are_within_the_limits():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "examples").glob("*.toml"))
    files += sorted((root / "src" / "tgds" / "datasets" / "data").glob("*.toml"))
    built = 0
    for path in files:
        if "[variables" in path.read_text(encoding="utf-8"):
            Theory.from_toml(path)
            built += 1
    assert built >= 1


# -- 3. deeply nested TOML ------------------------------------------------------------------


def test_deeply_nested_toml_is_a_theory_error():
    for text in ("name = " + "[" * 3000 + "]" * 3000, "name = " + "{a=" * 3000 + "1" + "}" * 3000):
        with pytest.raises(TheoryError, match="nested too deeply"):
            Theory.from_toml(text + "\n")


def test_unit_error_is_a_theory_error():
    assert issubclass(UnitError, TheoryError)
