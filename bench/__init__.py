"""Benchmarks (``make bench``): figures written to ``docs/benchmarks.md``."""
