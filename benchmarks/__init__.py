"""Benchmarks of the local host (``python -m benchmarks``): figures, not tests."""
