"""Benchmarks: speed and memory as ratios to a baseline run in the same session."""
