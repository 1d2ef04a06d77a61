"""Theory-guided neural estimators: ``TheoryGuidedRegressor`` and ``TheoryGuidedClassifier``.

A network trained by :func:`tgds.nn.train` on a data loss plus physics terms built
from the theory's constraints, evaluated on the labeled points and on unlabeled points
passed as ``X_unlabeled``. DataFrame columns bind to theory variables; without a
theory the estimators are plain networks on arrays (and pass scikit-learn's checks).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
import optax
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from tgds._validation import (
    Boolean,
    Instance,
    Int,
    InvalidParameterError,
    OneOf,
    Optional,
    Real,
    Rule,
    Widths,
    any_of,
    is_number,
    repeated,
    similar_name,
    validate_params,
)
from tgds.exceptions import DataError, TheoryError
from tgds.nn import (
    ACTIVATIONS,
    AbstractWeighting,
    FixedWeights,
    LossTerm,
    PhysicalNetwork,
    TermContext,
    TrainingError,
    TrainSettings,
    build_physics_terms,
    checkpoint_info,
    l2_penalty,
    make_network,
    train,
    trainable_filter,
)
from tgds.nn._train import _CHECKPOINT_KIND
from tgds.theory import Equation, Monotonic, Theory
from tgds.utils import (
    FrameView,
    as_frame,
    dataclass_fields,
    dataclass_from_fields,
    group_codes,
    plain_containers,
    read_container_meta,
    restore_containers,
)

__all__ = ["TheoryGuidedRegressor", "TheoryGuidedClassifier"]

#: Parameters a checkpoint is resumed across: they do not change what the epochs already
#: trained are (no part of an epoch depends on the total number of epochs), so a larger
#: ``epochs`` continues a checkpoint. ``patience`` is not among them: it says where
#: training stops.
_NOT_FINGERPRINTED = ("epochs", "verbose", "checkpoint_path", "checkpoint_every")

_PARAMETER_RULES: dict[str, Rule] = {
    "theory": Optional(Instance(Theory)),
    "inputs": Optional(Instance(list, tuple, words="a list of column names")),
    "targets": Optional(Instance(list, tuple, str, words="a column name or a list of names")),
    "hidden": Widths(),
    "activation": OneOf(*ACTIVATIONS),
    "fourier_features": Int(0),
    "fourier_scale": Real(0, low_open=True, finite=True),
    "skip_connection": Boolean,
    "out_of_range": Optional(OneOf("clip", "fade")),
    "residual_of": Optional(
        Instance(str, list, tuple, words="an input column name (one per target)")
    ),
    "physics": any_of(
        OneOf("all"),
        Instance(list, tuple, words="a list of constraint names"),
        Rule(lambda v: v is None, "None"),
    ),
    "physics_weight": any_of(
        Real(0, finite=True), Instance(dict, words="a dict constraint name -> weight")
    ),
    "physics_margin": Real(0, finite=True),
    "physics_warmup": Int(0),
    "physics_ramp": Int(0),
    "weighting": Optional(Instance(AbstractWeighting, words="FixedWeights() or ReLoBRaLo()")),
    "hard_bounds": Boolean,
    "learning_rate": Real(0, low_open=True, finite=True),
    "weight_decay": Real(0, finite=True),
    "alpha": Real(0, finite=True),
    "optimizer": Optional(Instance(optax.GradientTransformation, words="an optax optimizer")),
    "epochs": Int(1),
    "batch_size": Int(1),
    "physics_batch_size": Int(1),
    "clip_norm": Optional(Real(0, low_open=True, finite=True)),
    "validation_fraction": Real(0, 0.9),
    "validation_split": OneOf("random", "last"),
    "patience": Optional(Int(1)),
    "random_state": Optional(Int(0)),
    "verbose": Boolean,
    "checkpoint_path": Optional(Instance(str, Path, words="a file path")),
    "checkpoint_every": Int(1),
}


class _TheoryGuidedNetwork(BaseEstimator):
    """Shared machinery of the regressor and the classifier."""

    _parameter_rules = _PARAMETER_RULES

    def __init__(
        self,
        *,
        theory: Theory | None = None,
        inputs: Sequence[str] | None = None,
        targets: Sequence[str] | str | None = None,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
        fourier_features: int = 0,
        fourier_scale: float = 1.0,
        skip_connection: bool = False,
        out_of_range: str | None = None,
        residual_of: str | Sequence[str] | None = None,
        physics: str | Sequence[str] | None = "all",
        physics_weight: float | dict[str, float] = 1.0,
        physics_margin: float = 0.0,
        physics_warmup: int = 0,
        physics_ramp: int = 0,
        weighting: AbstractWeighting | None = None,
        hard_bounds: bool = False,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        alpha: float = 0.0,
        optimizer: optax.GradientTransformation | None = None,
        epochs: int = 300,
        batch_size: int = 64,
        physics_batch_size: int = 256,
        clip_norm: float | None = 1.0,
        validation_fraction: float = 0.1,
        validation_split: str = "random",
        patience: int | None = 50,
        random_state: int | None = None,
        verbose: bool = False,
        checkpoint_path: str | Path | None = None,
        checkpoint_every: int = 50,
    ):
        self.theory = theory
        self.inputs = inputs
        self.targets = targets
        self.hidden = hidden
        self.activation = activation
        self.fourier_features = fourier_features
        self.fourier_scale = fourier_scale
        self.skip_connection = skip_connection
        self.out_of_range = out_of_range
        self.residual_of = residual_of
        self.physics = physics
        self.physics_weight = physics_weight
        self.physics_margin = physics_margin
        self.physics_warmup = physics_warmup
        self.physics_ramp = physics_ramp
        self.weighting = weighting
        self.hard_bounds = hard_bounds
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.alpha = alpha
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.physics_batch_size = physics_batch_size
        self.clip_norm = clip_norm
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_path = checkpoint_path
        self.checkpoint_every = checkpoint_every

    def _forget_fit(self) -> None:
        """Drop an earlier fit's attributes, so that a refit which fails leaves the estimator
        unfitted instead of pairing the old network with the new fit's ``classes_``."""
        for name in ("model_", *_FITTED_ATTRIBUTES):
            vars(self).pop(name, None)

    # -- columns and arrays -------------------------------------------------------------
    def _resolve_columns(self, X: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        theory = self.theory
        if theory is None:
            return (), ()
        features = tuple(self.inputs) if self.inputs is not None else theory.inputs
        if not features:
            if self.inputs is not None:
                raise InvalidParameterError(
                    f"The 'inputs' parameter of {type(self).__name__} must name at least one column; got []."
                )
            raise TheoryError(
                "the theory declares no input variable; pass inputs=[...] or mark a variable role='input'."
            )
        for f in features:
            if f not in {v.name for v in theory.variables}:
                raise DataError(
                    f"input {f!r} is not a variable of the theory; variables: {[v.name for v in theory.variables]}."
                )
        _require_inputs(
            _bound_frame(X, "X", features),
            features,
            "Pass inputs=[...] to choose the inputs the model uses.",
        )
        targets = self.targets if self.targets is not None else theory.targets
        targets = (targets,) if isinstance(targets, str) else tuple(targets)
        if not targets:
            raise TheoryError(
                "the theory declares no target variable; pass targets=[...] or mark a variable role='target'."
            )
        for t in targets:
            if t not in theory.targets:
                raise DataError(
                    f"target {t!r} is not a target variable of the theory; targets: {list(theory.targets)}."
                )
        _check_roles(features, targets)
        return features, targets

    def _feature_matrix(self, X: Any, features: tuple[str, ...], what: str = "X") -> np.ndarray:
        """The input columns ``features`` of a data frame, as a float64 matrix without NaN."""
        frame = _bound_frame(X, what, features)
        _require_inputs(frame, features)
        if frame.n_rows == 0:
            raise DataError(f"{what} has 0 samples; at least 1 is required.")
        arr = np.column_stack([frame.numeric(f) for f in features])
        bad = ~np.isfinite(arr)
        if bad.any():
            cols = sorted({features[j] for j in np.flatnonzero(bad.any(axis=0))})
            raise DataError(
                f"{what} contains NaN or infinite values in {cols} ({int(bad.sum())} values); remove or impute them."
            )
        return arr

    def _validated_input(self, X: Any, y: Any = None, *, fit: bool, **kwargs: Any) -> Any:
        """Features (and targets) of ``X``: bound by column name with a theory, else checked as arrays."""
        if self.theory is not None:
            features = self._resolve_columns(X)[0] if fit else self.features_
            Xf = self._feature_matrix(X, features)
            if fit:
                self.feature_names_in_ = np.asarray(features, dtype=object)
                self.n_features_in_ = len(features)
            return Xf
        if fit and y is None:
            raise DataError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        try:
            if not fit:
                return validate_data(self, X, reset=False, dtype=np.float64)
            return validate_data(self, X, y, dtype=np.float64, **kwargs)
        except ValueError as err:
            raise DataError(str(err)) from None

    def _target_matrix(self, X: Any, y: Any, targets: tuple[str, ...], n: int) -> np.ndarray:
        if y is None:
            if not targets:
                raise DataError("y is required when the estimator has no theory.")
            frame = as_frame(X, "X")
            missing = [t for t in targets if t not in frame]
            if missing:
                raise DataError(f"y is None and X lacks the target column(s) {missing}.")
            arr = np.column_stack([frame.numeric(t) for t in targets])
        elif isinstance(y, pd.DataFrame) and targets:
            missing = [t for t in targets if t not in y.columns]
            if missing:
                raise DataError(
                    f"y lacks the target column(s) {missing}; it has {list(y.columns)}."
                )
            arr = y[list(targets)].to_numpy(dtype=float)
        else:
            arr = np.asarray(y, dtype=float)
            arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[0] != n:
            raise DataError(f"y must have one row per sample of X ({n}); got shape {np.shape(y)}.")
        if targets and arr.shape[1] != len(targets):
            raise DataError(
                f"y has {arr.shape[1]} column(s) but the model has {len(targets)} target(s) {list(targets)}."
            )
        if not np.isfinite(arr).all():
            raise DataError(
                f"y contains {int((~np.isfinite(arr)).sum())} NaN or infinite values; remove those rows."
            )
        return arr

    # -- physics ----------------------------------------------------------------------------
    def _selected_constraints(self) -> list:
        if self.theory is None or self.physics is None:
            return []
        constraints = list(self.theory.constraints)
        if self.physics == "all":
            return constraints
        labels = {c.label: c for c in constraints}
        unknown = [p for p in self.physics if p not in labels]
        if unknown:
            raise TheoryError(
                f"physics names unknown constraint(s) {unknown}; the theory's constraints: {list(labels)}."
            )
        return [labels[p] for p in self.physics]

    def _needed_columns(
        self, constraints: list, features: tuple[str, ...], targets: tuple[str, ...]
    ) -> tuple[str, ...]:
        theory = self.theory
        names: set[str] = set()
        for c in constraints:
            if isinstance(c, Equation):
                names |= {s.name for s in theory.residual_of(c)[0].sympy.free_symbols}
            quantity = getattr(c, "quantity", None)
            if quantity and quantity in {r.name for r in theory.relations}:
                names |= {s.name for s in theory.expression_of(quantity).sympy.free_symbols}
        variables = {v.name for v in theory.variables}
        return tuple(sorted((names & variables) - set(features) - set(targets)))

    def _physics_points(
        self, X: Any, X_unlabeled: Any, features: tuple, extras: tuple, groups: set[str]
    ) -> tuple[dict, Any]:
        frames = [as_frame(X, "X")] + (
            [_bound_frame(X_unlabeled, "X_unlabeled", features)] if X_unlabeled is not None else []
        )
        xs, es, gs = [], [], []
        for frame in frames:
            xs.append(self._feature_matrix(frame, features, frame.what))
            missing = [c for c in extras if c not in frame]
            if missing:
                raise DataError(
                    f"{frame.what} lacks column(s) {missing}, which the physics terms need."
                )
            es.append(
                np.column_stack([frame.numeric(c) for c in extras])
                if extras
                else np.zeros((frame.n_rows, 0))
            )
            gs.append({g: frame.values(g) for g in groups if g in frame})
        points = {"x": np.concatenate(xs), "e": np.concatenate(es)}
        for g in sorted(groups):
            lacking = [f.what for f, d in zip(frames, gs, strict=True) if g not in d]
            if lacking and len(lacking) < len(frames):
                raise DataError(
                    f"{lacking[0]} lacks the column {g!r}, which monotonic constraints compare "
                    f"within and the other frame has. Add it, or leave it out of both to constrain "
                    f"the derivative's sign instead of pairs within {g!r}."
                )
            if not lacking and len(frames) > 1:
                _check_group_kinds(g, frames, [d[g] for d in gs])
        group_values = {
            g: np.concatenate([d[g] for d in gs]) for g in groups if all(g in d for d in gs)
        }

        def codes(within: tuple[str, ...]) -> np.ndarray | None:
            if not all(g in group_values for g in within):
                return None
            return group_codes([group_values[g] for g in within])

        return points, codes

    def _quantity_scales(
        self, X: Any, Y: np.ndarray, targets: tuple[str, ...], features: tuple[str, ...]
    ) -> dict[str, float]:
        scales = {t: float(np.std(Y[:, k])) for k, t in enumerate(targets)}
        if self.theory is None:
            return scales
        frame = as_frame(X, "X")
        values = {
            c: frame.numeric(c)
            for c in frame.columns
            if c in {v.name for v in self.theory.variables} and frame.is_numeric(c)
        }
        values.update({t: Y[:, k] for k, t in enumerate(targets)})
        values.update(self.theory.parameter_values())
        for r in self.theory.relations:
            expr = self.theory.expression_of(r.name)
            if {s.name for s in expr.sympy.free_symbols} <= set(values):
                with np.errstate(all="ignore"):
                    v = np.asarray(expr.evaluate(values), dtype=float)
                    v = v[~np.isnan(v)]
                    if v.size:  # all NaN (e.g. log of negative targets): the term's NaN says so
                        scales[r.name] = float(np.std(v))
        return scales

    # -- fitting ------------------------------------------------------------------------------
    def _fit(
        self,
        X: Any,
        Xf: np.ndarray,
        Y: np.ndarray,
        X_unlabeled: Any,
        resume: bool,
        features: tuple,
        targets: tuple,
    ) -> None:
        if resume and self.checkpoint_path is None:  # a fresh fit would pass for a resumed one
            raise DataError(
                f"{type(self).__name__}.fit(resume=True) continues from checkpoint_path, which "
                "is None; set checkpoint_path to the checkpoint file (the fit writes it, a "
                "resumed fit reads it), or fit with resume=False."
            )
        self._warn_outside_bounds(Xf, Y, features, targets)
        n = Xf.shape[0]
        rng, base_seed = self._random_state(resume)
        seed = int(rng.randint(0, 2**31 - 1))
        key = jax.random.PRNGKey(seed)
        init_key, train_key = jax.random.split(key)
        n_val = int(round(self.validation_fraction * n)) if n >= 10 else 0
        order = rng.permutation(n) if self.validation_split == "random" else np.arange(n)[::-1]
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        lower, upper = self._output_bounds(targets, Y.shape[1])
        bounded = self.hard_bounds and np.isfinite(np.r_[lower, upper]).any()
        if bounded and self.out_of_range == "fade" and not self._is_classifier:
            raise InvalidParameterError(
                "out_of_range='fade' returns the prediction to the physics model where the "
                "correction fades, but hard_bounds=True maps every prediction, the physics "
                "model's included, through a bounds transform that is not the identity; use one "
                "of them (with fade, a bounds term or ProjectToBounds keeps the predictions in range)."
            )
        network = make_network(
            Xf[train_idx],
            self._scaling_targets(Y[train_idx]),
            fourier_features=self.fourier_features,
            fourier_scale=self.fourier_scale,
            lower=lower,
            upper=upper,
            key=init_key,
            **self._structure(features, Y.shape[1]),
        )
        data_term = LossTerm(
            "data",
            self._data_loss(network),
            {"x": Xf[train_idx], "y": Y[train_idx]},
            self.batch_size,
        )
        terms = [data_term] + self._physics_terms(X, X_unlabeled, Y, features, targets, network)
        validate = None
        if n_val:
            vx, vy = jnp.asarray(Xf[val_idx]), jnp.asarray(Y[val_idx])
            loss = self._data_loss(network)
            validate = jax.jit(lambda model: loss(model, {"x": vx, "y": vy}))
        optimizer = self.optimizer
        if optimizer is None:
            optimizer = (
                optax.adamw(self.learning_rate, weight_decay=self.weight_decay)
                if self.weight_decay
                else optax.adam(self.learning_rate)
            )
        scheduled = len(terms) > 1  # a warm-up only applies to physics terms
        if scheduled and self.physics_warmup + self.physics_ramp >= self.epochs:
            raise InvalidParameterError(
                f"physics_warmup + physics_ramp ({self.physics_warmup} + {self.physics_ramp}) must be "
                f"fewer than epochs ({self.epochs}): some epochs must train with the physics terms at full weight."
            )
        settings = TrainSettings(
            optimizer=optimizer,
            epochs=self.epochs,
            clip_norm=self.clip_norm,
            patience=self.patience,
            weighting=self.weighting if self.weighting is not None else FixedWeights(),
            checkpoint=Path(self.checkpoint_path) if self.checkpoint_path is not None else None,
            checkpoint_every=self.checkpoint_every,
            verbose=self.verbose,
            penalty=l2_penalty(self.alpha / len(train_idx)) if self.alpha > 0 else None,
            warmup=self.physics_warmup if scheduled else 0,
            ramp=self.physics_ramp if scheduled else 0,
        )
        fingerprints, info = ("",), {}
        if self.checkpoint_path is not None:  # only checkpoints compare it: no hashing otherwise
            fingerprints, info["configuration"] = self._checkpoint_identity(
                Xf, Y, X_unlabeled, features, terms, network, resume
            )
        if base_seed is not None:
            info["base_seed"] = base_seed
        try:
            result = train(
                network,
                terms,
                settings,
                train_key,
                trainable=trainable_filter(network),
                validate=validate,
                resume=resume,
                fingerprint=fingerprints,
                info=info or None,
            )
        except TrainingError as err:
            self._store(err.result, features, targets, terms)
            raise
        self._store(result, features, targets, terms)

    def _structure(self, features: tuple[str, ...], n_out: int) -> dict[str, Any]:
        """The network's structure from the parameters: the same when fitting and when
        rebuilding a saved model (whose arrays are then read into it)."""
        return {
            "hidden": tuple(self.hidden),
            "activation": self.activation,
            "skip": self.skip_connection,
            "hard_bounds": self.hard_bounds and not self._is_classifier,
            "base_inputs": self._base_inputs(features, n_out),
            "clip_inputs": self.out_of_range is not None,
            "fade": self.out_of_range == "fade",
        }

    def _base_inputs(self, features: tuple[str, ...], n_out: int) -> tuple[int, ...]:
        """Input index added to each output (``residual_of``), -1 for none; () without it."""
        if self.residual_of is None:
            if self.out_of_range == "fade":
                raise DataError(
                    "out_of_range='fade' fades a correction to a physics model and needs residual_of "
                    "(the column it corrects); use out_of_range='clip' for a plain network."
                )
            return ()
        if self._is_classifier:
            raise DataError("residual_of applies to regressors only.")
        names = (
            (self.residual_of,) if isinstance(self.residual_of, str) else tuple(self.residual_of)
        )
        if len(names) != n_out:
            raise DataError(
                f"residual_of needs one input column per target ({n_out}); got {list(names)}."
            )
        if not features:
            raise DataError(
                "residual_of names input columns, which needs a theory (DataFrame columns)."
            )
        missing = [n for n in names if n not in features]
        if missing:
            raise DataError(
                f"residual_of names {missing}, which are not model inputs; inputs: {list(features)}."
            )
        return tuple(features.index(n) for n in names)

    def _store(self, result: Any, features: tuple, targets: tuple, terms: list[LossTerm]) -> None:
        self.model_ = result.model
        self.history_ = {k: list(v) for k, v in result.history.items()}
        self.best_epoch_ = result.best_epoch
        self.n_epochs_ = result.epochs_run
        self.stopped_early_ = result.stopped_early
        self.fit_time_ = result.fit_time
        self.features_ = features
        self.targets_ = targets
        self.loss_terms_ = tuple(t.name for t in terms)

    def _physics_terms(self, X, X_unlabeled, Y, features, targets, network) -> list[LossTerm]:
        constraints = self._selected_constraints()
        self.skipped_physics_ = ()
        if not constraints:
            if X_unlabeled is not None and self.theory is None:
                raise DataError("X_unlabeled is only used by physics terms, which need a theory.")
            if X_unlabeled is not None:
                why = "physics=None" if self.physics is None else "the theory has no constraints"
                warnings.warn(
                    "X_unlabeled is not used: it only feeds physics terms, and this model has "
                    f"none ({why}).",
                    UserWarning,
                    stacklevel=4,
                )
            return []
        if self._is_classifier and len(self.classes_) != 2:
            raise TheoryError(
                "physics terms on a classifier need a binary target (they constrain P(positive class))."
            )
        extras = self._needed_columns(constraints, features, targets)
        groups = {g for c in constraints if isinstance(c, Monotonic) and c.within for g in c.within}
        points, codes = self._physics_points(X, X_unlabeled, features, extras, groups)
        ctx = TermContext(
            theory=self.theory,
            features=features,
            targets=targets,
            extras=extras,
            params=self.theory.parameter_values(),
            output=self._physics_output,
            scales=self._quantity_scales(X, Y, targets, features)
            if not self._is_classifier
            else {},
            feature_scales=[float(s) for s in np.asarray(network.x_scale)],
            margin=float(self.physics_margin),
        )
        weights = (
            self.physics_weight
            if isinstance(self.physics_weight, dict)
            else {"*": float(self.physics_weight)}
        )
        bad = {k: w for k, w in weights.items() if not Real(0, finite=True).test(w)}
        if bad:
            raise InvalidParameterError(
                f"physics_weight must give each constraint a finite weight >= 0; got {bad}."
            )
        unknown = set(weights) - {"*"} - {c.label for c in constraints}
        if unknown:
            raise TheoryError(
                f"physics_weight names unknown constraint(s) {sorted(unknown)}; known: {[c.label for c in constraints]}."
            )
        terms, skipped = _build_terms(
            ctx, constraints, points, codes, weights, self.physics_batch_size
        )
        self.skipped_physics_ = tuple(skipped)
        return terms

    def _warn_outside_bounds(
        self, Xf: np.ndarray, Y: np.ndarray, features: tuple, targets: tuple
    ) -> None:
        """Warn of training values outside the theory's bounds of their variable: the model
        learns from them as they are (``theory.check_data`` reports them too)."""
        if self.theory is None:
            return
        columns = [(f, Xf[:, i]) for i, f in enumerate(features)]
        if not self._is_classifier:  # a classifier's Y holds class codes
            columns += [(t, Y[:, j]) for j, t in enumerate(targets)]
        for name, values in columns:
            bounds = self.theory.variable(name).bounds
            if bounds is None:
                continue
            out = (values < bounds[0]) | (values > bounds[1])
            if out.any():
                unreachable = (
                    "; hard_bounds=True cannot reach them"
                    if self.hard_bounds and name in targets
                    else ""
                )
                warnings.warn(
                    f"{type(self).__name__}.fit: the column {name!r} has {int(out.sum())} of "
                    f"{len(values)} training values outside the theory's bounds "
                    f"[{bounds[0]:g}, {bounds[1]:g}] (from {values[out].min():g} to "
                    f"{values[out].max():g})"
                    f"; the model learns from them as they are{unreachable}. Check the data "
                    "with theory.check_data.",
                    UserWarning,
                    stacklevel=4,
                )

    def _random_state(self, resume: bool) -> tuple[np.random.RandomState, int | None]:
        """The generator of this fit's seed and validation split, and the fresh seed it was
        made from when ``random_state=None``. Checkpoints keep that seed (``base_seed``), so
        that a resumed fit repeats the interrupted one."""
        if self.random_state is not None:
            return check_random_state(self.random_state), None
        base = None
        path = self.checkpoint_path
        if resume and path is not None and Path(path).is_file():
            base = checkpoint_info(Path(path)).get("base_seed")
        if not isinstance(base, int):
            base = int(np.random.randint(0, 2**31 - 1))
        return np.random.RandomState(base), base

    def _checkpoint_identity(
        self,
        Xf: np.ndarray,
        Y: np.ndarray,
        X_unlabeled: Any,
        features: tuple[str, ...],
        terms: list[LossTerm],
        network: PhysicalNetwork,
        resume: bool,
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The fingerprints a checkpoint may have to be resumed (this version's first, then
        those an earlier one gave the same configuration), and the configuration they stand
        for in JSON values, stored with the checkpoint to say what differs when it is refused."""
        params = self._fingerprinted_params(network)
        points = [a for t in terms[1:] for a in t.points.values()]
        arrays = (Xf, Y, *terms[0].points.values(), *points)
        unlabeled = None
        if X_unlabeled is not None and points:  # else no physics term reads it
            frame = _bound_frame(X_unlabeled, "X_unlabeled", features)
            unlabeled = _digest(self._feature_matrix(frame, features, "X_unlabeled"))
        shown = {k: _json_value(v) for k, v in params.items() if k not in ("theory", "optimizer")}
        shown["optimizer"] = (
            None if self.optimizer is None else "custom " + _digest(repr(params["optimizer"]))
        )
        data = {
            "training rows": _digest(Xf, Y),
            "unlabeled points": unlabeled,
            "theory": _digest(params["theory"]) if self.theory is not None else None,
            "points of the physics terms": _digest(*points) if points else None,
        }
        fingerprints = (
            _fingerprint(params, arrays),
            *self._earlier_fingerprints(params, arrays, resume),
        )
        return fingerprints, {"parameters": shown, "data": data}

    def _fingerprinted_params(self, network: PhysicalNetwork) -> dict[str, Any]:
        """The parameters a checkpoint must have been written with to be resumed, each by a
        value that is the same in a new process: the theory as TOML, and a custom optimizer
        by the layout of its state (its functions cannot be compared; resuming with another
        learning rate is the user's choice)."""
        params = {k: v for k, v in self.get_params().items() if k not in _NOT_FINGERPRINTED}
        if self.theory is not None:
            params["theory"] = self.theory.to_toml()
        if self.optimizer is not None:
            state = self.optimizer.init(eqx.filter(network, trainable_filter(network)))
            params["optimizer"] = [
                (jtu.keystr(path), np.shape(leaf), str(jnp.asarray(leaf).dtype))
                for path, leaf in jtu.tree_flatten_with_path(state)[0]
            ]
        params["estimator"] = type(self).__name__
        return params

    def _earlier_fingerprints(
        self, params: dict[str, Any], arrays: tuple[np.ndarray, ...], resume: bool
    ) -> list[str]:
        """The fingerprints of this configuration in checkpoints written while ``epochs``
        was part of it (they record no configuration): with this fit's ``epochs``, and with
        the epochs such a checkpoint has trained (a finished fit, resumed with more)."""
        path = Path(self.checkpoint_path)
        if not (resume and path.is_file()):
            return []
        meta = read_container_meta(path, _CHECKPOINT_KIND)
        info = meta.get("info")
        if isinstance(info, dict) and "configuration" in info:
            return []
        trained = meta.get("epoch")
        epochs = {self.epochs} | ({trained} if Int(1).test(trained) else set())
        return [_fingerprint({**params, "epochs": e}, arrays) for e in sorted(epochs)]

    # -- prediction ------------------------------------------------------------------------------
    def _raw(self, X: Any, method: str = "__call__") -> np.ndarray:
        """The network's outputs (``method="raw"``: before scaling, i.e. logits), in float64.

        Predictions are computed in double precision, so that a row's prediction does not
        depend on the other rows in the batch (float32 matrix products do).
        """
        check_is_fitted(self, "model_")
        Xf = self._validated_input(X, fit=False)
        with jax.enable_x64(True):
            model = jtu.tree_map(
                lambda a: jnp.asarray(a, jnp.float64) if eqx.is_inexact_array(a) else a, self.model_
            )
            return np.asarray(_batched(model, jnp.asarray(Xf, jnp.float64), method), dtype=float)

    # -- persistence ------------------------------------------------------------------------------
    def _state_meta(self) -> dict[str, Any]:
        check_is_fitted(self, "model_")
        params = self.get_params()
        if params["theory"] is not None:
            params["theory"] = params["theory"].to_toml()
        if params["optimizer"] is not None:
            warnings.warn(
                "tgds.save does not store a custom optimizer (Optax transformations hold "
                "functions); the loaded model predicts the same, but has optimizer=None, so a "
                "refit uses the default Adam(W). Set its optimizer again before refitting.",
                UserWarning,
                stacklevel=3,
            )
            params["optimizer"] = "custom"
        if isinstance(params["random_state"], np.random.RandomState):
            warnings.warn(
                "tgds.save stores random_state=None in place of a RandomState instance; pass an "
                "integer random_state for refits that repeat.",
                UserWarning,
                stacklevel=3,
            )
            params["random_state"] = None
        w = params["weighting"]
        params["weighting"] = None if w is None else dataclass_fields(w)
        types = plain_containers(
            params, ("checkpoint_path", "hidden", "inputs", "targets", "physics", "residual_of")
        )
        fitted = {
            "features_": list(self.features_),
            "targets_": list(self.targets_),
            "history_": self.history_,
            "best_epoch_": self.best_epoch_,
            "n_epochs_": self.n_epochs_,
            "stopped_early_": self.stopped_early_,
            "fit_time_": self.fit_time_,
            "loss_terms_": list(self.loss_terms_),
            "n_features_in_": int(self.n_features_in_),
            "skipped_physics_": list(self.skipped_physics_),
        }
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(c) for c in self.feature_names_in_]
        if self._is_classifier:
            fitted["classes_"] = self.classes_.tolist()
            fitted["classes_dtype"] = "object" if self.classes_.dtype.kind == "O" else None
        net = self.model_
        shapes = {
            "n_in": int(net.x_shift.shape[0]),
            "n_out": int(net.y_shift.shape[0]),
            "fourier": 0 if net.net.fourier is None else int(net.net.fourier.shape[1]),
        }
        return {
            "class": type(self).__name__,
            "params": params,
            "param_types": types,
            "fitted": fitted,
            "shapes": shapes,
        }

    @classmethod
    def _from_state(
        cls,
        meta: dict[str, Any],
        read_tree: Any,
        where: str = "the model file",
        size: int | None = None,
    ) -> _TheoryGuidedNetwork:
        """The estimator a model file describes; ``size``: the file's length in bytes.

        A file may come from anyone, so its metadata only chooses among known parameters
        and fitted attributes, never names a file to write (``checkpoint_path`` is left
        unset), and cannot make the network bigger than the arrays the file holds.
        """
        from tgds.nn import ReLoBRaLo  # noqa: PLC0415

        params = dict(meta["params"])
        unknown = sorted(set(params) - set(cls._get_param_names()))
        if unknown:
            raise DataError(f"{where} sets unknown parameters {unknown} of {cls.__name__}.")
        params["checkpoint_path"] = None
        if params["theory"] is not None:
            params["theory"] = Theory.from_toml(params["theory"])
        params["optimizer"] = None
        if params["weighting"] is not None:
            kinds = {"FixedWeights": FixedWeights, "ReLoBRaLo": ReLoBRaLo}
            params["weighting"] = dataclass_from_fields(
                kinds, params["weighting"], "weighting", where
            )
        # older files restored only ``hidden`` (a tuple)
        restore_containers(params, meta.get("param_types", {"hidden": "tuple"}), where)
        est = cls(**params)
        shapes = meta["shapes"]
        _check_stored_size(est, shapes, size, where)
        template = make_network(
            np.zeros((2, shapes["n_in"])),
            np.zeros((2, shapes["n_out"])),
            fourier_features=shapes["fourier"],
            fourier_scale=1.0,
            lower=np.zeros(shapes["n_out"]),
            upper=np.zeros(shapes["n_out"]),
            key=jax.random.PRNGKey(0),
            **est._structure(tuple(meta["fitted"]["features_"]), shapes["n_out"]),
        )
        est.model_ = read_tree(template)
        fitted = dict(meta["fitted"])
        classes_dtype = fitted.pop("classes_dtype", None)
        for key, value in fitted.items():
            if key not in _FITTED_ATTRIBUTES:
                raise DataError(f"{where} sets an unknown fitted attribute {key!r}.")
            _check_fitted_value(key, value, where)
            setattr(est, key, value)
        est.features_ = tuple(fitted["features_"])
        est.targets_ = tuple(fitted["targets_"])
        est.loss_terms_ = tuple(fitted["loss_terms_"])
        est.skipped_physics_ = tuple(fitted["skipped_physics_"])
        if "feature_names_in_" in fitted:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        if "classes_" in fitted:
            est.classes_ = np.asarray(fitted["classes_"], dtype=classes_dtype)
        return est


_GROUP_KINDS = {
    "integer": "numbers",
    "floating": "numbers",
    "mixed-integer-float": "numbers",
    "decimal": "numbers",
    "boolean": "booleans",
    "string": "text",
    "bytes": "text",
    "datetime64": "dates",
    "datetime": "dates",
    "date": "dates",
}


def _check_group_kinds(name: str, frames: list, columns: list[np.ndarray]) -> None:
    """Refuse a group column whose values are of different kinds in X and X_unlabeled.

    ``0`` and ``"0"``, or a date and its text, are different groups: the rows of one
    frame would never be compared with those of the other, and the monotonic pairs
    between labeled and unlabeled points of one group would be lost without a word.
    """
    kinds = [
        _GROUP_KINDS.get(k, k) for k in (pd.api.types.infer_dtype(c, skipna=True) for c in columns)
    ]
    present = {k for k in kinds if k != "empty"}
    if len(present) > 1:
        found = ", ".join(f"{k} in {f.what}" for f, k in zip(frames, kinds, strict=True))
        raise DataError(
            f"The group column {name!r} holds {found}; a group must have the same value in "
            f"both, or their rows are never compared. Convert one of them, for example "
            f"with pandas.to_datetime or .astype(...)."
        )


def _bound_frame(data: Any, what: str, columns: Sequence[str]) -> FrameView:
    """``data`` as a frame; an array, whose columns have no names to bind, is refused with
    the code that names them."""
    if isinstance(data, np.ndarray | list | tuple):
        raise DataError(
            f"{what} must be a pandas or polars DataFrame (or a dict of arrays): the theory binds "
            f"its columns to variables by name; got {type(data).__name__}. Name the columns, e.g. "
            f"pd.DataFrame({what}, columns={list(columns)})."
        )
    return as_frame(data, what)


def _require_inputs(frame: FrameView, features: Sequence[str], hint: str = "") -> None:
    """Raise a ``DataError`` naming the input columns ``frame`` lacks, and its columns that
    differ from one of them only in case or surrounding spaces (names must match exactly)."""
    missing = [f for f in features if f not in frame]
    if not missing:
        return
    matches = ((f, similar_name(f, frame.columns)) for f in missing)
    near = [f"{m[0]!r} for {f!r}" for f, m in matches if m is not None and m[1]]
    message = f"{frame.what} lacks the input column(s) {missing}; it has {frame.columns}."
    if near:
        message += f" Column names must match exactly: it has {', '.join(near)}."
    raise DataError(f"{message} {hint}".rstrip())


def _check_roles(features: tuple[str, ...], targets: tuple[str, ...]) -> None:
    """Each column is named once, and no target is an input (the model would be given the answer)."""
    for what, names in (("inputs", features), ("targets", targets)):
        twice = repeated(names)
        if twice:
            raise DataError(f"{what} names {twice} more than once; name each column once.")
    both = [t for t in targets if t in features]
    if both:
        raise DataError(
            f"{both} are both inputs and targets: the model would be given the answer. "
            "Remove them from inputs=[...]."
        )


def _fingerprint(params: dict[str, Any], arrays: tuple[np.ndarray, ...]) -> str:
    """A digest of ``params`` (equal values written another way hash alike) and ``arrays``."""
    h = hashlib.sha256(repr(sorted((k, repr(_canonical(v))) for k, v in params.items())).encode())
    for arr in arrays:
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def _digest(*items: Any) -> str:
    """A short digest of arrays and texts, to tell data apart in a checkpoint's metadata."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode() if isinstance(item, str) else np.ascontiguousarray(item).tobytes())
    return h.hexdigest()[:16]


def _json_value(value: Any) -> Any:
    """``value`` as plain JSON (other objects by their repr), to show in the message of a
    refused checkpoint."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return repr(value)


def _canonical(value: Any) -> Any:
    """``value`` with equal parameters made equal: sequences as tuples, numbers as floats
    (``1`` and ``1.0``, ``np.int64(8)`` and ``8``), mappings sorted; for fingerprints."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return tuple(_canonical(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return value


def _build_terms(ctx, constraints, points, codes, weights, batch_size):
    """Physics terms; a monotonic constraint's groups come from ``codes(within)``."""
    terms, skipped = [], []
    for c in constraints:
        group_codes = codes(c.within) if isinstance(c, Monotonic) and c.within else None
        t, s = build_physics_terms(ctx, [c], points, group_codes, weights, batch_size)
        terms += t
        skipped += s
    return terms, skipped


@eqx.filter_jit
def _batched(model: Any, x: jax.Array, method: str) -> jax.Array:
    return jax.vmap(getattr(model, method))(x)


class TheoryGuidedRegressor(RegressorMixin, _TheoryGuidedNetwork):
    """A neural regressor trained on data loss plus physics terms from a theory.

    Parameters
    ----------
    theory : Theory, optional
        Binds DataFrame columns to variables and supplies the physics terms. Without a
        theory the model is a plain network on arrays.
    inputs : list of str, optional
        The input columns (default: the theory's inputs).
    targets : str or list of str, optional
        The target columns (default: the theory's targets). Several targets give a
        multi-output model.
    hidden, activation, fourier_features, fourier_scale, skip_connection
        The network: hidden widths, activation (``tanh``, ``relu``, ``elu``, ``gelu``,
        ``silu``, ``softplus``, ``sin``), random Fourier features of the inputs, and a
        linear map from inputs to outputs added to the network's output.
    out_of_range : {None, "clip", "fade"}
        What the network does with inputs outside the range seen in the training rows.
        ``None``: it extrapolates its fitted curve. ``"clip"``: every input is clipped to
        that range before the network, so outside it the network's output stays at its
        value on the edge (derivatives with respect to a clipped input are zero there).
        ``"fade"`` (needs ``residual_of``): the correction is multiplied by
        ``(1 - d²)²`` for ``d < 1``, else 0, where ``d`` is the distance of the point
        outside the training range in training standard deviations of the inputs. The
        prediction then returns to the physics model where the data say nothing; within
        the fading band the network sees its inputs unclipped, so physics terms can still
        shape the correction there (a clipped correction times a changing fade would add a
        trend along the clipped input, e.g. inverted profiles below the deepest training
        depth). The corrected column itself is never clipped. Not with ``hard_bounds`` on a
        bounded target: its transform would move the physics model's own predictions.
    residual_of : str or list of str, optional
        An input column (one per target), typically a physics model's output, that the
        network corrects: prediction = that column + network. Physics terms and bounds
        apply to the full prediction.
    physics : "all", list of str or None
        Which constraints become loss terms (by name or description); ``None`` for none.
        A ``Monotonic`` constraint with ``within`` compares consecutive points along ``wrt``
        within each group, as in PGNN, when ``X`` and ``X_unlabeled`` carry the group
        columns; without them it constrains the sign of the derivative (autodiff).
    physics_weight : float or dict
        Weight of every physics term, or per constraint name (``"*"`` for the rest).
    physics_margin : float
        Slack of pairwise monotonic terms, in standardised target units: a pair is
        penalised until it is ordered by at least this much. A small margin (1e-3) keeps
        pairs that the data leave tied (an isothermal profile) from flipping either way.
    physics_warmup, physics_ramp : int
        Epochs of training on the data alone, then epochs over which the physics weights
        rise linearly to full. The network first fits the data and the physics terms then
        correct that fit; a strong term from the random start shapes the whole network
        and slows the data fit several-fold. The best weights (and early stopping) are
        taken from epochs at full weight only. The history records the multiplier as
        ``schedule``. Their sum must be below ``epochs``.
    weighting : FixedWeights or ReLoBRaLo, optional
        How term weights evolve during training (default fixed).
    hard_bounds : bool
        Map the outputs into the target variables' bounds with an output transform.
    learning_rate, weight_decay, optimizer, epochs, batch_size, physics_batch_size, clip_norm
        Training: Adam (AdamW with decoupled ``weight_decay`` when positive; it shrinks
        every trainable parameter, biases included) with ``learning_rate`` unless an Optax
        ``optimizer`` is given; gradients are clipped to global norm ``clip_norm``. An
        epoch takes ``rows // batch_size`` steps of ``batch_size`` rows (one step of all
        rows when there are fewer): the ``rows % batch_size`` rows left over are a
        different random set each epoch.
    alpha : float
        L2 penalty on the network's weights (not its biases), divided by the number of
        training rows, as in scikit-learn's ``MLPRegressor``: the loss is
        ``data + physics + alpha * sum(w²) / n``. Unlike ``weight_decay`` (a shrinkage per
        optimizer step), its pull is strong with few rows and fades as data accumulate;
        with ``residual_of`` it pulls the correction towards a constant.
    validation_fraction, validation_split, patience
        A fraction held out for early stopping (``"random"`` rows, or the ``"last"`` rows in
        the order given, for time-ordered data); the best weights are restored. With fewer
        than 10 rows, or a fraction that rounds to no row, there is no validation set: every
        epoch runs, the last weights are kept and ``patience`` has no effect.
    random_state : int, optional
        Makes initialisation, splits and batches reproducible.
    verbose : bool
        Show a progress bar.
    checkpoint_path, checkpoint_every
        Write an atomic checkpoint every ``checkpoint_every`` epochs and at the end;
        ``fit(..., resume=True)`` continues from it and ends with the weights, predictions
        and history of a fit that was never interrupted, bit for bit. ``epochs``,
        ``verbose``, ``checkpoint_path`` and ``checkpoint_every`` may change between the two
        fits: no part of an epoch depends on the total number of epochs (the physics
        warm-up and ramp count epochs from the start, the default optimizer's learning rate
        is constant), so a checkpoint of ``N`` epochs, finished or interrupted, resumed with
        ``epochs=M > N`` gives the fit of ``M`` epochs. A fit that stopped early
        (``patience``) is finished: resumed with more epochs it trains none, as the fit of
        ``M`` epochs stops at the same epoch. A checkpoint of more epochs than ``epochs`` is
        refused. One written with any other parameter (``patience`` included: it says where
        training stops), other training rows, unlabeled points or theory is refused with
        what differs (``learning_rate: 0.001 -> 0.01``). A custom ``optimizer`` is compared
        only by the layout of its state: an equal one built again after a restart is
        accepted, and so is another learning rate or a schedule of another length, which
        continues from the step the checkpoint reached (the result is then not that of an
        uninterrupted fit with the new optimizer).

    Attributes
    ----------
    model_ : PhysicalNetwork
        The trained network (physical units in and out).
    history_ : dict of lists
        Per epoch: ``loss`` (weighted total), ``data``, each physics term, ``val_data``.
    loss_terms_, skipped_physics_, best_epoch_, n_epochs_, fit_time_, features_, targets_

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tgds.theory import Theory, Variable, Monotonic
    >>> theory = Theory([Variable("x", "m"), Variable("y", "1", role="target")],
    ...                 constraints=[Monotonic("y", wrt="x")])
    >>> X = pd.DataFrame({"x": np.linspace(0, 1, 50)})
    >>> model = TheoryGuidedRegressor(theory=theory, hidden=(16,), epochs=20, random_state=0)
    >>> model.fit(X, np.sqrt(X["x"].to_numpy())).loss_terms_
    ('data', 'monotonic:y increasing with x')
    """

    _is_classifier = False

    def fit(
        self, X: Any, y: Any = None, X_unlabeled: Any = None, *, resume: bool = False
    ) -> TheoryGuidedRegressor:
        """Fit to ``(X, y)``; physics terms are evaluated on ``X`` and ``X_unlabeled``.

        ``y`` may be omitted when ``X`` holds the target columns. With a theory, a data
        frame ``y`` is bound by column name; the columns of an array ``y`` are taken in the
        order of ``targets`` (the theory's order by default). ``resume=True`` continues
        from ``checkpoint_path`` if a checkpoint of the same configuration exists, also with
        a larger ``epochs`` to train a finished fit further (see ``checkpoint_path``).
        """
        validate_params(self, self._parameter_rules)
        self._forget_fit()
        features, targets = self._resolve_columns(X)
        if self.theory is None:
            Xf, yv = self._validated_input(X, y, fit=True, multi_output=True, y_numeric=True)
            Y = yv.reshape(-1, 1) if yv.ndim == 1 else yv
        else:
            Xf = self._validated_input(X, fit=True)
            Y = self._target_matrix(X, y, targets, Xf.shape[0])
        self._fit(X, Xf, Y, X_unlabeled, resume, features, targets)
        return self

    def _scaling_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y

    def _output_bounds(self, targets: tuple[str, ...], n_out: int) -> tuple[np.ndarray, np.ndarray]:
        if self.theory is None:
            return np.full(n_out, -np.inf), np.full(n_out, np.inf)
        limits = np.array([self.theory.target_bounds(t) for t in targets], dtype=float)
        return limits[:, 0], limits[:, 1]

    def _data_loss(self, network: Any):
        scale = network.y_scale

        def loss(model: Any, batch: dict) -> jax.Array:
            pred = jax.vmap(model)(batch["x"])
            return jnp.mean(((pred - batch["y"]) / scale) ** 2)

        return loss

    @staticmethod
    def _physics_output(model: Any, x: jax.Array) -> jax.Array:
        return model(x)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions in the targets' units: shape ``(n,)`` for one target, ``(n, k)`` for several."""
        out = self._raw(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        return tags


class TheoryGuidedClassifier(ClassifierMixin, _TheoryGuidedNetwork):
    """A neural classifier trained on cross-entropy plus physics terms from a theory.

    Takes the parameters of :class:`TheoryGuidedRegressor` (``hard_bounds``,
    ``residual_of`` and ``out_of_range="fade"`` do not apply). Physics terms need a
    binary target; they constrain the probability of the positive class
    (``classes_[1]``): ``Monotonic("label", wrt="x")`` says that this probability rises
    with ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-2, 2, 40).reshape(-1, 1)
    >>> clf = TheoryGuidedClassifier(hidden=(8,), epochs=50, random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    >>> clf.predict([[-1.5], [1.5]])
    array([0, 1])
    """

    _is_classifier = True

    def fit(
        self, X: Any, y: Any = None, X_unlabeled: Any = None, *, resume: bool = False
    ) -> TheoryGuidedClassifier:
        """Fit to ``(X, y)``; see :meth:`TheoryGuidedRegressor.fit`."""
        validate_params(self, self._parameter_rules)
        self._forget_fit()
        features, targets = self._resolve_columns(X)
        if len(targets) > 1:
            raise DataError(f"a classifier has one target; got {list(targets)}.")
        if self.theory is None:
            Xf, labels = self._validated_input(X, y, fit=True)
        else:
            Xf = self._validated_input(X, fit=True)
            labels = _theory_labels(X, y, targets[0], Xf.shape[0])
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise DataError("y contains NaN or infinite labels.")
        classes, encoded = _encode_labels(labels)
        check_classification_targets(labels)
        self.classes_ = classes
        if len(self.classes_) < 2:
            raise DataError(
                "Classifier can't train when only one class is present: got only "
                f"{self.classes_.tolist()[0]!r}."
            )
        self._fit(
            X, Xf, encoded.reshape(-1, 1).astype(float), X_unlabeled, resume, features, targets
        )
        return self

    def _scaling_targets(self, Y: np.ndarray) -> np.ndarray:
        # logits need no output scaling: two rows with mean 0 and standard deviation 1
        out = 1 if len(self.classes_) == 2 else len(self.classes_)
        return np.vstack([-np.ones(out), np.ones(out)])

    def _output_bounds(self, targets: tuple[str, ...], n_out: int) -> tuple[np.ndarray, np.ndarray]:
        out = 1 if len(self.classes_) == 2 else len(self.classes_)
        return np.full(out, -np.inf), np.full(out, np.inf)

    def _data_loss(self, network: Any):
        binary = len(self.classes_) == 2

        def loss(model: Any, batch: dict) -> jax.Array:
            logits = jax.vmap(model.raw)(batch["x"])
            labels = batch["y"][:, 0].astype(jnp.int32)
            if binary:
                return jnp.mean(
                    optax.sigmoid_binary_cross_entropy(logits[:, 0], labels.astype(logits.dtype))
                )
            return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))

        return loss

    @staticmethod
    def _physics_output(model: Any, x: jax.Array) -> jax.Array:
        return jax.nn.sigmoid(model.raw(x))

    def _logits(self, X: Any) -> np.ndarray:
        return self._raw(X, "raw")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        logits = self._logits(X)
        if logits.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.column_stack([1 - p, p])
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: shape ``(n,)`` for two classes, ``(n, k)`` otherwise."""
        logits = self._logits(X)
        return logits[:, 0] if logits.shape[1] == 1 else logits

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class."""
        proba = self.predict_proba(X)  # raises NotFittedError before classes_ is looked up
        return self.classes_[np.argmax(proba, axis=1)]


def _theory_labels(X: Any, y: Any, target: str, n: int) -> np.ndarray:
    """The labels of a classifier with a theory: ``y``, its ``target`` column when it is a
    data frame (as a regressor's targets are bound), or that column of ``X`` without ``y``."""
    if isinstance(y, pd.DataFrame):
        if target not in y.columns:
            raise DataError(f"y lacks the target column(s) {[target]}; it has {list(y.columns)}.")
        y = y[target]
    labels = np.asarray(as_frame(X, "X").values(target) if y is None else y)
    labels = labels[:, 0] if labels.ndim == 2 and labels.shape[1] == 1 else labels
    if labels.ndim != 1 or labels.shape[0] != n:
        raise DataError(f"y must be 1-D with one label per sample ({n}); got shape {labels.shape}.")
    return labels


def _encode_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted classes of ``labels`` and each label's index among them."""
    if labels.dtype.kind == "O":
        missing = np.flatnonzero(pd.isna(labels))
        if missing.size:
            raise DataError(
                f"y contains {missing.size} missing label(s) (None or NaN), the first at row "
                f"{missing[0]}; every row needs a class label."
            )
        try:
            return np.unique(labels, return_inverse=True)
        except TypeError:
            kinds = sorted({type(v).__name__ for v in labels})
            raise DataError(
                f"y mixes labels of the types {', '.join(kinds)}, which cannot be ordered; "
                "expected labels of one type (all strings or all numbers)."
            ) from None
    return np.unique(labels, return_inverse=True)


#: The fitted attributes a model file may set (see ``_state_meta``).


def _is_names(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(n, str) for n in v)


_FITTED_TYPES: dict[str, tuple[Any, str]] = {
    "features_": (_is_names, "a list of column names"),
    "targets_": (_is_names, "a list of column names"),
    "loss_terms_": (_is_names, "a list of loss-term names"),
    "skipped_physics_": (_is_names, "a list of constraint names"),
    "feature_names_in_": (_is_names, "a list of column names"),
    "history_": (
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(x, list) and all(map(is_number, x)) for x in v.values())
        ),
        "a table of lists of numbers, one for each loss term",
    ),
    "best_epoch_": (Int(0).test, "an integer >= 0"),
    "n_epochs_": (Int(0).test, "an integer >= 0"),
    "n_features_in_": (Int(0).test, "an integer >= 0"),
    "stopped_early_": (lambda v: isinstance(v, bool), "true or false"),
    "fit_time_": (is_number, "a number of seconds"),
    "classes_": (lambda v: isinstance(v, list) and bool(v), "a list of class labels"),
}
_FITTED_ATTRIBUTES = frozenset(_FITTED_TYPES)


def _check_fitted_value(key: str, value: Any, where: str) -> None:
    """A fitted attribute read from a model file must have the type ``fit`` gives it."""
    test, expected = _FITTED_TYPES[key]
    if not test(value):
        raise DataError(f"{where} has a corrupt {key}: expected {expected}; got {value!r:.60}.")


def _check_stored_size(est: Any, shapes: Any, size: int | None, where: str) -> None:
    """Refuse a network whose metadata announces more weights than the file holds, before
    any of it is allocated (a few bytes could otherwise ask for gigabytes)."""
    try:
        widths = [int(shapes["n_in"]) + 2 * int(shapes["fourier"]), *est.hidden]
        widths = [*widths, int(shapes["n_out"])]
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where} has corrupt network shapes {shapes!r:.80}.") from None
    if min(widths) < 0 or not all(isinstance(w, int) for w in est.hidden):
        raise DataError(f"{where} has corrupt network shapes: widths {widths}.")
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=False))
    weights += int(shapes["n_in"]) * int(shapes["fourier"])  # the Fourier matrix
    if size is not None and 4 * weights > size:
        raise DataError(
            f"{where} describes a network of {weights} weights but holds {size} bytes; "
            "expected at least 4 bytes a weight (the file is corrupt)."
        )
