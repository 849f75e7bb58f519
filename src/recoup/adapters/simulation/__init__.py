"""Synthetic but realistic event feeds, for demos and benchmarks that must not need real data."""
