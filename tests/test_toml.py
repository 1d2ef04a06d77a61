"""Reading and writing theories as TOML: round trips, atomic writes and error messages.

Bad files are written to ``tmp_path`` so that every error can be checked for the file
path, the table, the key and the line where the problem is.
"""

from __future__ import annotations

import keyword
import math
import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))

BASE = '[variables.x]\nunit = "m"\n[variables.y]\nunit = "s"\nrole = "target"\n'


def assert_mentions(text: str, *parts: str) -> None:
    missing = [p for p in parts if p not in text]
    assert not missing, f"message {text!r} does not mention {missing}"


def load_error(tmp_path: Path, text: str, name: str = "theory.toml") -> str:
    """Write ``text`` to a file, read it, and return the error message."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TheoryError) as err:
        Theory.from_toml(path)
    message = str(err.value)
    assert f"theory file '{path}'" in message
    return message


def line_of(text: str, line: str, nth: int = 0) -> int:
    return [i + 1 for i, s in enumerate(text.splitlines()) if s == line][nth]


# -- round trips ----------------------------------------------------------------------------
def test_examples_are_present() -> None:
    assert {p.stem for p in EXAMPLE_FILES} >= {"lake", "burgers", "lotka_volterra"}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_round_trip(path: Path) -> None:
    theory = Theory.from_toml(path)
    assert Theory.from_toml(str(path)) == theory
    text = theory.to_toml()
    again = Theory.from_toml(text)
    assert again == theory
    assert again.to_toml() == text
    assert str(again) == str(theory)
    parsed = tomllib.loads(text)
    assert list(parsed["variables"]) == [v.name for v in theory.variables]
    assert parsed.get("name") == theory.name


def test_written_file_keeps_short_arrays_on_one_line() -> None:
    text = Theory.from_toml(EXAMPLES / "burgers.toml").to_toml()
    assert "bounds = [-1.0, 1.0]" in text.splitlines()
    assert 'transform = { kind = "reflection", variable = "x" }' in text.splitlines()


def test_to_toml_writes_atomically(tmp_path: Path) -> None:
    theory = Theory.from_toml(EXAMPLES / "lake.toml")
    target = tmp_path / "out.toml"
    target.write_text("old content", encoding="utf-8")
    text = theory.to_toml(target)
    assert target.read_text(encoding="utf-8") == text
    assert os.listdir(tmp_path) == ["out.toml"]
    assert Theory.from_toml(target) == theory
    other = tmp_path / "sub.toml"
    assert Theory.from_toml(EXAMPLES / "burgers.toml").to_toml(str(other)) == other.read_text()
    assert sorted(os.listdir(tmp_path)) == ["out.toml", "sub.toml"]


def test_function_physics_model_cannot_be_written(tmp_path: Path) -> None:
    theory = Theory(
        [Variable("x"), Variable("y", role="target")],
        physics_model=PhysicsModel(function=lambda X, p: X, targets="y"),
    )
    with pytest.raises(TheoryError) as err:
        theory.to_toml(tmp_path / "f.toml")
    assert_mentions(str(err.value), "Python function", "cannot be written to TOML", "outputs")
    assert os.listdir(tmp_path) == []


def test_from_toml_text_and_path_agree(tmp_path: Path) -> None:
    text = (EXAMPLES / "lotka_volterra.toml").read_text(encoding="utf-8")
    assert Theory.from_toml(text) == Theory.from_toml(EXAMPLES / "lotka_volterra.toml")


def test_from_toml_reads_a_str_path_without_toml_suffix(tmp_path: Path) -> None:
    # A path given as a string is read only if it ends in ".toml"; any other file name
    # is parsed as TOML text and fails with "theory TOML is not valid TOML".
    path = tmp_path / "lake.theory"
    path.write_text((EXAMPLES / "lake.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert Theory.from_toml(path).name == "lake"
    assert Theory.from_toml(str(path)).name == "lake"


def test_every_part_round_trips() -> None:
    variables = [
        Variable(
            "x", "m", bounds=(-math.inf, 1e300), description='quote " and \\ and \n\t\x00\x7f'
        ),
        Variable("z", "m"),
        Variable("t", "day", bounds=(0, None), role="time"),
        Variable("g", role="group", description="ünïcødé 😀"),
        Variable("T", "degC", bounds=(0, 40), role="target"),
        Variable("u", "m/day", role="target"),
    ]
    theory = Theory(
        variables,
        parameters=[
            Parameter("k", "1/day", value=0.5, bounds=(0, 1), prior=Normal(0.0, 1.0)),
            Parameter("a", prior=LogNormal(-1.0, 0.5)),
            Parameter("b", "m", prior=HalfNormal(2.0), description="b"),
            Parameter("c", value=-2.5e-7, prior=Uniform(-1.0, 1.0)),
        ],
        relations=[
            Relation("r", "x*k", unit="m/s", description="converted"),
            Relation("rho", "1000 - (T - 4)**2", unit="kg/m^3", empirical=True),
            Relation("s", "2*r"),
        ],
        constraints=[
            Bounds("T"),
            Bounds("rho", lower=990.0, upper=1000.0, name="density_range"),
            Bounds("s", upper=3.0),
            Monotonic("rho", wrt="x", direction="decreasing", within=["g", "t"], name="m"),
            Shape("u", wrt="z", curvature="concave", within="g"),
            Equation("D(u, t) == k*u", name="decay"),
            Equation("D(D(u, x), z) + D(u, x, 2)"),
            Invariance(Reflection("x", about=1.5), quantity="u", output_scale=-1.0),
            Invariance(Translation(["x", "z"], [1.0, -2.0])),
            Invariance(Scaling(["x", "z"], 2.0), quantity="s", output_scale=2.0),
            Invariance(Rotation(("x", "z"), -0.25), quantity="u"),
            Invariance(Permutation(["z", "x"]), name="symmetric"),
            Interactions([["x", "z"], ["t"]], name="pairs"),
        ],
        physics_model=PhysicsModel(rates={"u": "-k*u"}, time="t", description="decay"),
        name="kitchen sink",
        description="every part\nof a theory",
    )
    text = theory.to_toml()
    tomllib.loads(text)
    again = Theory.from_toml(text)
    assert again == theory
    assert again.to_toml() == text
    assert str(again) == str(theory)
    outputs = Theory(variables, physics_model=PhysicsModel(outputs={"u": "x/t"}))
    assert Theory.from_toml(outputs.to_toml()) == outputs


# -- property test: random valid theories ---------------------------------------------------
UNITS = ["1", "m", "s", "kg", "m/s", "K", "degC", "W/m^2", "mol/L", "percent"]
PLAIN_UNITS = [u for u in UNITS if u != "degC"]
RESERVED = {
    "exp", "log", "log10", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "abs", "sign", "min", "max", "where", "D", "pi",
}  # fmt: skip

names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,9}", fullmatch=True).filter(
    lambda n: n not in RESERVED and not keyword.iskeyword(n)
)
finite = st.floats(allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)
texts = st.text(max_size=12)
optional_name = st.none() | names
TRANSFORM_KINDS = ["reflection", "translation", "scaling", "rotation", "permutation"]


@st.composite
def bounds(draw: st.DrawFn) -> tuple[float, float] | None:
    if draw(st.booleans()):
        return None
    lo, hi = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
    return (-math.inf if draw(st.booleans()) else lo, math.inf if draw(st.booleans()) else hi)


@st.composite
def priors(draw: st.DrawFn):
    kind = draw(st.sampled_from(["none", "normal", "lognormal", "halfnormal", "uniform"]))
    if kind == "normal":
        return Normal(draw(finite), draw(positive))
    if kind == "lognormal":
        return LogNormal(draw(finite), draw(positive))
    if kind == "halfnormal":
        return HalfNormal(draw(positive))
    if kind == "uniform":
        lo, hi = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
        return Uniform(lo, hi)
    return None


@st.composite
def parameters(draw: st.DrawFn, name: str, unit: str | None = None) -> Parameter:
    unit = unit or draw(st.sampled_from(PLAIN_UNITS))
    b = draw(bounds())
    value = draw(st.none() | finite)
    if value is not None and b is not None:
        value = min(max(value, b[0]), b[1])
    prior = draw(priors())
    if prior is not None and not _prior_fits(prior, b, value):
        prior = None  # a prior that gives the bounds or the value no probability is refused
    return Parameter(name, unit, value=value, bounds=b, prior=prior, description=draw(texts))


def _prior_fits(prior, bounds_: tuple[float, float] | None, value: float | None) -> bool:
    lo, hi = prior.support
    if bounds_ is not None and max(lo, bounds_[0]) >= min(hi, bounds_[1]):
        return False
    return value is None or lo <= value <= hi


@st.composite
def theories(draw: st.DrawFn) -> Theory:
    pool = iter(draw(st.lists(names, min_size=16, max_size=16, unique=True)))
    shared = draw(st.sampled_from(PLAIN_UNITS))
    x0, x1 = next(pool), next(pool)
    inputs = [Variable(x, shared, bounds=draw(bounds()), description=draw(texts)) for x in (x0, x1)]
    if draw(st.booleans()):
        inputs.append(Variable(next(pool), draw(st.sampled_from(UNITS)), bounds=draw(bounds())))
    time = None
    if draw(st.booleans()):
        time = Variable(next(pool), draw(st.sampled_from(["s", "day", "year"])), role="time")
        inputs.append(time)
    groups = [Variable(next(pool), role="group")] if draw(st.booleans()) else []
    targets = [
        Variable(next(pool), draw(st.sampled_from(UNITS)), bounds=draw(bounds()), role="target")
        for _ in range(draw(st.integers(1, 2)))
    ]
    input_names = [v.name for v in inputs]
    target_names = [v.name for v in targets]

    params = [draw(parameters(next(pool))) for _ in range(draw(st.integers(0, 2)))]

    physics = None
    extra_vars: list[Variable] = []
    pm_kind = draw(st.sampled_from(["none", "outputs", "rates"]))
    plain_targets = [v for v in targets if v.unit != "degC"]
    if pm_kind == "outputs":
        y = draw(st.sampled_from(targets))
        sim = Variable(next(pool), y.unit, description="simulator output")
        extra_vars.append(sim)
        physics = PhysicsModel(outputs={y.name: sim.name}, description=draw(texts))
    elif pm_kind == "rates" and time is not None and plain_targets:
        tau = draw(parameters(next(pool), unit=time.unit))
        params.append(tau)
        rates = {v.name: f"-{v.name}/{tau.name}" for v in plain_targets}
        physics = PhysicsModel(rates=rates, time=time.name, description=draw(texts))

    relations: list[Relation] = []
    for _ in range(draw(st.integers(0, 3))):
        options = ["linear", "difference", "sqrt", "where", "empirical"]
        options += ["parameter"] * bool(params) + ["chain"] * bool(relations)
        form, name = draw(st.sampled_from(options)), next(pool)
        if form == "linear":
            relations.append(Relation(name, f"2*{x0} + {x1}"))
        elif form == "difference":
            relations.append(Relation(name, f"{x0} - {x1}", unit=shared, description=draw(texts)))
        elif form == "sqrt":
            relations.append(Relation(name, f"sqrt(abs({x0}*{x1}))"))
        elif form == "where":
            relations.append(Relation(name, f"where({x0} > {x1}, {x0}, min({x1}, {x0}))"))
        elif form == "empirical":
            expression = f"1000 - ({target_names[0]} - 4)**2"
            relations.append(Relation(name, expression, unit="kg/m^3", empirical=True))
        elif form == "parameter":
            relations.append(Relation(name, f"{x0}*{params[0].name}"))
        else:
            relations.append(Relation(name, f"3*{relations[-1].name}"))
    relation_names = [r.name for r in relations]
    quantities = target_names + relation_names
    # monotonic and shape constraints need a quantity that involves a target
    on_targets = list(target_names)
    for r in relations:
        if r.expression.names & set(on_targets):
            on_targets.append(r.name)
    used_names: set[str] = set()

    constraints = []
    seen_direction: dict[tuple, str] = {}
    bounded: set[str] = set()
    variables = {v.name: v for v in inputs + groups + targets}
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(
            st.sampled_from(
                ["bounds", "monotonic", "shape", "equation", "invariance", "interactions"]
            )
        )
        name = draw(optional_name)
        if name in used_names:  # constraint names are unique
            name = None
        used_names.add(name)
        if kind == "bounds":
            q = draw(st.sampled_from(quantities))
            if q in bounded:
                continue
            bounded.add(q)
            var = variables.get(q)
            if var is not None and var.bounds is not None:
                lo, hi = var.bounds
                lower = lo if math.isfinite(lo) and draw(st.booleans()) else None
                upper = hi if math.isfinite(hi) and draw(st.booleans()) else None
            else:
                lower, upper = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
                if draw(st.booleans()):
                    lower = None
                elif draw(st.booleans()):
                    upper = None
            constraints.append(Bounds(q, lower=lower, upper=upper, name=name))
        elif kind in ("monotonic", "shape"):
            q = draw(st.sampled_from(on_targets))
            wrt = draw(st.sampled_from(input_names))
            within_pool = [g.name for g in groups] + [x for x in input_names if x != wrt]
            within = draw(
                st.none() | st.lists(st.sampled_from(within_pool), unique=True, min_size=1)
            )
            within = None if not within_pool else within
            if kind == "monotonic":
                direction = draw(st.sampled_from(["increasing", "decreasing"]))
                key = (kind, q, wrt, None if within is None else frozenset(within))
                direction = seen_direction.setdefault(key, direction)
                constraints.append(Monotonic(q, wrt, direction, within=within, name=name))
            else:
                curvature = draw(st.sampled_from(["convex", "concave"]))
                key = (kind, q, wrt, None if within is None else frozenset(within))
                curvature = seen_direction.setdefault(key, curvature)
                constraints.append(Shape(q, wrt, curvature, within=within, name=name))
        elif kind == "equation":
            y = draw(st.sampled_from(target_names))
            x = draw(st.sampled_from(input_names))
            residual = draw(
                st.sampled_from(
                    [f"D({y}, {x}) == 0", f"D({y}, {x}, 2)", f"D(D({y}, {x}), {x0}) == 0"]
                )
            )
            constraints.append(Equation(residual, name=name))
        elif kind == "invariance":
            plain_inputs = [v.name for v in inputs if v.unit != "degC"]
            tkind = draw(st.sampled_from(TRANSFORM_KINDS))
            if tkind == "reflection":
                transform = Reflection(draw(st.sampled_from(input_names)), about=draw(finite))
            elif tkind == "translation":
                transform = Translation([x0, x1], [draw(finite), draw(finite)])
            elif tkind == "scaling":
                scaled = draw(st.lists(st.sampled_from(plain_inputs), unique=True, min_size=1))
                transform = Scaling(scaled, draw(positive.filter(lambda f: f != 1.0)))
            elif tkind == "rotation":
                transform = Rotation((x0, x1), draw(st.floats(0.01, 6.2)))
            else:
                transform = Permutation((x1, x0))
            quantity = draw(st.none() | st.sampled_from(quantities))
            # a periodic transform (reflection, rotation, permutation) admits only s = +-1
            scale = st.sampled_from([1.0, -1.0]) if transform.periodic else finite
            output_scale = draw(scale.filter(lambda s: s != 0))
            constraints.append(
                Invariance(transform, quantity=quantity, output_scale=output_scale, name=name)
            )
        else:
            group_st = st.lists(st.sampled_from(input_names), unique=True, min_size=1)
            constraints.append(Interactions(draw(st.lists(group_st, min_size=1, max_size=3)), name))

    all_variables = draw(st.permutations(inputs + groups + targets + extra_vars))
    return Theory(
        all_variables,
        parameters=params,
        relations=relations,
        constraints=constraints,
        physics_model=physics,
        name=draw(texts),
        description=draw(texts),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(theories())
def test_random_theory_round_trip(theory: Theory) -> None:
    text = theory.to_toml()
    parsed = tomllib.loads(text)
    assert set(parsed) <= {
        "name", "description", "variables", "parameters", "relations", "constraints",
        "physics_model",
    }  # fmt: skip
    again = Theory.from_toml(text)
    assert again == theory
    assert again.to_toml() == text


# -- bad input ------------------------------------------------------------------------------
def test_invalid_toml_syntax_names_file_and_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, BASE + "description = = 3\n")
    assert_mentions(message, "not valid TOML", "line 6")


def test_invalid_toml_text_is_labelled() -> None:
    with pytest.raises(TheoryError) as err:
        Theory.from_toml('[variables.x]\nunit = "m\n')
    assert_mentions(str(err.value), "theory TOML", "not valid TOML", "line 2")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, "nmae = 'lake'\n" + BASE)
    assert_mentions(message, "unknown top-level key(s) ['nmae']", "allowed: name, description")


def test_unknown_variable_key(tmp_path: Path) -> None:
    text = BASE + '[variables.z]\nunits = "m"\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [variables.z]", "unknown key(s) ['units']")
    assert_mentions(message, "allowed keys: unit, bounds, role, description")
    assert_mentions(message, f"line {line_of(text, '[variables.z]')}")


def test_error_line_numbers_point_at_the_table_header(tmp_path: Path) -> None:
    # The example files separate tables by blank lines; the reported line must be that of
    # the table header, not of the blank line before it.
    text = (EXAMPLES / "lake.toml").read_text(encoding="utf-8")
    text = text.replace(
        '[variables.Depth]\nunit = "m"', '[variables.Depth]\nunit = "m"\nunits = "m"'
    )
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [variables.Depth]", "unknown key(s) ['units']")
    assert_mentions(message, f"line {line_of(text, '[variables.Depth]')}:")
    spaced = BASE + '\n[[constraints]]\nkind = "bounds"\nquantity = "y"\nupper = "1"\n'
    message = load_error(tmp_path, spaced)
    assert_mentions(message, f"table [constraints #1], line {line_of(spaced, '[[constraints]]')}:")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("unit = 3", ("variable 'x' unit", "unit string", "int 3")),
        ('bounds = "a"', ("variable 'x' bounds", "pair (low, high)", "'a'")),
        ("bounds = [1.0, 0.0]", ("variable 'x' bounds", "out of order")),
        ('bounds = ["a", 1.0]', ("variable 'x' bounds low", "must be a number", "str")),
        ("role = 1", ("variable 'x' role", "'input', 'target', 'group', 'time'", "got 1")),
        ("description = 2", ("variable 'x' description", "string", "int")),
    ],
)
def test_wrong_types_in_a_variable(tmp_path: Path, line: str, words: tuple[str, ...]) -> None:
    text = f"[variables.x]\n{line}\n"
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [variables.x], line 1:", *words)


def test_variables_must_be_tables(tmp_path: Path) -> None:
    message = load_error(tmp_path, "variables = 3\n")
    assert_mentions(message, "table [variables]", "[variables.name]", "int")
    message = load_error(tmp_path, "variables = { x = 3 }\n")
    assert_mentions(message, "table [variables.x]", "expected a table", "int 3")


def test_unknown_constraint_kind(tmp_path: Path) -> None:
    text = (
        BASE
        + '[[constraints]]\nkind = "bounds"\nquantity = "y"\nupper = 1.0\n'
        + '[[constraints]]\nkind = "banana"\n'
    )
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [constraints #2]", "unknown constraint kind 'banana'")
    assert_mentions(message, "allowed kinds: bounds, monotonic, shape, equation, invariance")
    assert_mentions(message, f"line {line_of(text, '[[constraints]]', nth=1)}:")


def test_constraint_with_missing_required_key(tmp_path: Path) -> None:
    text = BASE + '[[constraints]]\nkind = "monotonic"\nquantity = "y"\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [constraints #1]", "'monotonic'", "needs key(s) ['wrt']")
    assert_mentions(message, f"line {line_of(text, '[[constraints]]')}:")


def test_constraint_with_unknown_key_or_bad_value(tmp_path: Path) -> None:
    text = BASE + '[[constraints]]\nkind = "bounds"\nquantity = "y"\nupper = 1.0\nlimit = 2\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "unknown key(s) ['limit']", "'bounds'", "quantity, lower, upper, name")
    text = BASE + '[[constraints]]\nkind = "bounds"\nquantity = "y"\nupper = "1.0"\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "bounds on 'y' upper", "must be a number", "str '1.0'")
    message = load_error(tmp_path, "constraints = 3\n" + BASE)
    assert_mentions(message, "table [constraints]", "[[constraints]] tables", "int")
    message = load_error(tmp_path, "constraints = [1]\n" + BASE)
    assert_mentions(message, "table [constraints #1]", "'kind' key", "int")


def test_unknown_transform_kind(tmp_path: Path) -> None:
    text = (
        BASE
        + '[[constraints]]\nkind = "invariance"\ntransform = { kind = "shear", variable = "x" }\n'
    )
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [constraints #1]", "unknown transform kind 'shear'")
    assert_mentions(message, "reflection, translation, scaling, rotation, permutation")
    text = BASE + '[[constraints]]\nkind = "invariance"\ntransform = { kind = "reflection" }\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "'reflection'", "needs key(s) ['variable']")


@pytest.mark.parametrize(
    ("prior", "words"),
    [
        ('{ distribution = "cauchy", loc = 0, scale = 1 }', ("'normal', 'lognormal'", "'cauchy'")),
        (
            '{ distribution = "normal", loc = 0 }',
            ("normal prior takes keys loc, scale", "['scale']"),
        ),
        ('{ distribution = "halfnormal", scale = 1, loc = 0 }', ("unknown ['loc']",)),
        ('{ distribution = "normal", loc = 0, scale = -1 }', ("scale must be positive", "-1")),
        ("3", ("key 'prior'", "must be a table", "3")),
    ],
)
def test_bad_prior(tmp_path: Path, prior: str, words: tuple[str, ...]) -> None:
    text = BASE + f"[parameters.k]\nprior = {prior}\n"
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [parameters.k]", f"line {line_of(text, '[parameters.k]')}:")
    assert_mentions(message, *words)


def test_physics_model_errors(tmp_path: Path) -> None:
    text = BASE + '[physics_model]\noutputs = { y = "x" }\nsolver = "rk4"\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "table [physics_model]", "unknown key(s) ['solver']")
    assert_mentions(message, "allowed keys: outputs, rates, time, description")
    assert_mentions(message, f"line {line_of(text, '[physics_model]')}:")
    message = load_error(tmp_path, BASE + '[physics_model]\nrates = { y = "y" }\n')
    assert_mentions(message, "table [physics_model]", "needs time")
    message = load_error(tmp_path, "physics_model = 3\n" + BASE)
    assert_mentions(message, "table [physics_model]", "expected a table", "int")


def test_relation_errors(tmp_path: Path) -> None:
    message = load_error(tmp_path, BASE + '[relations.r]\nexpression = "x"\nunits = "m"\n')
    assert_mentions(message, "table [relations.r]", "unknown key(s) ['units']", "expression, unit")
    message = load_error(tmp_path, BASE + "[relations]\nr = 3\n")
    assert_mentions(message, "table [relations.r]", "expression string", "int")
    message = load_error(tmp_path, BASE + '[relations]\nr = "x + q"\n')
    assert_mentions(message, "relation 'r'", "unknown name 'q'")


def test_theory_level_errors_name_the_file(tmp_path: Path) -> None:
    text = BASE + '[[constraints]]\nkind = "bounds"\nquantity = "z"\nupper = 1.0\n'
    message = load_error(tmp_path, text)
    assert_mentions(message, "refers to 'z'", "known: x, y")
    message = load_error(tmp_path, 'name = 3\n[variables.x]\nunit = "m"\n')
    assert_mentions(message, "theory name must be a string", "int")
    message = load_error(tmp_path, "")
    assert_mentions(message, "at least one variable")


TEMPERATURES = BASE + '[variables.T]\nunit = "degC"\n'


@pytest.mark.parametrize(
    ("tail", "table", "header", "words"),
    [
        # a relation table whose unit does not fit its expression
        (
            '\n[relations.tk]\nexpression = "T"\nunit = "K"\n',
            "relations.tk",
            "[relations.tk]",
            ("relation 'tk' (declared unit 'K')", "offset temperature"),
        ),
        # a relation written as name = "expression" in [relations]: the line of its key
        (
            '\n[relations]\nr1 = "x"\nr2 = "x + y"\n',
            "relations.r2",
            'r2 = "x + y"',
            ("relation 'r2' 'x + y'", "different dimensions"),
        ),
        # a header written with spaces and quotes, as TOML allows
        (
            '\n[ relations . "tk" ]  # in kelvin\nexpression = "T"\nunit = "K"\n',
            "relations.tk",
            '[ relations . "tk" ]  # in kelvin',
            ("relation 'tk'",),
        ),
        (
            '\n[relations]\na = "b"\nb = "a"\n',
            "relations.a",
            'a = "b"',
            ("relations a, b refer to each other in a cycle",),
        ),
        (
            '\n[parameters.x]\nunit = "m"\n',
            "parameters.x",
            "[parameters.x]",
            ("the name 'x' is used twice",),
        ),
        (
            '\n[physics_model]\noutputs = { y = "x" }\n',
            "physics_model",
            "[physics_model]",
            ("physics model outputs['y']", "[length] but [time] is expected"),
        ),
    ],
)
def test_theory_errors_name_the_table_and_line_of_a_relation(
    tmp_path: Path, tail: str, table: str, header: str, words: tuple[str, ...]
) -> None:
    text = TEMPERATURES + tail
    message = load_error(tmp_path, text)
    assert_mentions(message, f"table [{table}], line {line_of(text, header)}: ", *words)


@pytest.mark.parametrize(
    ("second", "words"),
    [
        ('kind = "bounds"\nquantity = "z"\nupper = 1.0\n', ("refers to 'z'", "known: x, y")),
        (
            'kind = "bounds"\nquantity = "y"\nlower = 2.0\n',
            ("contradictory constraints", "bounds [2, inf] on 'y' do not overlap"),
        ),
        (
            'kind = "monotonic"\nquantity = "y"\nwrt = "x"\ndirection = "decreasing"\n',
            ("contradictory constraints", "both increasing and decreasing"),
        ),
        (
            'kind = "equation"\nresidual = "x + y"\n',
            ("equation 'x + y = 0'", "different dimensions"),
        ),
        ('kind = "monotonic"\nquantity = "y"\nwrt = "y"\n', ("'y' must be an input variable",)),
    ],
)
def test_theory_errors_name_the_entry_and_line_of_a_constraint(
    tmp_path: Path, second: str, words: tuple[str, ...]
) -> None:
    first = '[[constraints]]\nkind = "bounds"\nquantity = "y"\nupper = 1.0\n'
    first += '\n[[constraints]]  # increasing\nkind = "monotonic"\nquantity = "y"\nwrt = "x"\n'
    text = BASE + first + "\n[[constraints]]\n" + second
    line = len((BASE + first).splitlines()) + 2  # after a blank line
    assert text.splitlines()[line - 1] == "[[constraints]]"
    message = load_error(tmp_path, text)
    assert_mentions(message, f"table [constraints #3], line {line}: ", *words)


def test_theory_error_location_keeps_the_file_and_the_error_class(tmp_path: Path) -> None:
    text = TEMPERATURES + '[relations.tk]\nexpression = "T"\nunit = "K"\n'
    path = tmp_path / "theory.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnitError) as err:
        Theory.from_toml(path)
    message = str(err.value)
    assert message.startswith(
        f"theory file '{path}', table [relations.tk], line {line_of(text, '[relations.tk]')}: "
        "relation 'tk' (declared unit 'K'): the expression is an offset temperature"
    )
    # an inline table has no header to point at: the table is still named
    inline = 'relations = { tk = { expression = "x + y" } }\n' + BASE
    assert_mentions(load_error(tmp_path, inline), "table [relations.tk]: relation 'tk'")


@pytest.mark.parametrize("as_path", [True, False])
@pytest.mark.parametrize("name", ["theory.toml", "theory.txt"])
def test_missing_file(tmp_path: Path, as_path: bool, name: str) -> None:
    # a missing path not ending in .toml is not taken for TOML text either
    path = tmp_path / "nowhere" / name
    with pytest.raises(TheoryError) as err:
        Theory.from_toml(path if as_path else str(path))
    assert str(err.value) == f"theory file '{path}' does not exist."


@pytest.mark.parametrize("source", [3, None, b'[variables.x]\nunit = "m"\n', ["a.toml"]])
def test_source_must_be_a_path_or_text(source: object) -> None:
    with pytest.raises(TheoryError) as err:
        Theory.from_toml(source)  # type: ignore[arg-type]
    assert_mentions(str(err.value), "path or TOML text", f"got {type(source).__name__}")
