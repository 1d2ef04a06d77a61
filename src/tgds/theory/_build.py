"""Conversion of a validated expression tree to sympy, with dimensional analysis.

The builder walks the ``ast`` tree accepted by :mod:`tgds.theory._parser` and builds
the sympy expression node by node (no text is ever handed to sympy). When it is given
a *unit environment* (the units of every name, as a :class:`~tgds.theory.Theory` knows
them) it also infers the unit of every node, refuses dimensionally inconsistent terms
with a :class:`~tgds.exceptions.UnitError` naming the expression, the offending term
and both dimensions, and inserts conversion factors where terms of the same dimension
are written in different units (``x_m + y_km``), so that the result is in the unit of
the first term. Offset temperatures follow the rules in :mod:`tgds.theory._units`.
The literal ``0`` is compatible with every dimension.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass

import sympy

from tgds.exceptions import TheoryError, UnitError
from tgds.theory._parser import ParseContext
from tgds.theory._units import UnitInfo, conversion_factor, dimension_text, ureg

__all__ = ["Binding", "DerivativeSpec", "build", "symbol"]

_DIMENSIONLESS = UnitInfo(ureg.dimensionless)
_SYMPY_FUNCTIONS = {
    "exp": sympy.exp,
    "log": sympy.log,
    "log10": lambda a: sympy.log(a, 10),
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "arcsin": sympy.asin,
    "arccos": sympy.acos,
    "arctan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
}
_MAX_NUMBER_LOG10 = 300


def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol tgds uses for the name ``name`` (always real)."""
    return sympy.Symbol(name, real=True)


@dataclass(frozen=True, order=True)
class DerivativeSpec:
    """A partial derivative of a field: ``field`` differentiated once for each name in ``wrt``.

    ``wrt`` is kept sorted (mixed partial derivatives commute for smooth fields), so one
    derivative has one spec and one key.
    """

    field: str
    wrt: tuple[str, ...]

    @property
    def key(self) -> str:
        """The canonical text, e.g. ``D(u, x)``, ``D(u, x, 2)``, ``D(D(u, t), x, 2)``."""
        text = self.field
        for name in sorted(set(self.wrt)):
            n = self.wrt.count(name)
            text = f"D({text}, {name})" if n == 1 else f"D({text}, {name}, {n})"
        return text

    @property
    def order(self) -> int:
        return len(self.wrt)

    def symbol(self) -> sympy.Symbol:
        return symbol(self.key)


@dataclass(frozen=True)
class Binding:
    """What a name stands for when an expression is built inside a theory.

    ``kind`` is one of ``"input"`` (may be differentiated against), ``"field"`` (a
    target: may be differentiated), ``"parameter"``, ``"relation"`` or ``"other"``.
    ``expr`` is what the name is replaced by: its symbol, or a relation's expression.
    """

    expr: sympy.Expr
    info: UnitInfo
    kind: str


@dataclass(frozen=True)
class _Term:
    expr: sympy.Expr
    info: UnitInfo | None
    node: ast.AST
    zero: bool = False


@dataclass(frozen=True)
class Built:
    """The result of :func:`build`: the sympy expression, its unit and its derivatives."""

    expr: sympy.Expr
    info: UnitInfo | None
    derivatives: frozenset[DerivativeSpec]


def build(ctx: ParseContext, body: ast.expr, env: Mapping[str, Binding] | None = None) -> Built:
    """Build the sympy expression of a validated tree; check units when ``env`` is given."""
    builder = _Builder(ctx, env)
    try:
        if isinstance(body, ast.Compare):  # an equation lhs == rhs, allowed by the parser
            term = builder.combine(
                body, builder.visit(body.left), builder.visit(body.comparators[0]), -1
            )
        else:
            term = builder.visit(body)
    except (
        TypeError,
        ValueError,
        ArithmeticError,
        RecursionError,
        MemoryError,
        AttributeError,
    ) as err:
        if isinstance(err, TheoryError):
            raise
        raise ctx.fail(None, f"could not be built ({type(err).__name__}: {err})") from None
    _check_finite(ctx, term.expr)
    return Built(term.expr, term.info, frozenset(builder.derivatives))


