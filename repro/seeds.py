"""Many seeds at once: each seed's initial weights without building its model, and on JAX every
seed trained in one compiled program (jax.vmap over the seeds' stacked states).

A seed's run is `seed_everything(seed)`, `build()`, then training. Building a Keras
model costs about 14 ms, more than training one seed takes here on JAX, so `InitialWeights`
replays the random draws instead (see its docstring), checked against a model really built.
"""

from __future__ import annotations

import random

from repro.backend import seed_everything
from repro.cli import MEMORY_CAP_BYTES  # a chunk of seeds may use what one run may

DRAWS = 256  # Python draws looked through for an initializer's seed, at least (a model makes a
# handful; a larger one, more: see InitialWeights)


def _seeded_initializers(layer, found: list) -> list:
    """The random initializers in `layer` and the layers inside it whose seed is a number."""
    import keras

    for value in list(vars(layer).values()):
        if isinstance(value, keras.layers.Layer) and value is not layer:
            _seeded_initializers(value, found)
        elif (
            isinstance(value, keras.initializers.Initializer)
            and type(getattr(value, "seed", None)) is int
        ):
            found.append(value)
    return found


def _draws(seed: int, n: int = DRAWS) -> list[int]:
    """The seeds Keras gives unseeded initializers after set_random_seed(seed): Python's
    `random`, seeded with `seed`, drawn with randint(1, 10**9) (keras.random.make_default_seed)."""
    rng = random.Random(seed)
    return [rng.randint(1, 10**9) for _ in range(n)]


def _equal(output, value) -> bool:
    import numpy as np

    return output is not None and bool(np.array_equal(output, value))


def _values(model) -> list:
    """The model's variables as NumPy arrays: trainable first, then non-trainable."""
    import numpy as np

    return [np.asarray(v.value) for v in model.trainable_variables + model.non_trainable_variables]


class InitialWeights:
    """The weights build() starts from under each seed, without building N models.

    Keras gives each random initializer a seed drawn from Python's `random` when its layer is
    made, and set_random_seed(s) seeds `random` with s. So a variable's first value is its
    initializer, called on its shape with the k-th draw after seeding. Which initializer and
    which k are learnt from a model built under `first`; the replay is then checked, value for
    value, against a model built under `check`. Variables no initializer accounts for (biases,
    constants) must be the same under both seeds. If anything differs (a Keras that draws in
    another way), `replayed` is False and every seed's model is built instead."""

    def __init__(self, build, first: int, check: int):
        import numpy as np

        self.build = build
        self.model = self._built(first)  # a fresh model: its optimizer and metrics start here
        initializers = []
        for layer in self.model.layers:
            _seeded_initializers(layer, initializers)
        # a draw per initializer and per seed generator: enough whatever the model's size
        draws = _draws(first, max(DRAWS, 2 * (len(initializers) + len(self.model.weights))))
        # one step per variable: ("same", value), ("draws", value, {flat index: k}) for a
        # SeedGenerator's state ([a draw, 0]), or ("init", class, config, k, shape, dtype)
        self.plan, outputs = [], {}  # outputs: (initializer, shape, dtype) -> what it gives
        for v in self.model.trainable_variables + self.model.non_trainable_variables:
            value = np.asarray(v.value)
            step = ("same", value)
            if value.dtype.kind in "iu":
                found = {i: draws.index(x) for i, x in enumerate(value.flat) if x in draws}
                step = ("draws", value, found) if found else step
            for init in initializers if value.dtype.kind == "f" else []:
                if init.seed not in draws:
                    continue
                key = (id(init), tuple(v.shape), str(v.dtype))  # each called once: a model
                if key not in outputs:  # of n layers has about n initializers and 2n variables
                    outputs[key] = self._output(init, v.shape, v.dtype)
                if _equal(outputs[key], value):
                    k = draws.index(init.seed)
                    step = ("init", type(init), init.get_config(), k, v.shape, v.dtype)
                    break
            self.plan.append(step)
        self.draws_used = 1 + max(
            [s[3] for s in self.plan if s[0] == "init"]
            + [k for s in self.plan if s[0] == "draws" for k in s[2].values()],
            default=-1,
        )
        built, replayed = _values(self._built(check)), self._replay(check)
        self.replayed = all(
            a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
            for a, b in zip(built, replayed, strict=True)
        )

    @staticmethod
    def _output(init, shape, dtype):
        """What `init` gives for a variable of this shape, or None if it cannot make one."""
        import numpy as np

        try:
            return np.asarray(init(shape, dtype))
        except ValueError:  # an initializer for other shapes (Orthogonal needs two axes)
            return None

    def _built(self, seed: int):
        seed_everything(seed)
        return self.build()

    def _replay(self, seed: int) -> list:
        import numpy as np

        draws = _draws(seed, self.draws_used)
        values = []
        for step in self.plan:
            if step[0] == "same":
                values.append(step[1])
            elif step[0] == "draws":
                value = step[1].copy()
                for i, k in step[2].items():
                    value.flat[i] = draws[k]
                values.append(value)
            else:
                _, kind, config, k, shape, dtype = step
                values.append(
                    np.asarray(kind.from_config({**config, "seed": draws[k]})(shape, dtype))
                )
        return values

    def __call__(self, seed: int) -> list:
        """Trainable then non-trainable values, as seed_everything(seed); build()."""
        return self._replay(seed) if self.replayed else _values(self._built(seed))


