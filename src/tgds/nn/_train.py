"""The one training loop of tgds.

Every neural model (theory-guided regressors and classifiers, physics-informed PDE
solvers) trains through :func:`train`: a weighted sum of loss terms, each a pure
function of the model and a batch of its own points, minimised with an Optax optimizer.
One epoch is a ``jax.lax.scan`` over minibatch steps, compiled once. The loop keeps
a history of every term per epoch, restores the best weights on early stopping,
writes atomic checkpoints that :func:`train` can resume from bit-for-bit, and stops
with :class:`TrainingError` (keeping the last good weights) when a loss is not finite.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from tgds._validation import Int, Real, is_number
from tgds.exceptions import DataError, TgdsError
from tgds.nn._weighting import AbstractWeighting, FixedWeights
from tgds.utils import read_container, read_container_meta, write_container

__all__ = ["LossTerm", "TrainSettings", "TrainResult", "TrainingError", "checkpoint_info", "train"]

_CHECKPOINT_KIND = "checkpoint-1"


class TrainingError(TgdsError, ArithmeticError):
    """Training stopped because a loss term, or the gradient of one, was not finite.

    Attributes ``term``, ``epoch`` and ``result`` (a :class:`TrainResult` holding the
    last good weights and the history up to the failure). ``term`` names the first term
    (or ``"penalty"``, ``"loss"``, ``"val_data"``) whose value was not finite, else the
    term whose gradient was not finite although every value was, else ``"weights"``
    (an optimizer step that overflowed).
    """

    def __init__(self, message: str, term: str, epoch: int, result: TrainResult):
        super().__init__(message)
        self.term = term
        self.epoch = epoch
        self.result = result

    def __reduce__(self):  # pickled with its attributes (joblib sends it back from a worker)
        return type(self), (str(self), self.term, self.epoch, self.result)


@dataclass(frozen=True)
class LossTerm:
    """One term of the loss.

    Parameters
    ----------
    name : str
        Its name in the history (``"data"``, ``"monotonic:density"``, ...).
    fn : callable
        ``fn(model, batch) -> scalar``: the term's mean over a batch. ``batch`` is a
        dict with the same keys as ``points``, each cut to ``batch_size`` rows.
    points : dict of name -> array
        The term's points (or pairs), all with the same first dimension.
    batch_size : int
        Rows of ``points`` per step (capped at the number of rows).
    weight : float
        The user's weight of the term.
    """

    name: str
    fn: Callable[[Any, dict[str, jax.Array]], jax.Array]
    points: dict[str, np.ndarray]
    batch_size: int
    weight: float = 1.0

    @property
    def n_points(self) -> int:
        return len(next(iter(self.points.values())))


@dataclass(frozen=True)
class TrainSettings:
    """How to train. ``optimizer`` is any Optax transformation (gradient clipping is added).

    ``penalty(model) -> scalar``, when given, is added to the loss at every step (e.g. an
    L2 penalty on the weights) and recorded in the history as ``"penalty"``; it takes
    no points and no adaptive weight.

    ``warmup`` and ``ramp`` (epochs) schedule every term after the first (the physics
    terms, after the data term): they are off for the first ``warmup`` epochs, then
    their weights rise linearly to full over ``ramp`` epochs. Training first finds a fit
    to the data and the physics terms then correct it, instead of shaping the network
    from its random start (a strong hinge term slows the data fit several-fold). Best
    weights and early stopping consider only epochs at full weight.
    """

    optimizer: optax.GradientTransformation
    epochs: int
    clip_norm: float | None = 1.0
    patience: int | None = None
    weighting: AbstractWeighting = field(default_factory=FixedWeights)
    checkpoint: Path | None = None
    checkpoint_every: int = 50
    verbose: bool = False
    penalty: Callable[[Any], jax.Array] | None = None
    warmup: int = 0
    ramp: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.optimizer, optax.GradientTransformation):
            raise TgdsError(
                "TrainSettings optimizer must be an Optax transformation, e.g. "
                f"optax.adam(1e-3); got {self.optimizer!r:.60}."
            )
        if not isinstance(self.weighting, AbstractWeighting):
            hint = (  # the class itself: its init() fails later with a bare TypeError
                f" (the class itself: write {self.weighting.__name__}())"
                if isinstance(self.weighting, type)
                else ""
            )
            raise TgdsError(
                "TrainSettings weighting must be FixedWeights() or ReLoBRaLo(); got "
                f"{self.weighting!r:.60}{hint}."
            )
        if not Int(1).test(self.epochs):
            raise TgdsError(f"epochs must be a positive integer; got {self.epochs!r}.")
        # clip_by_global_norm with a negative norm flips the gradient: training would ascend
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise TgdsError(
                f"clip_norm must be positive, or None for no clipping; got {self.clip_norm!r}."
            )
        if self.patience is not None and not Int(1).test(self.patience):
            raise TgdsError(
                f"patience must be a positive number of epochs or None; got {self.patience!r}."
            )
        if not Int(1).test(self.checkpoint_every):
            raise TgdsError(
                f"checkpoint_every must be a positive number of epochs; got {self.checkpoint_every!r}."
            )
        if not (Int(0).test(self.warmup) and Int(0).test(self.ramp)):
            raise TgdsError(
                f"warmup and ramp must be non-negative integers (epochs); got warmup={self.warmup}, ramp={self.ramp}."
            )
        if self.warmup + self.ramp >= self.epochs:
            raise TgdsError(
                f"warmup + ramp ({self.warmup} + {self.ramp}) must be fewer than the {self.epochs} epochs, "
                "so that some epochs train with the physics terms at full weight."
            )

    def schedule(self, epoch: int) -> float:
        """The multiplier of the terms after the first in 0-based ``epoch``."""
        if epoch < self.warmup:
            return 0.0
        return min(1.0, (epoch - self.warmup + 1) / (self.ramp + 1))


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    ``history`` has one value per epoch under each key: ``epoch`` (1-based), each term's
    unweighted mean over the epoch's steps, ``loss`` (the weighted total with the
    penalty, averaged the same way), and where they apply ``penalty``, ``lambda/<term>``
    (adaptive weights after the epoch), ``val_data`` (``validate`` after the epoch) and
    ``schedule``.
    """

    model: Any
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    stopped_early: bool
    fit_time: float


