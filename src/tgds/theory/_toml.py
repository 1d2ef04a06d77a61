"""Reading and writing theories as TOML.

The file layout (see ``examples/*.toml``)::

    name = "lake"
    [variables.Depth]            # one table per variable: unit, bounds, role, description
    unit = "m"
    bounds = [0.0, 25.2]         # use inf / -inf for an open side
    [parameters.nu]              # unit, value, bounds, prior = {distribution = ..., ...}
    [relations]                  # name = "expression", or a table with expression, unit, empirical
    density = "..."
    [[constraints]]              # one table per constraint, with kind = bounds | monotonic | ...
    kind = "monotonic"
    [physics_model]              # outputs = {target = "expr"} or rates = {...} and time = "t"

Errors name the file, the table and the key, and the line where it can be found.

Writing uses :func:`tgds.utils.toml_value` rather than ``tomli_w``, which puts every
array element on its own line: a theory file is meant to be read and edited by a
physicist, so ``bounds = [0.0, 25.2]`` stays on one line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tgds.exceptions import TheoryError
from tgds.theory._constraints import AbstractConstraint, constraint_from_dict
from tgds.theory._physics import PhysicsModel
from tgds.theory._relation import Relation
from tgds.theory._theory import Theory
from tgds.theory._variables import Parameter, Variable, prior_from_dict
from tgds.utils import atomic_write_text, toml_key, toml_value

__all__ = ["theory_from_toml", "theory_to_toml"]

_TOP_KEYS = (
    "name",
    "description",
    "variables",
    "parameters",
    "relations",
    "constraints",
    "physics_model",
)
_VARIABLE_KEYS = ("unit", "bounds", "role", "description")
_PARAMETER_KEYS = ("unit", "value", "bounds", "prior", "description")
_RELATION_KEYS = ("expression", "unit", "empirical", "description")
_PHYSICS_KEYS = ("outputs", "rates", "time", "description")


_ANY_HEADER = re.compile(r"[ \t]*\[\[?[ \t]*[\w\"'.\- \t]+\]\]?[ \t]*(#.*)?")


def _key_pattern(key: str) -> str:
    """A TOML key as written: bare, "quoted" or 'literal'."""
    k = re.escape(key)
    return rf"(?:{k}|\"{k}\"|'{k}')"


class _Source:
    """The TOML text and where it came from, to place errors.

    Lines are found by searching the text for a table's header (``[relations.density]``,
    the ``n``-th ``[[constraints]]``) or a key, with the spacing and quoting TOML allows;
    where none is found (an inline table, say) an error names the table without a line.
    """

    def __init__(self, text: str, label: str):
        self.text = text
        self.label = label
        self.lines = [line.rstrip("\r") for line in text.split("\n")]

    def line_of(self, table: str, nth: int = 0, array: bool = False) -> int | None:
        """The line (from 1) of the ``nth`` header of ``table`` (``"relations.density"``)."""
        open_, close = (r"\[\[", r"\]\]") if array else (r"\[", r"\]")
        dotted = r"[ \t]*\.[ \t]*".join(_key_pattern(k) for k in table.split("."))
        pattern = re.compile(rf"[ \t]*{open_}[ \t]*{dotted}[ \t]*{close}[ \t]*(#.*)?")
        found = [i + 1 for i, line in enumerate(self.lines) if pattern.fullmatch(line)]
        return found[nth] if len(found) > nth else None

    def key_line(self, table: str, key: str) -> int | None:
        """The line of ``key = ...`` in the table ``[table]``, before the next header."""
        start = self.line_of(table)
        if start is None:
            return None
        pattern = re.compile(rf"[ \t]*{_key_pattern(key)}[ \t]*=")
        for i in range(start, len(self.lines)):
            if _ANY_HEADER.fullmatch(self.lines[i]):
                return None
            if pattern.match(self.lines[i]):
                return i + 1
        return None

    def error(
        self, table: str, message: str, line: int | None = None, cls: type = TheoryError
    ) -> TheoryError:
        at = f", line {line}" if line else ""
        return cls(f"{self.label}, table [{table}]{at}: {message}")

    def located(self, err: TheoryError) -> TheoryError:
        """``err`` raised by :class:`Theory`, of the same class, prefixed with where in the
        file the part it is about is written (see ``_part`` in :mod:`tgds.theory._theory`)."""
        section, key = getattr(err, "theory_part", None) or (None, None)
        if section == "constraints":
            return self.error(
                f"constraints #{key + 1}",
                str(err),
                self.line_of("constraints", key, True),
                type(err),
            )
        if section == "physics_model":
            return self.error(section, str(err), self.line_of(section), type(err))
        if section in ("variables", "parameters", "relations"):
            where = f"{section}.{key}"
            line = self.line_of(where) or self.key_line(section, key)
            return self.error(where, str(err), line, type(err))
        return type(err)(f"{self.label}: {err}")


def _read(source: str | Path) -> _Source:
    if isinstance(source, Path) or (
        isinstance(source, str)
        and "\n" not in source
        and (
            source.strip().lower().endswith(".toml")
            or Path(source).is_file()
            # one line with no key and no table is not TOML text: a path (misspelt?)
            or (source.strip() and "=" not in source and "[" not in source)
        )
    ):
        path = Path(source)
        try:
            return _Source(path.read_text(encoding="utf-8"), f"theory file '{path}'")
        except FileNotFoundError:
            raise TheoryError(f"theory file '{path}' does not exist.") from None
        except (OSError, UnicodeDecodeError) as err:
            raise TheoryError(f"theory file '{path}' cannot be read: {err}.") from None
    if not isinstance(source, str):
        raise TheoryError(f"from_toml takes a path or TOML text; got {type(source).__name__}.")
    return _Source(source, "theory TOML")


def theory_from_toml(source: str | Path) -> Theory:
    """Read a :class:`Theory` from a TOML file or text.

    Examples
    --------
    >>> t = theory_from_toml('[variables.x]\\nunit = "m"\\n[variables.y]\\nunit = "s"\\nrole = "target"')
    >>> t.targets
    ('y',)
    """
    src = _read(source)
    try:
        data = tomllib.loads(src.text)
    except tomllib.TOMLDecodeError as err:
        raise TheoryError(f"{src.label} is not valid TOML: {err}.") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise TheoryError(
            f"{src.label} is nested too deeply: a theory needs a few levels of tables and "
            "arrays, not hundreds."
        ) from None
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise TheoryError(
            f"{src.label}: unknown top-level key(s) {unknown}; allowed: {', '.join(_TOP_KEYS)}."
        )
    variables = _tables(src, data, "variables", _VARIABLE_KEYS, _variable)
    parameters = _tables(src, data, "parameters", _PARAMETER_KEYS, _parameter)
    relations = _relations(src, data.get("relations", {}))
    constraints = _constraints(src, data.get("constraints", []))
    physics = _physics(src, data["physics_model"]) if "physics_model" in data else None
    try:
        return Theory(
            variables=variables,
            parameters=parameters,
            relations=relations,
            constraints=constraints,
            physics_model=physics,
            name=data.get("name", ""),
            description=data.get("description", ""),
        )
    except TheoryError as err:
        raise src.located(err) from None


def _tables(src: _Source, data: dict, key: str, allowed: tuple[str, ...], make: Any) -> list:
    section = data.get(key, {})
    if not isinstance(section, dict):
        raise src.error(key, f"expected tables such as [{key}.name]; got {type(section).__name__}.")
    out = []
    for name, table in section.items():
        where = f"{key}.{name}"
        line = src.line_of(where) or src.key_line(key, name)
        if not isinstance(table, dict):
            raise src.error(
                where,
                f"expected a table of {', '.join(allowed)}; got {type(table).__name__} {table!r:.40}.",
                line,
            )
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise src.error(
                where, f"unknown key(s) {unknown}; allowed keys: {', '.join(allowed)}.", line
            )
        try:
            out.append(make(name, table, where))
        except (TheoryError, TypeError) as err:
            raise src.error(where, str(err), line) from None
    return out


def _variable(name: str, table: dict, where: str) -> Variable:
    return Variable(name=name, **table)


def _parameter(name: str, table: dict, where: str) -> Parameter:
    table = dict(table)
    if "prior" in table:
        table["prior"] = prior_from_dict(table["prior"], "key 'prior'")
    return Parameter(name=name, **table)


def _relations(src: _Source, section: object) -> list[Relation]:
    if not isinstance(section, dict):
        raise src.error(
            "relations", f'expected name = "expression" entries; got {type(section).__name__}.'
        )
    out = []
    for name, spec in section.items():
        where = f"relations.{name}"
        line = src.line_of(where) or src.key_line("relations", name)
        try:
            if isinstance(spec, dict):
                unknown = sorted(set(spec) - set(_RELATION_KEYS))
                if unknown:
                    raise TheoryError(
                        f"unknown key(s) {unknown}; allowed keys: {', '.join(_RELATION_KEYS)}"
                    )
                out.append(Relation(name=name, **spec))
            else:
                out.append(Relation(name=name, expression=spec))
        except (TheoryError, TypeError) as err:
            raise src.error(where, str(err), line) from None
    return out


def _constraints(src: _Source, section: object) -> list[AbstractConstraint]:
    if not isinstance(section, list):
        raise src.error(
            "constraints", f"expected [[constraints]] tables; got {type(section).__name__}."
        )
    out = []
    for i, table in enumerate(section):
        where = f"constraints #{i + 1}"
        line = src.line_of("constraints", i, array=True)
        try:
            out.append(constraint_from_dict(table, "constraint"))
        except (TheoryError, TypeError) as err:
            raise src.error(where, str(err), line) from None
    return out


def _physics(src: _Source, table: object) -> PhysicsModel:
    line = src.line_of("physics_model")
    if not isinstance(table, dict):
        raise src.error("physics_model", f"expected a table; got {type(table).__name__}.", line)
    unknown = sorted(set(table) - set(_PHYSICS_KEYS))
    if unknown:
        raise src.error(
            "physics_model",
            f"unknown key(s) {unknown}; allowed keys: {', '.join(_PHYSICS_KEYS)}.",
            line,
        )
    try:
        return PhysicsModel(**table)
    except (TheoryError, TypeError) as err:
        raise src.error("physics_model", str(err), line) from None


# -- writing -------------------------------------------------------------------------------
def theory_to_toml(theory: Theory, path: str | Path | None = None) -> str:
    """The TOML text of ``theory``; also written atomically to ``path`` when given."""
    data: dict[str, Any] = {}
    if theory.name:
        data["name"] = theory.name
    if theory.description:
        data["description"] = theory.description
    data["variables"] = {
        v.name: _drop_defaults(v, {"unit": "1", "role": "input", "description": ""})
        for v in theory.variables
    }
    if theory.parameters:
        data["parameters"] = {p.name: _parameter_dict(p) for p in theory.parameters}
    if theory.relations:
        data["relations"] = {r.name: _relation_dict(r) for r in theory.relations}
    if theory.constraints:
        data["constraints"] = [c.to_dict() for c in theory.constraints]
    if theory.physics_model is not None:
        data["physics_model"] = _physics_dict(theory.physics_model)
    try:
        text = _emit(data)
    except ValueError as err:
        raise TheoryError(str(err)) from None
    if path is not None:
        atomic_write_text(Path(path), text)
    return text


def _drop_defaults(obj: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in obj.__dataclass_fields__:
        value = getattr(obj, key)
        if key == "name" or value is None or defaults.get(key, object()) == value:
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _parameter_dict(p: Parameter) -> dict[str, Any]:
    out = _drop_defaults(p, {"unit": "1", "description": ""})
    if p.prior is not None:
        out["prior"] = p.prior.to_dict()
    return out


def _relation_dict(r: Relation) -> dict[str, Any]:
    rest = _drop_defaults(r, {"empirical": False, "description": ""})
    return {"expression": r.expression.text, **{k: v for k, v in rest.items() if k != "expression"}}


def _physics_dict(pm: PhysicsModel) -> dict[str, Any]:
    if pm.function is not None:
        raise TheoryError(
            "this theory's physics model is a Python function, which cannot be written to TOML; "
            "write it as outputs = {target = 'expression'} or rates = {...} to share it."
        )
    out: dict[str, Any] = {pm.kind: {k: e.text for k, e in pm.expressions.items()}}
    if pm.time:
        out["time"] = pm.time
    if pm.description:
        out["description"] = pm.description
    return out


# -- writing the structure above ------------------------------------------------------------
def _emit(data: dict[str, Any]) -> str:
    lines = [
        f"{toml_key(k)} = {toml_value(v)}"
        for k, v in data.items()
        if not isinstance(v, dict | list)
    ]
    for section in ("variables", "parameters", "relations"):
        for name, table in data.get(section, {}).items():
            lines.append(f"\n[{section}.{toml_key(name)}]")
            lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
    for table in data.get("constraints", []):
        lines.append("\n[[constraints]]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
    if "physics_model" in data:
        lines.append("\n[physics_model]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in data["physics_model"].items())
    return "\n".join(lines).lstrip("\n") + "\n"