def _check_finite(ctx: ParseContext, expr: sympy.Expr) -> None:
    bad = {sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I}
    atoms = expr.atoms(sympy.Number, sympy.NumberSymbol, sympy.core.numbers.ImaginaryUnit)
    if any(a in bad for a in atoms) or expr in bad:
        raise ctx.fail(
            None,
            "contains a constant part that is infinite, undefined or complex (e.g. 1/0, log(0), sqrt(-1))",
        )
    for a in atoms:
        if isinstance(a, sympy.Number) and not math.isfinite(float(a)):
            raise ctx.fail(None, "contains a number too large to represent as a float")


class _Builder:
    def __init__(self, ctx: ParseContext, env: Mapping[str, Binding] | None):
        self.ctx = ctx
        self.env = env
        self.checking = env is not None
        self.derivatives: set[DerivativeSpec] = set()

    # -- nodes -----------------------------------------------------------------------
    def visit(self, node: ast.AST) -> _Term:
        method = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> _Term:
        value = node.value
        expr = sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
        return _Term(expr, _DIMENSIONLESS if self.checking else None, node, zero=(value == 0))

    def visit_Name(self, node: ast.Name) -> _Term:
        name = node.id
        if name == "pi" and (self.env is None or "pi" not in self.env):
            return _Term(sympy.pi, _DIMENSIONLESS if self.checking else None, node)
        if self.env is None:
            return _Term(symbol(name), None, node)
        binding = self.env.get(name)
        if binding is None:
            known = ", ".join(sorted(self.env)) or "none"
            raise self.ctx.fail(node, f"unknown name {name!r}; the theory knows: {known}")
        return _Term(binding.expr, binding.info, node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Term:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.UAdd):
            return _Term(operand.expr, operand.info, node, operand.zero)
        if operand.info is not None and operand.info.offset:
            raise self._offset_error(operand, "negated")
        return _Term(-operand.expr, operand.info, node, operand.zero)

    def visit_BinOp(self, node: ast.BinOp) -> _Term:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Add | ast.Sub):
            return self.combine(node, left, right, 1 if isinstance(node.op, ast.Add) else -1)
        if isinstance(node.op, ast.Pow):
            return self.power(node, left, right)
        for term in (left, right):
            if term.info is not None and term.info.offset:
                raise self._offset_error(term, "multiplied or divided")
        if isinstance(node.op, ast.Mult):
            expr = left.expr * right.expr
            info = UnitInfo(left.info.unit * right.info.unit) if self.checking else None
        else:
            expr = left.expr / right.expr
            info = UnitInfo(left.info.unit / right.info.unit) if self.checking else None
        return _Term(expr, info, node)

    def visit_Call(self, node: ast.Call) -> _Term:
        name = node.func.id
        if name == "D":
            return self.derivative(node)
        if name == "where":
            return self.where(node)
        args = [self.visit(a) for a in node.args]
        if name in ("min", "max"):
            return self.extremum(node, name, args)
        (arg,) = args
        if name in _SYMPY_FUNCTIONS:
            value = self.as_dimensionless(arg, f"the argument of {name}()")
            return _Term(
                _SYMPY_FUNCTIONS[name](value), _DIMENSIONLESS if self.checking else None, node
            )
        if arg.info is not None and arg.info.offset:
            raise self._offset_error(arg, f"passed to {name}()")
        if name == "sqrt":
            info = UnitInfo(arg.info.unit**0.5) if self.checking else None
            return _Term(sympy.sqrt(arg.expr), info, node)
        if name == "abs":
            return _Term(sympy.Abs(arg.expr), arg.info, node)
        return _Term(sympy.sign(arg.expr), _DIMENSIONLESS if self.checking else None, node)  # sign

    # -- composite rules ------------------------------------------------------------
    def combine(self, node: ast.AST, left: _Term, right: _Term, sign: int) -> _Term:
        """``left + right`` (sign 1) or ``left - right`` (sign -1), with unit rules."""
        if not self.checking:
            return _Term(left.expr + sign * right.expr, None, node)
        if right.zero:
            return _Term(left.expr, left.info, node, left.zero)
        if left.zero:
            if sign < 0 and right.info.offset:
                raise self._offset_error(right, "negated")
            return _Term(sign * right.expr, right.info, node)
        self.same_dimension(node, left, right, "added" if sign > 0 else "subtracted")
        converted = right.expr * self.factor(right, left)
        lo, ro = left.info.offset, right.info.offset
        if lo and ro:
            if sign > 0:
                raise self.ctx.fail(
                    node,
                    "two offset temperatures cannot be added; subtract them to get a difference",
                )
            info = UnitInfo(left.info.unit)
        elif ro and sign < 0:
            raise self._offset_error(right, "subtracted from a temperature difference")
        else:
            info = UnitInfo(left.info.unit, offset=lo or ro)
        return _Term(left.expr + sign * converted, info, node)

    def power(self, node: ast.BinOp, base: _Term, exponent: _Term) -> _Term:
        expo = exponent.expr
        if expo.is_Number and abs(float(expo)) > 1000:
            raise self.ctx.fail(node, "exponents are limited to magnitude 1000")
        if base.expr.is_Number and expo.is_Number and base.expr != 0:
            size = math.log10(abs(float(base.expr))) * float(expo) if float(base.expr) != 0 else 0
            if abs(size) > _MAX_NUMBER_LOG10:
                raise self.ctx.fail(node, "the power is too large to represent as a float")
        if not self.checking:
            return _Term(base.expr**expo, None, node)
        if exponent.info.offset or base.info.offset:
            raise self._offset_error(
                base if base.info.offset else exponent, "raised to a power or used as exponent"
            )
        expo = self.as_dimensionless(exponent, "an exponent")
        if base.info.unit.dimensionless:
            return _Term(self.as_dimensionless(base, "the base") ** expo, _DIMENSIONLESS, node)
        if not expo.is_Number:
            raise UnitError(
                f"{self.ctx.owner} {self.ctx.text!r}: the base {self._segment(base)!r} has dimension "
                f"{base.info.describe()}, so its exponent {self._segment(exponent)!r} must be a number"
            )
        p = int(expo) if expo.is_Integer else float(expo)
        return _Term(base.expr**expo, UnitInfo(base.info.unit**p), node)

    def derivative(self, node: ast.Call) -> _Term:
        spec, info = self.derivative_spec(node)
        self.derivatives.add(spec)
        return _Term(spec.symbol(), info, node)

    def derivative_spec(self, node: ast.Call) -> tuple[DerivativeSpec, UnitInfo | None]:
        """The spec and unit of ``D(target, wrt[, n])``; ``target`` may be another ``D(...)``."""
        target, wrt_node, *order = node.args
        n = order[0].value if order else 1
        if isinstance(target, ast.Call):  # nested D(D(u, x), t)
            inner, field_info = self.derivative_spec(target)
        else:
            inner = DerivativeSpec(target.id, ())
            field_info = self.name_info(target, "field", "differentiated")
        wrt_info = self.name_info(wrt_node, "input", "a variable to differentiate against")
        spec = DerivativeSpec(inner.field, tuple(sorted(inner.wrt + (wrt_node.id,) * n)))
        info = UnitInfo(field_info.unit / wrt_info.unit**n) if self.checking else None
        return spec, info

    def where(self, node: ast.Call) -> _Term:
        cond_node, a_node, b_node = node.args
        left, right = self.visit(cond_node.left), self.visit(cond_node.comparators[0])
        if self.checking and not (left.zero or right.zero):
            self.same_dimension(cond_node, left, right, "compared")
            if left.info.offset != right.info.offset:
                raise self.ctx.fail(
                    cond_node, "compares an offset temperature with a temperature difference"
                )
        rhs = right.expr * (
            self.factor(right, left) if self.checking and not (left.zero or right.zero) else 1
        )
        op = {
            ast.Lt: sympy.StrictLessThan,
            ast.LtE: sympy.LessThan,
            ast.Gt: sympy.StrictGreaterThan,
            ast.GtE: sympy.GreaterThan,
        }[type(cond_node.ops[0])]
        cond = op(left.expr, rhs)
        a, b = self.visit(a_node), self.visit(b_node)
        first, second = self.aligned(node, [a, b], "the two branches of where()")
        return _Term(sympy.Piecewise((first.expr, cond), (second.expr, True)), first.info, node)

    def extremum(self, node: ast.Call, name: str, args: list[_Term]) -> _Term:
        aligned = self.aligned(node, args, f"the arguments of {name}()")
        func = sympy.Min if name == "min" else sympy.Max
        return _Term(func(*[t.expr for t in aligned]), aligned[0].info, node)

    # -- helpers --------------------------------------------------------------------
    def aligned(self, node: ast.AST, terms: list[_Term], what: str) -> list[_Term]:
        """Convert ``terms`` to the unit of the first non-zero one; check dimensions."""
        if not self.checking:
            return terms
        ref = next((t for t in terms if not t.zero), terms[0])
        out = []
        for t in terms:
            if t.zero or t is ref:
                out.append(_Term(t.expr, ref.info, t.node))
                continue
            self.same_dimension(node, ref, t, f"used together as {what}")
            if t.info.offset != ref.info.offset:
                raise self.ctx.fail(
                    node, f"{what} mix an offset temperature and a temperature difference"
                )
            out.append(_Term(t.expr * self.factor(t, ref), ref.info, t.node))
        return out

    def name_info(self, node: ast.Name, kind: str, role: str) -> UnitInfo | None:
        if self.env is None:
            return None
        binding = self.env.get(node.id)
        if binding is None:
            known = ", ".join(sorted(self.env)) or "none"
            raise self.ctx.fail(node, f"unknown name {node.id!r}; the theory knows: {known}")
        if binding.kind != kind:
            want = "a target (output) variable" if kind == "field" else "an input variable"
            raise self.ctx.fail(node, f"{node.id!r} is a {binding.kind}, but {role} must be {want}")
        return UnitInfo(binding.info.unit)  # the delta unit for an offset temperature

    def same_dimension(self, node: ast.AST, a: _Term, b: _Term, verb: str) -> None:
        if a.info.unit.dimensionality != b.info.unit.dimensionality:
            raise UnitError(
                f"{self.ctx.owner} {self.ctx.text!r}: the terms {self._segment(a)!r} and "
                f"{self._segment(b)!r} are {verb} but have different dimensions: "
                f"{a.info.describe()} and {b.info.describe()}"
            )

    def factor(self, term: _Term, ref: _Term) -> sympy.Expr:
        f = conversion_factor(term.info.unit, ref.info.unit)
        return sympy.Integer(1) if f == 1.0 else sympy.Float(f)

    def as_dimensionless(self, term: _Term, what: str) -> sympy.Expr:
        if not self.checking:
            return term.expr
        if term.info.offset:
            raise self._offset_error(term, f"used as {what}")
        if not term.info.unit.dimensionless:
            raise UnitError(
                f"{self.ctx.owner} {self.ctx.text!r}: {what} must be dimensionless, but "
                f"{self._segment(term)!r} has dimension {dimension_text(term.info.unit)}"
            )
        f = conversion_factor(term.info.unit, ureg.dimensionless)
        return term.expr if f == 1.0 else term.expr * sympy.Float(f)

    def _segment(self, term: _Term) -> str:
        return ast.get_source_segment(self.ctx.text, term.node) or str(term.expr)

    def _offset_error(self, term: _Term, verb: str) -> UnitError:
        return UnitError(
            f"{self.ctx.owner} {self.ctx.text!r}: {self._segment(term)!r} is an offset temperature "
            f"(e.g. degC), which cannot be {verb}: the result would depend on where the scale's zero "
            "is. Use kelvin (unit = 'K'), a difference (T - T0), or declare the relation empirical."
        )
