"""Training: the same Adam updates as model.fit, without its per-epoch overhead, per backend.

`train` runs either plain `model.fit` (--fit naive, as in the article) or a fast loop that calls
the model's own `train_step` many epochs at a time: a `tf.function` over epochs on TensorFlow, a
jitted `lax.scan` on JAX, a plain loop on PyTorch. Both report the loss of every epoch as `fit`
does, and both stop at the first loss that is NaN or infinite.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; `history` holds the losses up to that epoch."""

    def __init__(self, message: str, history: list):
        super().__init__(message)
        self.history = history


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says at which epoch (`epoch`: how many ended)."""

    def __init__(self, message: str, epoch: int = 0):
        super().__init__(message)
        self.epoch = epoch


def _cached(model, key, make):
    """The compiled loop for this model and data: tracing costs more than 1000 epochs.

    The loops live on the model itself (they refer to it), so they go when the model goes; kept
    in a table of their own, their references would keep every model alive."""
    loops = vars(model).setdefault("_fast_loops", {})  # vars(): not a layer Keras should track
    if key not in loops:
        loops[key] = make()
    return loops[key]


def load_initial_state(model, fresh) -> None:
    """Give `model` the weights and optimizer state of `fresh`, a new model of the same build,
    so that another seed trains with the loops `model` has already compiled."""
    for m in (model, fresh):
        m.optimizer.build(m.trainable_variables)
    for old, new in zip(
        model.weights + model.optimizer.variables,
        fresh.weights + fresh.optimizer.variables,
        strict=True,
    ):
        old.assign(new.value)


def _batches(X, y, batch_size):
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(X), batch_size)]


def _report(epoch: int, epochs: int, loss: float, verbose: int, steps: int = 1) -> None:
    if verbose == 2:  # Keras' per-epoch lines, without the timings that differ run to run
        print(f"Epoch {epoch}/{epochs}\n{steps}/{steps} - loss: {loss:.4f}")
    elif verbose == 1 and (epoch % max(1, epochs // 10) == 0 or epoch == epochs):
        print(f"epoch {epoch:>{len(str(epochs))}}/{epochs}  loss {loss:.6g}")


def _chunk_sizes(epochs: int, verbose: int) -> list[int]:
    """Epochs per compiled call: one for per-epoch lines, else about a tenth of training, at most
    200 (Ctrl-C is noticed between calls: 200 epochs take well under a second)."""
    step = 1 if verbose == 2 else min(200, max(1, epochs // 10))
    return [min(step, epochs - start) for start in range(0, epochs, step)]


def _fit_tensorflow(model, X, y, batch_size, epochs, verbose):
    import tensorflow as tf

    key = ("tensorflow", batch_size, X.tobytes(), y.tobytes())
    run = _cached(
        model, key, lambda: _tensorflow_loop(model, tf.constant(X), tf.constant(y), batch_size)
    )
    for n in _chunk_sizes(epochs, verbose):
        yield from run(tf.constant(n)).numpy().tolist()


def _tensorflow_loop(model, X, y, batch_size):
    import tensorflow as tf

    full, rest = divmod(X.shape[0], batch_size)  # whole batches, then what is left
    whole = [tf.reshape(a[: full * batch_size], (full, batch_size, *a.shape[1:])) for a in (X, y)]
    # fit compiles its step, not its loop, with XLA when model.jit_compile says so (Keras turns
    # it off while TensorFlow's op determinism is on, as it is here): do the same, so fast stays
    # equal to fit. Each batch keeps a fixed shape, which XLA needs.
    step = tf.function(model.train_step, jit_compile=bool(model.jit_compile))

    @tf.function
    def run(n):  # n epochs in one graph: no Python between updates
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(n):
            model.reset_metrics()  # fit starts each epoch with fresh metrics
            for j in tf.range(full):
                step((whole[0][j], whole[1][j]))
            if rest:
                step((X[full * batch_size :], y[full * batch_size :]))
            loss = tf.cast(model.get_metrics_result()["loss"], tf.float32)
            losses = losses.write(i, loss)
            if not tf.math.is_finite(loss):
                break
        return losses.stack()

    return run


MAX_SCAN_BATCHES = 16  # on JAX, an epoch of up to this many batches is one compiled scan


def ready_for_jax_steps(model) -> None:
    """What fit does on JAX before its first train_step, so that the step can be called alone."""
    model.make_train_function()  # builds the metrics the train step updates
    model.optimizer.build(model.trainable_variables)
    model.reset_metrics()  # fit starts every epoch from these, whatever an earlier fit left
    record = getattr(model, "_record_training_state_sharding_spec", None)
    if record is not None:  # older Keras 3 (3.5): the step pins its state to what fit recorded
        record()


def _fit_jax(model, X, y, batch_size, epochs, verbose):
    import jax.numpy as jnp
    import numpy as np

    batches = _batches(X, y, batch_size)
    if len(batches) > MAX_SCAN_BATCHES:  # one scan would unroll every batch: step batch by batch
        yield from _fit_stepwise(model, batches, epochs)
        return
    ready_for_jax_steps(model)
    fresh_metrics = [v.value for v in model.metrics_variables]
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
        fresh_metrics,
    )
    key = ("jax", batch_size, X.tobytes(), y.tobytes())
    run = _cached(model, key, lambda: _jax_loop(model, batches))
    for n in _chunk_sizes(epochs, verbose):
        state, losses = run(state, fresh_metrics, jnp.zeros(n))
        yield from np.asarray(losses).tolist()  # iterating a JAX array would compile an unstack
    for variables, values in zip(
        (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables),
        state[:3],
        strict=True,
    ):
        for v, value in zip(variables, values, strict=True):
            v.assign(value)


def _jax_loop(model, batches):
    import jax
    import jax.numpy as jnp

    data = [(jnp.asarray(x), jnp.asarray(y)) for x, y in batches]

    @jax.jit
    def run(state, fresh_metrics, n_dummy):  # len(n_dummy) epochs in one compiled scan
        def epoch(state, _):
            state = (*state[:3], fresh_metrics)  # fit starts each epoch with fresh metrics
            for x, y in data:
                logs, state = model.train_step(state, (x, y))
            return state, logs["loss"]

        return jax.lax.scan(epoch, state, n_dummy)

    return run


def _fit_stepwise(model, batches, epochs):
    """One compiled train step per batch; the epoch's loss is the batch losses' weighted mean."""
    samples = sum(len(x) for x, _ in batches)

    def batch_loss(x, y) -> float:  # Keras 3.5's train_on_batch reports a mean since the last
        model.reset_metrics()  # reset, not its own batch's loss; later ones reset first
        return float(model.train_on_batch(x, y))

    for _ in range(epochs):
        yield sum(batch_loss(x, y) * len(x) for x, y in batches) / samples


def _fit_eager(model, X, y, batch_size, epochs, verbose):
    import keras

    batches = _batches(X, y, batch_size)
    data = [(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)) for x, y in batches]
    model.make_train_function()
    for _ in range(epochs):
        model.reset_metrics()
        for x, y in data:
            logs = model.train_step((x, y))
        yield float(logs["loss"])


def _fit_naive(model, X, y, epochs, batch_size, verbose, finished):
    import keras

    # shuffle=False so that a batch smaller than the set visits samples in the fast loop's order;
    # with the article's full batches the order changes nothing but float rounding. verbose=0:
    # Keras' own lines carry timings; `finished` prints the same lines without them.
    model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        shuffle=False,
        callbacks=[
            keras.callbacks.LambdaCallback(on_epoch_end=lambda _, logs: finished(logs["loss"]))
        ],
    )


def train(model, X, y, epochs: int, batch_size: int, fit: str = "fast", verbose: int = 0):
    """Train and return the loss of every epoch, exactly as model.fit reports it.

    Raises TrainingDiverged (with the epoch) when the loss becomes NaN or infinite, and
    Interrupted (with the epoch) on Ctrl-C."""
    import keras

    history = []

    def finished(loss) -> None:  # called once per epoch, by either loop
        history.append(float(loss))
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {loss} at epoch {len(history)}; "
                "try a smaller --lr or scaled inputs",
                history,
            )
        _report(len(history), epochs, loss, verbose, math.ceil(len(X) / batch_size))

    try:
        if fit == "naive":
            _fit_naive(model, X, y, epochs, batch_size, verbose, finished)
        else:
            loop = {"tensorflow": _fit_tensorflow, "jax": _fit_jax}.get(
                keras.backend.backend(), _fit_eager
            )
            for loss in loop(model, X, y, batch_size, epochs, verbose):
                finished(loss)
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted at epoch {len(history)} of {epochs}", len(history)
        ) from None
    return history


def predict(model, X, batch_size: int | None = None):
    """model.predict(X, batch_size=..., verbose=0) as a flat float64 NumPy array (one value per
    echo target), as the scripts print it."""
    import numpy as np

    return np.asarray(model.predict(X, batch_size=batch_size, verbose=0), "float64").ravel()


@contextlib.contextmanager
def timed(seconds: dict, phase: str):
    """Add the wall time of the with-block to seconds[phase]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] = round(seconds.get(phase, 0.0) + time.perf_counter() - start, 4)


def fit(args, model, X, y, epochs: int, batch_size: int, verbose: int) -> list:
    """Train as the run's --fit says and return the loss of every epoch.

    A loss that turns NaN or infinite ends the process with a one-line message and status 1."""
    try:
        return train(model, X, y, epochs, batch_size, args.fit, verbose)
    except TrainingDiverged as e:
        print(f"error: training stopped: {e}", file=sys.stderr)
        raise SystemExit(1) from None


def as_history(model, losses: list, epochs: int, steps: int, verbose: int):
    """What model.fit returns, a keras.callbacks.History, for these per-epoch losses."""
    import keras

    history = keras.callbacks.History()
    history.set_model(model)
    history.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
    history.epoch, history.history = list(range(len(losses))), {"loss": list(losses)}
    return history
