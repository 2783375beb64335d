"""Benchmarks: ``python -m sim.bench``."""
