"""Connectors turn a source's format into canonical records and nothing else."""
