"""Conversion of a validated expression tree to sympy, with dimensional analysis.

The builder walks the ``ast`` tree accepted by :mod:`tgds.theory._parser` and builds
the sympy expression node by node (no text is ever handed to sympy). When it is given
a *unit environment* (the units of every name, as a :class:`~tgds.theory.Theory` knows
them) it also infers the unit of every node, refuses dimensionally inconsistent terms
with a :class:`~tgds.exceptions.UnitError` naming the expression, the offending term
and both dimensions, and inserts conversion factors where terms of the same dimension
are written in different units (``x_m + y_km``), so that the result is in the unit of
the first term (of the offset temperature, in ``difference + temperature``). Offset
temperatures follow the rules in :mod:`tgds.theory._units`: each node also records whether
it is an absolute temperature (a name in K or degR, or sums and numeric multiples of one),
which is never subtracted from, compared or equated with an offset temperature.
The literal ``0`` is compatible with every dimension.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy

from tgds.exceptions import TheoryError, UnitError
from tgds.theory._compile import compile_sympy
from tgds.theory._parser import ParseContext
from tgds.theory._units import (
    UnitInfo,
    conversion_factor,
    dimension_text,
    offset_scale,
    scale_shift,
    unit_text,
    ureg,
)

__all__ = ["Binding", "DerivativeSpec", "build", "symbol"]

_DIMENSIONLESS = UnitInfo(ureg.dimensionless)
_KIND_WORDS = {
    "input": "an input variable",
    "field": "a target variable",
    "parameter": "a parameter",
    "relation": "a relation",
    "other": "a group variable",
}
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
_NOT_FINITE = (sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I)
_NOT_FINITE_WHY = (
    "contains a constant part that is infinite, undefined or complex "
    "(e.g. 1/0, log(0), sqrt(-1), arccos(2))"
)
_TOO_LARGE_WHY = "contains a constant part that is too large to represent as a float"
#: The most nodes an expression may have, counted as a tree (a subexpression used twice
#: counts twice) once the relations it uses are substituted: each use of a relation copies
#: it, so a chain of relations that each use the previous one twice grows exponentially.
MAX_TERMS = 20_000
#: The most weight of min/max/where nodes, counted the same way, each weighing the square
#: of its number of arguments: sympy compares the arguments of each one with each other
#: when it builds it, at a cost that grows much faster than their size when they hold
#: other min/max/where calls.
MAX_SELECTIONS = 400
_SELECTIONS = (sympy.Min, sympy.Max)
_WHERES = (sympy.Piecewise, sympy.ITE)  # sympy rewrites a where() in a condition as ITE
_WHERE_WEIGHT = 25
_GROWTH_HINT = "write it with fewer nested uses of other relations"


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
    """A built node. ``absolute``: a temperature on an absolute scale (a name declared in
    K or degR, or sums and numeric multiples of one), which must not meet an offset
    temperature. ``note``: why an offset temperature is one, for its error message."""

    expr: sympy.Expr
    info: UnitInfo | None
    node: ast.AST
    zero: bool = False
    absolute: bool = False
    note: str = ""


@dataclass(frozen=True)
class Built:
    """The result of :func:`build`: the sympy expression, its unit and its derivatives.

    ``names`` are the names written in the text outside ``D(...)``; sympy may simplify
    some of them away (``x - x`` is 0), but their values still set the shape of a result.
    """

    expr: sympy.Expr
    info: UnitInfo | None
    derivatives: frozenset[DerivativeSpec]
    names: frozenset[str] = frozenset()


def build(ctx: ParseContext, body: ast.expr, env: Mapping[str, Binding] | None = None) -> Built:
    """Build the sympy expression of a validated tree; check units when ``env`` is given."""
    builder = _Builder(ctx, env)
    try:
        if isinstance(body, ast.Compare):  # an equation lhs == rhs, allowed by the parser
            left, right = builder.visit(body.left), builder.visit(body.comparators[0])
            term = builder.combine(body, left, right, -1, "equated")
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
    return Built(term.expr, term.info, frozenset(builder.derivatives), frozenset(builder.names))


def _check_finite(ctx: ParseContext, expr: sympy.Expr) -> None:
    """Refuse constant parts that are infinite, undefined, complex or too large for a float.

    sympy folds ``1/0`` to ``zoo`` and ``sqrt(-1)`` to ``I``, but leaves ``acos(2)`` or
    ``exp(1000)`` as they are. So every largest constant part is also evaluated the way
    the compiled expression will evaluate it, in float64 with NumPy; sympy's ``evalf``
    is not used because it can run for ever (``exp(exp(exp(100)))``). The builder checks
    each constant part as it is built; this pass catches what sympy's simplification
    makes of the whole (``x/(y - y)`` is ``zoo*x``, an equation's residual).
    """
    if expr.has(*_NOT_FINITE):  # anywhere, also in a part with symbols
        raise ctx.fail(None, _NOT_FINITE_WHY)
    for part in _constant_parts(expr):
        why = _not_a_float(part)
        if why:
            raise ctx.fail(None, why)


def _not_a_float(constant: sympy.Expr) -> str | None:
    """Why ``constant`` cannot be computed as a finite float, or None if it can."""
    if constant.has(*_NOT_FINITE):
        return _NOT_FINITE_WHY
    value = _float_value(constant)
    if math.isnan(value):  # NumPy's answer for a complex value, too
        return _NOT_FINITE_WHY
    return _TOO_LARGE_WHY if math.isinf(value) else None


def _tree_counts(expr: sympy.Basic, memo: dict) -> tuple[int, int]:
    """The number of nodes of ``expr`` and of min/max/where nodes among them, as a tree.

    sympy shares equal subexpressions, so walking the tree would take as long as the
    growth it measures; the counts are computed on the shared graph, once per node
    (``memo`` maps a node to its counts), without recursion.
    """
    if expr in memo:
        return memo[expr]
    stack = [expr]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        terms, selections = 1, 0
        for a in node.args:
            t, s = memo[a]
            terms += t
            selections += s
        memo[node] = (terms, selections + _selection_weight(node, selections))
    return memo[expr]


def _selection_weight(node: sympy.Basic, inner: int) -> int:
    """What a min/max/where node adds to the weight limited by :data:`MAX_SELECTIONS`;
    ``inner`` is the weight of the ones in its arguments. Comparing arguments that hold
    no min/max/where is cheap, so such a node weighs 1."""
    if not isinstance(node, _SELECTIONS + _WHERES):
        return 0
    if not inner:
        return 1
    if isinstance(node, _WHERES):
        return _WHERE_WEIGHT  # sympy also solves its conditions when they hold a where()
    return len(node.args) ** 2


def _constant_parts(expr: sympy.Basic) -> set[sympy.Expr]:
    """The largest sub-expressions of ``expr`` that contain no symbol, found in one pass."""
    parts: set[sympy.Expr] = set()

    def is_constant(node: sympy.Basic) -> bool:
        if isinstance(node, sympy.Symbol):
            return False
        flags = [is_constant(a) for a in node.args]
        if all(flags):
            return True
        parts.update(
            a
            for a, flag in zip(node.args, flags, strict=True)
            if flag and isinstance(a, sympy.Expr)
        )
        return False

    if is_constant(expr) and isinstance(expr, sympy.Expr):
        parts.add(expr)
    return parts


def _float_value(part: sympy.Expr) -> float:
    """``part`` computed as the compiled expression computes it (Python floats may raise)."""
    try:
        with np.errstate(all="ignore"):
            return float(compile_sympy(part, np)({}))
    except ZeroDivisionError:
        return math.nan
    except OverflowError:
        return math.inf


class _Builder:
    def __init__(self, ctx: ParseContext, env: Mapping[str, Binding] | None):
        self.ctx = ctx
        self.env = env
        self.checking = env is not None
        self.derivatives: set[DerivativeSpec] = set()
        self.names: set[str] = set()  # written outside D(...)
        self.sizes: dict[sympy.Basic, tuple[int, int]] = {}  # see _tree_counts

    # -- size limits -------------------------------------------------------------------
    def check_size(self, *exprs: sympy.Basic, selection: int = 0) -> None:
        """Refuse an expression (or the min/max/where of ``selection`` arguments about to be
        built of ``exprs``) that relations substituted into each other have made too large
        to handle in reasonable time; checked before sympy, or any walk of the expression,
        sees it whole."""
        terms, selections = int(selection > 0), 0
        for expr in exprs:
            t, s = _tree_counts(expr, self.sizes)
            terms += t
            selections += s
        if selection and selections:  # as _selection_weight counts the node to be built
            selections += selection**2
        if terms > MAX_TERMS:
            raise self.ctx.fail(
                None,
                f"grows to {terms:.1e} terms when the relations it uses are substituted "
                f"(limit {MAX_TERMS}); {_GROWTH_HINT}",
            )
        if selections > MAX_SELECTIONS:
            raise self.ctx.fail(
                None,
                f"grows to min/max/where calls of weight {selections} (the number of their "
                "arguments squared, summed) when the relations it uses are "
                f"substituted (limit {MAX_SELECTIONS}); {_GROWTH_HINT}",
            )

    # -- nodes -----------------------------------------------------------------------
    def visit(self, node: ast.AST) -> _Term:
        term = getattr(self, "visit_" + type(node).__name__)(node)
        self.check_size(term.expr)
        if not term.expr.free_symbols:
            self.check_constant(term)
        return term

    def check_constant(self, term: _Term) -> None:
        """Refuse a constant part as soon as it is built, before sympy compares or signs it.

        sympy decides ``max(c, 1)``, ``sign(c)`` or ``c > 1`` by evaluating ``c`` with
        ever more digits, which for ``exp(exp(exp(100)))`` never ends.
        """
        why = _not_a_float(term.expr)
        if why:
            raise self.ctx.fail(term.node, why)

    def visit_Constant(self, node: ast.Constant) -> _Term:
        value = node.value
        expr = sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)
        return _Term(expr, _DIMENSIONLESS if self.checking else None, node, zero=(value == 0))

    def visit_Name(self, node: ast.Name) -> _Term:
        name = node.id
        if name == "pi" and (self.env is None or "pi" not in self.env):
            return _Term(sympy.pi, _DIMENSIONLESS if self.checking else None, node)
        self.names.add(name)
        if self.env is None:
            return _Term(symbol(name), None, node)
        binding = self.env.get(name)
        if binding is None:
            known = ", ".join(sorted(self.env)) or "none"
            raise self.ctx.fail(node, f"unknown name {name!r}; the theory knows: {known}")
        return _Term(binding.expr, binding.info, node, absolute=binding.info.absolute_temperature)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> _Term:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.UAdd):
            return _Term(operand.expr, operand.info, node, operand.zero, operand.absolute)
        if operand.info is not None and operand.info.offset:
            raise self._offset_error(operand, "negated")
        return _Term(-operand.expr, operand.info, node, operand.zero, operand.absolute)

    def visit_BinOp(self, node: ast.BinOp) -> _Term:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Add | ast.Sub):
            return self.combine(node, left, right, 1 if isinstance(node.op, ast.Add) else -1)
        if isinstance(node.op, ast.Pow):
            return self.power(node, left, right)
        for term in (left, right):
            if term.info is not None and term.info.offset:
                raise self._offset_error(term, "multiplied or divided")
        if not self.checking:
            expr = (
                left.expr * right.expr if isinstance(node.op, ast.Mult) else left.expr / right.expr
            )
            return _Term(expr, None, node)
        # an absolute temperature times a number is one still (the mean (T1 + T2)/2)
        absolute = left.absolute and right.info.unit.dimensionless
        if isinstance(node.op, ast.Mult):
            absolute = absolute or (right.absolute and left.info.unit.dimensionless)
            info = UnitInfo(left.info.unit * right.info.unit)
            return _Term(left.expr * right.expr, info, node, absolute=absolute)
        info = UnitInfo(left.info.unit / right.info.unit)
        return _Term(left.expr / right.expr, info, node, absolute=absolute)

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
            if name == "exp":
                self.folded_exp(node, value)
            return _Term(
                _SYMPY_FUNCTIONS[name](value), _DIMENSIONLESS if self.checking else None, node
            )
        if arg.info is not None and arg.info.offset:
            raise self._offset_error(arg, f"passed to {name}()")
        if name == "sqrt":
            info = UnitInfo(arg.info.unit**0.5) if self.checking else None
            return _Term(sympy.sqrt(arg.expr), info, node)
        if name == "abs":
            return _Term(sympy.Abs(arg.expr), arg.info, node, absolute=arg.absolute)
        return _Term(sympy.sign(arg.expr), _DIMENSIONLESS if self.checking else None, node)  # sign

    # -- composite rules ------------------------------------------------------------
    def combine(
        self, node: ast.AST, left: _Term, right: _Term, sign: int, verb: str | None = None
    ) -> _Term:
        """``left + right`` (sign 1) or ``left - right`` (sign -1), with unit rules.

        ``verb`` names the operation in messages (``"equated"`` for ``lhs == rhs``)."""
        if not self.checking:
            return _Term(left.expr + sign * right.expr, None, node)
        if right.zero:
            return _Term(left.expr, left.info, node, left.zero, left.absolute, left.note)
        if left.zero:
            if sign < 0 and right.info.offset:
                raise self._offset_error(right, "negated")
            return _Term(sign * right.expr, right.info, node, absolute=right.absolute)
        verb = verb or ("added" if sign > 0 else "subtracted")
        self.same_dimension(node, left, right, verb)
        if sign < 0:  # a kelvin value added to a degC temperature can only be a difference
            self.same_temperature_scale(node, left, right, verb)
        if right.info.offset:
            return self.combine_offset(node, left, right, sign)
        # in the unit of the left term; an offset temperature plus a difference stays offset
        expr = left.expr + sign * right.expr * self.factor(right, left)
        if left.info.offset:
            note = self._temperature_note(node, left, right) if sign < 0 else ""
            return _Term(expr, left.info, node, note=note)
        # absolute +- difference and absolute + absolute (a sum to average) stay absolute
        absolute = left.absolute or right.absolute if sign > 0 else left.absolute != right.absolute
        return _Term(expr, left.info, node, absolute=absolute)

    def combine_offset(self, node: ast.AST, left: _Term, right: _Term, sign: int) -> _Term:
        """``left +/- right`` where ``right`` is an offset temperature (scales already checked)."""
        if left.info.offset:
            if sign > 0:
                raise self._offset_error(right, "added to another offset temperature")
            return _Term(left.expr - right.expr, UnitInfo(left.info.unit), node)  # a difference
        if sign < 0:
            raise self._offset_error(right, "subtracted from a temperature difference")
        # difference + temperature is a temperature on the right term's scale
        return _Term(left.expr * self.factor(left, right) + right.expr, right.info, node)

    def numeric_power(self, node: ast.AST, base: sympy.Expr, expo: sympy.Expr) -> None:
        """Refuse ``base**expo`` of numbers that sympy would compute exactly at great cost."""
        if not expo.is_Number:
            return
        if abs(float(expo)) > 1000:
            raise self.ctx.fail(node, "exponents are limited to magnitude 1000")
        if base.is_Number and base != 0:
            size = math.log10(abs(float(base))) * float(expo) if float(base) != 0 else 0
            if size > _MAX_NUMBER_LOG10:  # a tiny power such as 2**-1000 is a normal float
                raise self.ctx.fail(node, "the power is too large to represent as a float")

    def folded_powers(self, node: ast.AST, base: sympy.Expr, expo: sympy.Expr) -> None:
        """The limits of :meth:`numeric_power` for the powers sympy folds when it builds
        ``base**expo``: ``(b**e)**expo`` is ``b**(e*expo)`` for real ``e`` and a positive
        number ``b``, a number when ``e*expo`` is (``(7**x)**(3/x)`` is 343); without the
        check, ``(6389760**x)**(6389760/x)`` has sympy compute a 43-million-digit integer."""
        self.numeric_power(node, base, expo)
        b, e = base.as_base_exp()
        if b.is_Number and e is not base:
            self.numeric_power(node, b, e * expo)
        if isinstance(base, sympy.exp):  # exp(u)**expo is exp(u*expo)
            self.folded_exp(node, base.args[0] * expo)

    def folded_exp(self, node: ast.AST, arg: sympy.Expr) -> None:
        """The limits of :meth:`numeric_power` for ``exp(c*log(b) + ...)``, which sympy
        folds into ``b**c * exp(...)``."""
        for term in sympy.Add.make_args(arg):
            c, rest = term.as_coeff_Mul()
            if isinstance(rest, sympy.log) and rest.args[0].is_Number:
                self.numeric_power(node, rest.args[0], c)

    def power(self, node: ast.BinOp, base: _Term, exponent: _Term) -> _Term:
        expo = exponent.expr
        self.folded_powers(node, base.expr, expo)
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
            raise self._unit_error(
                f"the base {self._segment(base)!r} has dimension {base.info.describe()}, "
                f"so its exponent {self._segment(exponent)!r} must be a number"
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
            field_info = self.name_info(
                target,
                "field",
                "the first argument of D(), the quantity differentiated,",
                (target, wrt_node),
            )
        wrt_info = self.name_info(
            wrt_node,
            "input",
            "the second argument of D(), the variable to differentiate against,",
            (target, wrt_node),
        )
        spec = DerivativeSpec(inner.field, tuple(sorted(inner.wrt + (wrt_node.id,) * n)))
        info = UnitInfo(field_info.unit / wrt_info.unit**n) if self.checking else None
        return spec, info

    def where(self, node: ast.Call) -> _Term:
        cond_node, a_node, b_node = node.args
        left, right = self.visit(cond_node.left), self.visit(cond_node.comparators[0])
        if self.checking and not (left.zero or right.zero):
            self.same_dimension(cond_node, left, right, "compared")
            self.same_temperature_scale(cond_node, left, right, "compared")
            self.same_temperature_kind(left, right, "compared")
        rhs = right.expr * (
            self.factor(right, left) if self.checking and not (left.zero or right.zero) else 1
        )
        op = {
            ast.Lt: sympy.StrictLessThan,
            ast.LtE: sympy.LessThan,
            ast.Gt: sympy.StrictGreaterThan,
            ast.GtE: sympy.GreaterThan,
        }[type(cond_node.ops[0])]
        self.check_size(left.expr, rhs)
        cond = op(left.expr, rhs)
        a, b = self.visit(a_node), self.visit(b_node)
        first, second = self.aligned(node, [a, b], "the two branches of where()")
        self.check_size(cond, first.expr, second.expr, selection=5)
        expr = sympy.Piecewise((first.expr, cond), (second.expr, True))
        return _Term(expr, first.info, node, absolute=first.absolute or second.absolute)

    def extremum(self, node: ast.Call, name: str, args: list[_Term]) -> _Term:
        aligned = self.aligned(node, args, f"the arguments of {name}()")
        self.check_size(*[t.expr for t in aligned], selection=len(aligned))
        func = sympy.Min if name == "min" else sympy.Max
        absolute = any(t.absolute for t in aligned)
        return _Term(func(*[t.expr for t in aligned]), aligned[0].info, node, absolute=absolute)

    # -- helpers --------------------------------------------------------------------
    def aligned(self, node: ast.AST, terms: list[_Term], what: str) -> list[_Term]:
        """Convert ``terms`` to the unit of the first non-zero one; check dimensions."""
        if not self.checking:
            return terms
        ref = next((t for t in terms if not t.zero), terms[0])
        out = []
        for t in terms:
            if t.zero or t is ref:
                out.append(_Term(t.expr, ref.info, t.node, absolute=t.absolute))
                continue
            self.same_dimension(node, ref, t, f"used together as {what}")
            self.same_temperature_scale(node, ref, t, f"used together as {what}")
            self.same_temperature_kind(ref, t, f"used together as {what}")
            out.append(_Term(t.expr * self.factor(t, ref), ref.info, t.node, absolute=t.absolute))
        return out

    def name_info(
        self, node: ast.Name, kind: str, role: str, pair: tuple[ast.expr, ast.expr]
    ) -> UnitInfo | None:
        """The unit of a name used in ``D(...)`` as ``role``, which must be of ``kind``;
        ``pair`` is the first and second argument of that ``D(...)``."""
        if self.env is None:
            return None
        binding = self.env.get(node.id)
        if binding is None:
            known = ", ".join(sorted(self.env)) or "none"
            raise self.ctx.fail(node, f"unknown name {node.id!r}; the theory knows: {known}")
        if binding.kind != kind:
            want = (
                "a target (output) variable"
                if kind == "field"
                else "an input variable (role 'input' or 'time')"
            )
            raise self.ctx.fail(
                node,
                f"{role} must be {want}, but {node.id!r} is "
                f"{_KIND_WORDS[binding.kind]}{self.swap_hint(*pair)}",
            )
        return UnitInfo(binding.info.unit)  # the delta unit for an offset temperature

    def swap_hint(self, target: ast.expr, wrt: ast.expr) -> str:
        """A hint for ``D(x, u)`` written for ``D(u, x)``: an input first, a target second."""
        kinds = [
            getattr(self.env.get(n.id), "kind", None) if isinstance(n, ast.Name) else None
            for n in (target, wrt)
        ]
        if kinds != ["input", "field"]:
            return ""
        field, variable = wrt.id, target.id
        return (
            f" (to differentiate {field!r} with respect to {variable!r}, "
            f"write D({field}, {variable}))"
        )

    def same_dimension(self, node: ast.AST, a: _Term, b: _Term, verb: str) -> None:
        if a.info.unit.dimensionality != b.info.unit.dimensionality:
            hint = ""
            if (a.info.offset or b.info.offset) and isinstance(
                (b if a.info.offset else a).node, ast.Constant
            ):
                hint = (
                    "; a number has no unit: to convert a temperature in degC to kelvin, write "
                    "a relation declared empirical (expression = 'T + 273.15', unit = 'K', "
                    "empirical = true)"
                )
            raise self._unit_error(
                f"the terms {self._segment(a)!r} and {self._segment(b)!r} are {verb} but have "
                f"different dimensions: {a.info.describe()} and {b.info.describe()}{hint}"
            )

    def same_temperature_scale(self, node: ast.AST, a: _Term, b: _Term, verb: str) -> None:
        """Refuse an offset temperature beside a temperature on another scale: degC beside
        degF, K or degR. A factor alone would convert them wrongly (0 degC is 273.15 K)."""
        if not (a.info.offset or b.info.offset):
            return
        if a.info.offset and b.info.offset and a.info.unit == b.info.unit:
            return
        offset, other = (a, b) if a.info.offset else (b, a)
        if not (other.info.offset or other.absolute):
            return  # a difference: same_temperature_kind and combine decide
        shift = scale_shift(offset.info, other.info)
        if other.info.offset:
            why = f"both are offset temperatures, and {shift}; tgds converts units by a factor only"
        else:
            why = (
                f"{self._segment(offset)!r} is an offset temperature ({offset_scale(offset.info.unit)}) "
                f"and {self._segment(other)!r} is not ({other.info.unit}), and {shift}; tgds "
                f"converts units by a factor only, never by a shift, so it takes "
                f"{self._segment(other)!r} for a temperature difference, which gives a wrong result"
            )
        where = self._segment_of(node)
        where = f"in {where!r}, " if where and where != self.ctx.text else ""
        raise self._unit_error(
            f"{where}the temperatures {self._operand(a)} and {self._operand(b)} are {verb}, but "
            f"are on different temperature scales: {why}. {_same_scale_fix(a.info, b.info)}"
        )

    def same_temperature_kind(self, a: _Term, b: _Term, verb: str) -> None:
        """Refuse an offset temperature beside a difference (after same_temperature_scale)."""
        if a.info.offset != b.info.offset:
            offset, plain = (a, b) if a.info.offset else (b, a)
            raise self._unit_error(
                f"the terms {self._segment(a)!r} and {self._segment(b)!r} are {verb}, but "
                f"{self._segment(offset)!r} is an offset temperature "
                f"({offset_scale(offset.info.unit)}) and {self._segment(plain)!r} is not "
                f"({plain.info.unit}), so tgds takes {self._segment(plain)!r} for a temperature "
                "difference (it converts units by a factor only, never by the shift between an "
                "offset scale and kelvin); if both are temperatures, declare them in one unit"
            )

    def _temperature_note(self, node: ast.AST, offset: _Term, difference: _Term) -> str:
        """Why ``offset - difference`` is a temperature, for a later error on it."""
        scale = unit_text(offset.info)
        return (
            f"{self._segment(difference)!r} is a temperature difference "
            f"({unit_text(difference.info)}), so {self._segment_of(node)!r} is a {scale} "
            f"temperature, not a difference: if {self._segment(difference)!r} is a temperature, "
            f"declare it in {scale!r} like {self._segment(offset)!r}"
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
            raise self._unit_error(
                f"{what} must be dimensionless, but {self._segment(term)!r} has dimension "
                f"{dimension_text(term.info.unit)}"
            )
        f = conversion_factor(term.info.unit, ureg.dimensionless)
        return term.expr if f == 1.0 else term.expr * sympy.Float(f)

    def _segment(self, term: _Term) -> str:
        return ast.get_source_segment(self.ctx.text, term.node) or str(term.expr)

    def _segment_of(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.ctx.text, node) or ""

    def _operand(self, term: _Term) -> str:
        """``'T' (degC)``: a term and its unit as declared."""
        return f"{self._segment(term)!r} ({unit_text(term.info)})"

    def _offset_error(self, term: _Term, verb: str) -> UnitError:
        if term.note:  # an offset temperature minus a difference, maybe meant as T - T0
            return self._unit_error(
                f"{self._segment(term)!r} is an offset temperature, which cannot be {verb}: "
                f"the result would depend on where the scale's zero is. Here {term.note}."
            )
        return self._unit_error(
            f"{self._segment(term)!r} is an offset temperature (e.g. degC), which cannot be {verb}: "
            "the result would depend on where the scale's zero is. Use kelvin (unit = 'K'), "
            "a difference (T - T0), or declare the relation empirical."
        )

    def _unit_error(self, why: str) -> UnitError:
        return UnitError(f"{self.ctx.owner} {self.ctx.text!r}: {why}")


def _same_scale_fix(a: UnitInfo, b: UnitInfo) -> str:
    """The advice for temperatures ``a`` and ``b`` on two scales, in their declared units."""
    differences = [
        f"{'delta_' * i.offset + unit_text(i)!r} beside {unit_text(i)} temperatures"
        for i in sorted(dict.fromkeys((a, b)), key=lambda i: not i.offset)
    ]
    return (
        f"If both are temperatures, declare both in the same unit (both {unit_text(a)!r} or "
        f"both {unit_text(b)!r}); a temperature difference should be declared "
        f"{' or '.join(differences)}"
    )
