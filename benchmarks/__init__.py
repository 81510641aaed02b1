"""Benchmarks: each a script that times two ways of one thing side by side (see docs/)."""
