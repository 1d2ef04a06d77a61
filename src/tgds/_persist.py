"""``tgds.save`` and ``tgds.load``: safe files for fitted tgds estimators.

A model file is a tgds container (:mod:`tgds.utils._container`): JSON metadata with
the estimator's class, parameters (the theory as TOML text) and fitted attributes,
followed by the network's arrays. Loading accepts only the estimator classes listed
here, rebuilds the network's structure from the metadata and reads the arrays into
it; nothing is unpickled and no code named in the file is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tgds.exceptions import DataError
from tgds.models import TheoryGuidedClassifier, TheoryGuidedRegressor
from tgds.utils import read_container, read_container_meta, write_container

__all__ = ["save", "load"]

_KIND = "model-1"
_CLASSES = {cls.__name__: cls for cls in (TheoryGuidedRegressor, TheoryGuidedClassifier)}


def save(model: Any, path: str | Path) -> Path:
    """Write a fitted tgds estimator to ``path`` atomically; returns the path.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from tgds.models import TheoryGuidedRegressor
    >>> X = np.linspace(0, 1, 20).reshape(-1, 1)
    >>> m = TheoryGuidedRegressor(hidden=(8,), epochs=5, random_state=0).fit(X, X[:, 0])
    >>> path = save(m, pathlib.Path(tempfile.mkdtemp()) / "model.tgds")
    >>> bool(np.array_equal(load(path).predict(X), m.predict(X)))
    True
    """
    if type(model).__name__ not in _CLASSES or not isinstance(model, tuple(_CLASSES.values())):
        raise DataError(
            f"tgds.save takes a fitted tgds estimator ({', '.join(_CLASSES)}); got {type(model).__name__}."
        )
    meta = model._state_meta()
    return write_container(path, _KIND, meta, model.model_)


def load(path: str | Path) -> Any:
    """Read an estimator written by :func:`save`."""
    meta = read_container_meta(path, _KIND)
    name = meta.get("class")
    if name not in _CLASSES:
        raise DataError(
            f"model file '{path}' holds an unknown class {name!r}; tgds can load {', '.join(_CLASSES)}."
        )

    def read_tree(template: Any) -> Any:
        return read_container(path, _KIND, lambda _: template)[1]

    return _CLASSES[name]._from_state(meta, read_tree)
