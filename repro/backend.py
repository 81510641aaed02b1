"""The Keras backend: importing Keras on the chosen one, seeding, and deterministic ops."""

from __future__ import annotations

import argparse
import os
import sys

BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}  # backend -> package


def import_keras(args: argparse.Namespace):
    """Select the backend, import keras quietly, and seed everything for args.seed."""
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    try:
        import keras
    except ImportError as e:
        print(f"error: cannot import keras with the {args.backend} backend: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    seed_everything(args.seed)
    return keras


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, so the same seed builds the same initial weights."""
    import keras

    keras.utils.set_random_seed(seed)
