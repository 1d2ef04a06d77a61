"""Exceptions raised by tgds.

Every error subclasses a built-in exception so that ordinary ``except ValueError``
code keeps working. Messages name the thing, its owner, what was expected and what
was received, and for common mistakes, the fix.
"""

from __future__ import annotations

__all__ = ["TgdsError", "TheoryError", "DataError", "UnitError"]


class TgdsError(Exception):
    """Base class of every error raised by tgds."""


class TheoryError(TgdsError, ValueError):
    """A theory, one of its parts or one of its expressions is invalid."""


class UnitError(TheoryError):
    """An expression or a value is dimensionally inconsistent."""


class DataError(TgdsError, ValueError):
    """Data do not fit what the theory or an estimator expects."""
