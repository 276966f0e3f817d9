"""Benchmark modules: each exposes run(ctx) -> list of (metric, value, goal) rows; see appliance/bench.py."""
