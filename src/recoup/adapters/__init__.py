"""Adapters: the database, files, clocks and outside systems behind the domain's ports."""