def _batch_positions(n: int, batch: int, step: jax.Array, perm: jax.Array) -> jax.Array:
    return perm[(step * batch + jnp.arange(batch)) % n]


def _all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves] or [jnp.array(True)]))


def _make_epoch(
    terms: list[LossTerm],
    optimizer: optax.GradientTransformation,
    weighting: AbstractWeighting,
    static: Any,
    penalty: Callable[[Any], jax.Array] | None,
):
    """``(epoch, diagnose)``: one epoch, and the gradients' finiteness in one of its steps.

    ``epoch`` also returns, per step, the losses and whether the weights after the step
    are finite, so that a failure is traced to its first step; ``diagnose`` (compiled
    only when training fails) replays an epoch up to a step and says which terms (and
    the penalty, last) have a non-finite gradient there.
    """
    sizes = [min(t.batch_size, t.n_points) for t in terms]
    counts = [t.n_points for t in terms]
    steps = max(1, counts[0] // sizes[0])
    base = jnp.asarray([t.weight for t in terms], dtype=float)

    first = jnp.arange(len(terms)) == 0

    def loss(trainable, batches, lambdas, scale):
        model = eqx.combine(trainable, static)
        values = [t.fn(model, b) for t, b in zip(terms, batches, strict=True)]
        extra = penalty(model) if penalty is not None else jnp.zeros(())
        for name, v in zip([*(t.name for t in terms), "penalty"], [*values, extra], strict=True):
            if jnp.shape(v) != ():  # (1,) would broadcast the weights against the other terms
                raise TgdsError(
                    f"loss term {name!r} must return a scalar (e.g. its mean over the batch); "
                    f"got an array of shape {jnp.shape(v)}."
                )
        parts = jnp.stack(values)
        weights = base * lambdas * jnp.where(first, 1.0, scale)
        return jnp.sum(weights * parts) + extra, (parts, extra)

    grad_fn = jax.value_and_grad(loss, has_aux=True)

    def scan(trainable, opt_state, wstate, key, points, scale, stop=None):
        perm_keys = jax.random.split(key, len(terms) + 1)
        perms = [jax.random.permutation(k, n) for k, n in zip(perm_keys[:-1], counts, strict=True)]
        step_keys = jax.random.split(perm_keys[-1], steps)

        def batches_at(s):
            return [
                {k: v[_batch_positions(n, b, s, perm)] for k, v in pts.items()}
                for pts, n, b, perm in zip(points, counts, sizes, perms, strict=True)
            ]

        def step(carry, inputs):
            trainable, opt_state, wstate = carry
            s, skey = inputs
            batches = batches_at(s)
            (total, (parts, extra)), grads = grad_fn(trainable, batches, wstate["lambdas"], scale)
            updates, opt_state = optimizer.update(grads, opt_state, trainable)
            trainable = eqx.apply_updates(trainable, updates)
            wstate = weighting.update(wstate, parts, skey)
            new = (trainable, opt_state, wstate)
            if stop is not None:  # replaying up to a step: the later ones change nothing
                new = jax.tree_util.tree_map(lambda a, b: jnp.where(s < stop, a, b), new, carry)
            return new, (total, parts, extra, _all_finite(trainable))

        carry, outputs = jax.lax.scan(
            step, (trainable, opt_state, wstate), (jnp.arange(steps), step_keys)
        )
        return carry, outputs, batches_at

    @jax.jit
    def epoch(trainable, opt_state, wstate, key, points, scale):
        (trainable, opt_state, wstate), (totals, parts, extras, finite), _ = scan(
            trainable, opt_state, wstate, key, points, scale
        )
        return (
            trainable,
            opt_state,
            wstate,
            jnp.mean(totals),
            jnp.mean(parts, axis=0),
            jnp.mean(extras),
            (totals, parts, extras, finite),
        )

    @jax.jit
    def diagnose(trainable, opt_state, wstate, key, points, scale, stop):
        (trainable, _, _), _, batches_at = scan(
            trainable, opt_state, wstate, key, points, scale, stop
        )
        batches = batches_at(stop)
        finite = [
            _all_finite(jax.grad(lambda p, t=t, b=b: t.fn(eqx.combine(p, static), b))(trainable))
            for t, b in zip(terms, batches, strict=True)
        ]
        if penalty is not None:
            finite.append(
                _all_finite(jax.grad(lambda p: penalty(eqx.combine(p, static)))(trainable))
            )
        return jnp.stack(finite)

    return epoch, diagnose


def train(
    model: Any,
    terms: list[LossTerm],
    settings: TrainSettings,
    key: jax.Array,
    *,
    trainable: Any,
    validate: Callable[[Any], float] | None = None,
    resume: bool = False,
    fingerprint: str | Sequence[str] = "",
    info: dict[str, Any] | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Minimise ``sum_i weight_i * lambda_i * term_i`` over the leaves selected by ``trainable``.

    Parameters
    ----------
    model : equinox.Module
        The initial model (also the template for reading a checkpoint).
    terms : list of LossTerm
        The first term sets the number of steps per epoch (its rows // its batch size):
        each epoch leaves out the ``rows % batch_size`` rows at the end of its shuffled
        order (other rows each epoch), so that every batch has the same size. The other
        terms draw their batches from their own shuffled order, wrapping around when an
        epoch needs more rows than they have.
    settings : TrainSettings
    key : jax.random.PRNGKey
        Epoch ``e`` uses ``fold_in(key, e)``, so a resumed run repeats an uninterrupted one.
    trainable : pytree of bool
        Which leaves of ``model`` are trained.
    validate : callable, optional
        ``validate(model) -> float`` after each epoch; enables early stopping with
        ``settings.patience`` and restoring the best weights.
    resume : bool
        Continue from ``settings.checkpoint`` if it exists. Nothing in an epoch depends on
        ``settings.epochs`` (epoch ``e`` draws its batches from ``fold_in(key, e)``; the
        warm-up counts epochs from the start), so a checkpoint of ``n`` epochs resumed with
        ``epochs=m >= n`` ends with the weights and history of an uninterrupted training of
        ``m`` epochs, bit for bit, when everything else is the same (the optimizer's own
        schedule included). A checkpoint of a training that stopped early is finished:
        resumed with more epochs it trains none (the longer training would have stopped at
        the same epoch). One of more epochs than ``settings.epochs`` is refused.
    fingerprint : str or sequence of str
        Identifies the configuration; a checkpoint with another fingerprint is refused.
        Checkpoints are written with the first of a sequence, and any of it is accepted
        (e.g. the fingerprint an earlier version computed for the same configuration).
    info : dict, optional
        JSON values stored with each checkpoint, for the caller to read back before a
        resume (:func:`checkpoint_info`), e.g. the seed it drew. Under ``"configuration"``,
        ``{"parameters": {name: value}, "data": {name: digest}}`` records what went into
        ``fingerprint``: a refused checkpoint's message then lists the parameters that
        differ (``learning_rate: 0.001 -> 0.01``), or else the data that do.
    callback : callable, optional
        ``callback(epoch, record)`` after each epoch (e.g. to stop from outside).

    Raises
    ------
    TrainingError
        When a loss term, the penalty, the total or the validation loss is NaN or
        infinite, or the weights become so (a non-finite gradient); ``err.result.model``
        holds the last good weights.
    TgdsError
        When resuming from a checkpoint of another ``fingerprint``, of more epochs than
        ``settings.epochs``, or whose history has other records (another validation,
        penalty, weighting, warm-up or set of terms).
    DataError
        When resuming from a checkpoint that is damaged or holds another network,
        optimizer state or weighting.
    """
    if not terms:
        raise TgdsError("train() needs at least one loss term.")
    names = [t.name for t in terms]
    if len(set(names)) != len(names):
        raise TgdsError(f"loss term names must be unique; got {names}.")
    # the history records these next to the terms: a term of that name would be overwritten
    reserved = {"epoch", "loss", "val_data", "schedule"} | (
        {"penalty"} if settings.penalty is not None else set()
    )
    taken = [n for n in names if n in reserved or n.startswith("lambda/")]
    if taken:
        raise TgdsError(
            f"loss term names {taken} are taken by the history's own records ({', '.join(sorted(reserved))}, "
            "lambda/...); rename the terms."
        )
    for t in terms:
        rows = {k: np.shape(v)[0] if np.ndim(v) else None for k, v in t.points.items()}
        if not rows or None in rows.values() or len(set(rows.values())) > 1:
            # JAX clamps out-of-range indices: shorter arrays would silently repeat their last row
            raise TgdsError(
                f"loss term {t.name!r} needs point arrays with the same number of rows (first "
                f"dimension); got {rows or 'none'}."
            )
        if t.n_points == 0:
            raise TgdsError(f"loss term {t.name!r} has no points.")
        if not Int(1).test(t.batch_size):
            raise TgdsError(
                f"loss term {t.name!r} needs a positive integer batch_size; got {t.batch_size!r}."
            )
        if not (math.isfinite(float(t.weight)) and float(t.weight) >= 0):
            raise TgdsError(
                f"loss term {t.name!r} needs a finite, non-negative weight; got {t.weight!r}."
            )
    optimizer = (
        optax.chain(optax.clip_by_global_norm(settings.clip_norm), settings.optimizer)
        if settings.clip_norm
        else settings.optimizer
    )
    params, static = eqx.partition(model, trainable)
    state = _State(
        params=params,
        opt_state=optimizer.init(params),
        wstate=settings.weighting.init(len(terms)),
        best=params,
        history={},
        epoch=0,
        best_epoch=0,
        best_val=math.inf,
        bad_epochs=0,
    )
    if settings.checkpoint is not None:
        _check_checkpoint_path(Path(settings.checkpoint))
    adaptive = not isinstance(settings.weighting, FixedWeights)
    fingerprints = (fingerprint,) if isinstance(fingerprint, str) else tuple(fingerprint) or ("",)
    if resume and settings.checkpoint is not None and Path(settings.checkpoint).is_file():
        state = _load_checkpoint(
            Path(settings.checkpoint), state, fingerprints, settings.epochs, info
        )
        _check_history_keys(Path(settings.checkpoint), state, names, settings, adaptive, validate)
    epoch_fn, diagnose = _make_epoch(terms, optimizer, settings.weighting, static, settings.penalty)
    points = [{k: jnp.asarray(v) for k, v in t.points.items()} for t in terms]
    start = time.perf_counter()
    with _progress(settings.verbose, settings.epochs, state.epoch) as advance:
        # a run that stopped early is finished: resuming it trains no further epoch
        while state.epoch < settings.epochs and not state.stopped_early:
            e = state.epoch
            scale = settings.schedule(e)
            inputs = (
                state.params,
                state.opt_state,
                state.wstate,
                jax.random.fold_in(key, e),
                points,
                jnp.asarray(scale, dtype=float),
            )
            new_params, new_opt, new_w, total, parts, extra, per_step = epoch_fn(*inputs)
            record = {"epoch": float(e + 1), "loss": float(total)}
            record.update({n: float(p) for n, p in zip(names, np.asarray(parts), strict=True)})
            if settings.penalty is not None:
                record["penalty"] = float(extra)
            if adaptive:
                record.update(
                    {
                        f"lambda/{n}": float(w)
                        for n, w in zip(names, np.asarray(new_w["lambdas"]), strict=True)
                    }
                )
            failure = _step_failure(per_step, names)
            if failure is not None:  # before validate: it would see non-finite weights
                _fail(record, failure, names, e + 1, state, static, start, diagnose, inputs)
            if validate is not None:
                val = float(validate(eqx.combine(new_params, static)))
                record["val_data"] = val
                if not math.isfinite(val):
                    _fail(record, (0, "val_data"), names, e + 1, state, static, start)
            state.params, state.opt_state, state.wstate = new_params, new_opt, new_w
            state.epoch = e + 1
            if settings.warmup or settings.ramp:
                record["schedule"] = scale
            if validate is not None:
                if scale == 1.0:  # warm-up epochs are recorded, never kept as the best
                    if val < state.best_val:
                        state.best_val, state.best_epoch, state.best, state.bad_epochs = (
                            val,
                            e + 1,
                            state.params,
                            0,
                        )
                    else:
                        state.bad_epochs += 1
            else:
                state.best, state.best_epoch = state.params, e + 1
            for k, v in record.items():
                state.history.setdefault(k, []).append(v)
            advance(record)
            if (
                settings.patience is not None
                and validate is not None
                and state.bad_epochs >= settings.patience
            ):
                state.stopped_early = True
            if settings.checkpoint is not None and (
                state.epoch % settings.checkpoint_every == 0 or state.stopped_early
            ):
                _save_checkpoint(Path(settings.checkpoint), state, fingerprints[0], info)
            if callback is not None:
                callback(e + 1, record)
    if settings.checkpoint is not None:
        _save_checkpoint(Path(settings.checkpoint), state, fingerprints[0], info)
    return state.result(state.best, static, start, state.stopped_early)


@dataclass
class _State:
    params: Any
    opt_state: Any
    wstate: dict
    best: Any
    history: dict[str, list[float]]
    epoch: int
    best_epoch: int
    best_val: float
    bad_epochs: int
    stopped_early: bool = False

    def result(self, params: Any, static: Any, start: float, stopped_early: bool) -> TrainResult:
        """A :class:`TrainResult` holding ``params`` (the best or the last good weights)."""
        return TrainResult(
            model=eqx.combine(params, static),
            history=self.history,
            best_epoch=self.best_epoch,
            epochs_run=self.epoch,
            stopped_early=stopped_early,
            fit_time=time.perf_counter() - start,
        )


def _step_failure(per_step: tuple, names: list[str]) -> tuple[int, str | None] | None:
    """The first step of an epoch where a loss was not finite or the weights became so.

    ``(step, name)`` for a loss (the first of the terms, the penalty and the total that
    is not finite), ``(step, None)`` for weights that became non-finite after finite losses
    (a non-finite gradient); ``None`` when every step was finite.
    """
    totals, parts, extras, finite = (np.asarray(a) for a in per_step)
    bad_value = ~np.isfinite(np.column_stack([parts, extras, totals]))
    bad = bad_value.any(axis=1) | ~finite
    if not bad.any():
        return None
    step = int(np.argmax(bad))
    if bad_value[step].any():
        return step, [*names, "penalty", "loss"][int(np.argmax(bad_value[step]))]
    return step, None


def _fail(
    record: dict[str, float],
    failure: tuple[int, str | None],
    names: list[str],
    epoch: int,
    state: _State,
    static: Any,
    start: float,
    diagnose: Callable | None = None,
    inputs: tuple = (),
) -> None:
    """Raise the :class:`TrainingError` of ``failure`` (from :func:`_step_failure`, or
    ``(0, "val_data")``), keeping the weights of the last good epoch."""
    step, bad = failure
    causes = (
        "Common causes: a learning rate that is too high, a physics term evaluated outside its "
        "domain (log or sqrt of a negative value), or NaN in the data."
    )
    if bad is not None:
        what = (
            f"the loss term {bad!r}"
            + (" (the data loss on the validation rows)" if bad == "val_data" else "")
            + f" is {record[bad]} (not finite)."
        )
    else:  # finite losses, non-finite weights: find the term whose gradient is not
        finite = np.asarray(diagnose(*inputs, jnp.asarray(step)))
        culprits = [n for n, ok in zip([*names, "penalty"], finite, strict=False) if not ok]
        where = f"in step {step + 1} of the epoch"
        if culprits:
            bad = culprits[0]
            what = (
                f"the gradient of {'the penalty' if bad == 'penalty' else f'the loss term {bad!r}'} "
                f"is not finite {where}, although every loss term is finite there."
            )
            causes = (
                "Common causes: jnp.where around an invalid branch (its gradient is NaN even "
                "where that branch is not taken: make its argument valid first), or sqrt or a "
                "norm evaluated at zero."
            )
        else:
            bad = "weights"
            what = (
                f"the weights became NaN or infinite {where}, although every loss term and its "
                "gradient were finite."
            )
            causes = "The optimizer's step overflowed: the learning rate is probably too high."
    raise TrainingError(
        f"training stopped at epoch {epoch}: {what} The weights of epoch {state.epoch} (the last "
        f"good ones) were kept. {causes}",
        term=bad,
        epoch=epoch,
        result=state.result(state.params, static, start, stopped_early=True),
    )


def _check_checkpoint_path(path: Path) -> None:
    """Fail before training, not at the first checkpoint, when ``path`` cannot be written."""
    if path.exists() and not path.is_file():
        raise DataError(f"checkpoint '{path}' is a directory, not a file; give a file path.")
    if path.parent.exists() and not path.parent.is_dir():
        raise DataError(
            f"cannot write checkpoint '{path}': '{path.parent}' is a file, not a folder."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"cannot write checkpoint '{path}': its folder cannot be created ({err.strerror or err})."
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DataError(
            f"cannot write checkpoint '{path}': the folder '{path.parent}' is not writable."
        )


def _save_checkpoint(path: Path, state: _State, fingerprint: str, info: dict | None) -> None:
    meta = {
        "fingerprint": fingerprint,
        "info": info or {},
        "epoch": state.epoch,
        "best_epoch": state.best_epoch,
        "best_val": state.best_val,
        "bad_epochs": state.bad_epochs,
        "stopped_early": state.stopped_early,
        "history": state.history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_container(
        path, _CHECKPOINT_KIND, meta, (state.params, state.opt_state, state.wstate, state.best)
    )


def checkpoint_info(path: Path) -> dict[str, Any]:
    """The ``info`` a checkpoint was written with (``{}`` when there is none)."""
    info = read_container_meta(Path(path), _CHECKPOINT_KIND).get("info") or {}
    if not isinstance(info, dict):  # dict() of a list or a string: a bare TypeError or ValueError
        raise _corrupt(path, "'info'", "a JSON object", info)
    return dict(info)


def _load_checkpoint(
    path: Path, state: _State, fingerprints: tuple[str, ...], epochs: int, info: dict | None
) -> _State:
    stored = read_container_meta(path, _CHECKPOINT_KIND)
    if stored.get("fingerprint") not in fingerprints:
        raise _refusal(path, stored.get("info"), info)
    like = (state.params, state.opt_state, state.wstate, state.best)
    try:
        meta, (params, opt_state, wstate, best) = read_container(
            path, _CHECKPOINT_KIND, lambda _: like
        )
    except DataError as err:  # most often a sound file made for another model: say so
        raise DataError(
            f"{str(err).rstrip('.')}. A checkpoint of another network, optimizer, weighting "
            "or set of loss terms cannot be resumed; delete it or fit with resume=False to "
            "start again."
        ) from None
    fields = _checkpoint_fields(path, meta)
    if fields["epoch"] > epochs:  # a training cannot be shortened: it never ran those epochs
        raise TgdsError(
            f"checkpoint '{path}' has trained {fields['epoch']} epochs, more than the {epochs} "
            f"epochs of this training; set epochs to at least {fields['epoch']} to resume it, "
            "or delete it or fit with resume=False to start again."
        )
    return _State(params=params, opt_state=opt_state, wstate=wstate, best=best, **fields)


def _refusal(path: Path, stored: Any, info: dict | None) -> TgdsError:
    """The error refusing a checkpoint of another fingerprint, naming what differs when both
    it and this training record their configuration (``info["configuration"]``)."""
    old = stored.get("configuration") if isinstance(stored, dict) else None
    new = (info or {}).get("configuration")
    detail = _configuration_difference(old, new) if isinstance(new, dict) else None
    if detail is None:  # a checkpoint of an earlier version, or a difference not recorded
        return TgdsError(
            f"checkpoint '{path}' was written by a different configuration or data (for the "
            "estimators: another class, other parameters, theory, training rows or unlabeled "
            "points); delete it or fit with resume=False to start again."
        )
    return TgdsError(
        f"checkpoint '{path}' was written by a different configuration or data: {detail}. "
        "Resume with what it was written with, or delete it or fit with resume=False to start "
        "again."
    )


def _configuration_difference(old: Any, new: dict[str, Any], most: int = 4) -> str | None:
    """The parameters that differ between the configuration ``old`` of a checkpoint (read
    from a file: any JSON) and ``new``, as ``name: old -> new`` (the first ``most``; the
    rest by name), and the names of the data that differ; ``None`` when ``old`` records no
    configuration or nothing recorded differs."""
    if not isinstance(old, dict):
        return None
    new = json.loads(json.dumps(new, default=str))  # tuples as lists, as ``old`` reads back
    parts = []
    was, now, names = _differing(old, new, "parameters")
    if names:
        shown = [f"{k}: {_shown(was, k)} -> {_shown(now, k)}" for k in names[:most]]
        more = f"; and {', '.join(names[most:])}" if len(names) > most else ""
        parts.append(f"its parameters differ from this training's: {'; '.join(shown)}{more}")
    names = _differing(old, new, "data")[2]
    if names:
        parts.append(f"its {' and '.join(names)} differ from this training's")
    return "; ".join(parts) or None


def _differing(old: dict, new: dict, group: str) -> tuple[dict, dict, list[str]]:
    """``old[group]``, ``new[group]`` and the names whose values differ between them (equal
    parameters written another way compare equal: ``1 == 1.0``, ``[8] == [8.0]``)."""
    was, now = old.get(group), new.get(group)
    was, now = (was if isinstance(was, dict) else {}), (now if isinstance(now, dict) else {})
    names = [*now, *(k for k in was if k not in now)]
    return was, now, [k for k in names if k not in was or k not in now or was[k] != now[k]]


def _shown(values: dict, name: str, width: int = 40) -> str:
    text = repr(values[name]) if name in values else "(unset)"
    return text if len(text) <= width else text[: width - 1] + "…"


def _checkpoint_fields(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The loop's counters and history from a checkpoint's metadata, checked: a damaged file
    would otherwise resume with a history out of step with its epochs (``epoch: 2.7``
    repeated epochs, ``stopped_early: "no"`` read as true)."""
    epoch = meta.get("epoch")
    if not Int(0).test(epoch):
        raise _corrupt(path, "'epoch'", "a non-negative integer", epoch)
    history = meta.get("history")
    if not (
        isinstance(history, dict)
        and all(
            isinstance(v, list) and len(v) == epoch and all(map(is_number, v))
            for v in history.values()
        )
    ):
        raise _corrupt(
            path, "'history'", f"a list of {epoch} numbers (one an epoch) under each name", history
        )
    checks = [
        ("best_epoch", Int(0, epoch).test, f"an integer from 0 to {epoch}"),
        ("best_val", Real().test, "a number"),
        ("bad_epochs", Int(0, epoch).test, f"an integer from 0 to {epoch}"),
        ("stopped_early", lambda v: isinstance(v, bool), "true or false"),
    ]
    fields = {"epoch": epoch, "history": {k: list(v) for k, v in history.items()}}
    for key, test, expected in checks:
        # checkpoints written before early stopping was recorded have no ``stopped_early``
        fields[key] = meta.get(key, False if key == "stopped_early" else None)
        if not test(fields[key]):
            raise _corrupt(path, repr(key), expected, fields[key])
    return fields


def _check_history_keys(
    path: Path,
    state: _State,
    names: list[str],
    settings: TrainSettings,
    adaptive: bool,
    validate: Callable | None,
) -> None:
    """Refuse a checkpoint whose history has other records than this training writes (say
    without ``val_data``): resumed, the lists would no longer hold one value per epoch."""
    keys = {"epoch", "loss", *names}
    keys |= {"penalty"} if settings.penalty is not None else set()
    keys |= {f"lambda/{n}" for n in names} if adaptive else set()
    keys |= {"val_data"} if validate is not None else set()
    keys |= {"schedule"} if settings.warmup or settings.ramp else set()
    if state.epoch and set(state.history) != keys:
        raise TgdsError(
            f"checkpoint '{path}' records {sorted(state.history)} in its history, but this "
            f"training records {sorted(keys)}: it was written with other loss terms, validation, "
            "penalty, weighting or warm-up; delete it or fit with resume=False to start again."
        )


def _corrupt(path: Path, what: str, expected: str, got: Any) -> DataError:
    return DataError(
        f"checkpoint '{path}' has corrupt metadata: {what} must be {expected}; got {got!r:.80}. "
        "Delete it or fit with resume=False to start again."
    )


class _progress:
    """A rich progress bar over epochs when ``verbose``; a no-op otherwise."""

    def __init__(self, verbose: bool, total: int, done: int):
        self.verbose, self.total, self.done = verbose, total, done
        self._bar = None

    def __enter__(self) -> Callable[[dict[str, float]], None]:
        if not self.verbose:
            return lambda record: None
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: PLC0415

        self._bar = Progress(
            TextColumn("training"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
        )
        self._bar.__enter__()
        task = self._bar.add_task("train", total=self.total, completed=self.done, info="")

        def advance(record: dict[str, float]) -> None:
            info = f"loss {record['loss']:.4g}" + (
                f"  val {record['val_data']:.4g}" if "val_data" in record else ""
            )
            self._bar.update(task, advance=1, info=info)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
