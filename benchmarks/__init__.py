"""Reproducible benchmarks; each prints a table and the command that produced it."""