def seeds_per_chunk(seeds: int, bytes_per_seed: int, budget: int = MEMORY_CAP_BYTES) -> int:
    """How many seeds to train in one program: all of them, unless memory asks for fewer."""
    return max(1, min(seeds, budget // max(1, bytes_per_seed)))


def epoch_step(budgets) -> int:
    """Epochs per compiled call that reach every budget in turn, all calls of one size (on JAX
    each size compiles once), at most 200 (Ctrl-C is noticed between calls)."""
    import math

    g = math.gcd(*[b - a for a, b in zip([0, *budgets], budgets, strict=False)])
    return max(d for d in range(1, min(g, 200) + 1) if g % d == 0)


def train_together_jax(
    initial: InitialWeights, seeds, X, y, batch_size, budgets, chunk, progress, inputs=None
):
    """Train `seeds` on JAX in chunks of `chunk` seeds, each chunk one vmapped compiled program,
    to the largest of `budgets` (epochs), predicting `inputs` (X unless given) at each budget.

    Every seed starts from initial(seed), with fresh optimizer and metrics, and takes the same
    train_step updates as a run of its own. Returns (loss histories, predictions): NumPy arrays
    of shape (seeds, epochs) and (seeds, budgets, *the model's output for inputs).
    `progress(text)` hears of each finished part.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from repro.training import Interrupted, _batches, _jax_loop, ready_for_jax_steps

    model = initial.model
    ready_for_jax_steps(model)
    n_trainable = len(model.trainable_variables)
    fresh = [  # as NumPy arrays: stacking them then compiles nothing
        [np.asarray(v.value) for v in variables]
        for variables in (model.optimizer.variables, model.metrics_variables)
    ]
    run = jax.jit(jax.vmap(_jax_loop(model, _batches(X, y, batch_size)), in_axes=(0, None, None)))
    shown = jnp.asarray(X if inputs is None else inputs)

    @jax.jit
    @jax.vmap
    def predict(trainable, non_trainable):
        outputs, _ = model.stateless_call(trainable, non_trainable, shown, training=False)
        return outputs

    seeds, budgets = list(seeds), list(budgets)
    step = epoch_step(budgets)
    histories, predictions = [], []
    for start in range(0, len(seeds), chunk):
        part = seeds[start : start + chunk]
        padded = part + part[-1:] * (chunk - len(part))  # one chunk size: one compilation
        values = [jnp.asarray(np.stack(c)) for c in zip(*map(initial, padded), strict=True)]
        state = (
            values[:n_trainable],
            values[n_trainable:],
            *([jnp.asarray(np.broadcast_to(v, (chunk, *v.shape))) for v in f] for f in fresh),
        )
        losses, seen, done = [], [], 0
        try:
            for budget in budgets:
                while done < budget:
                    state, part_losses = run(state, fresh[1], jnp.zeros(step))
                    losses.append(np.asarray(part_losses))
                    done += step
                    progress(f"seeds {part[0]}-{part[-1]}: epoch {done}/{budgets[-1]}")
                seen.append(np.asarray(predict(state[0], state[1]), "float64")[: len(part)])
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted at epoch {done} of {budgets[-1]} (seeds {part[0]}-{part[-1]})"
            ) from None
        histories.append(np.concatenate(losses, axis=1)[: len(part)])
        predictions.append(np.stack(seen, axis=1))
    return np.concatenate(histories), np.concatenate(predictions)
