"""Recoup: detect, route and recover payment, bank, invoice and order exceptions."""

__version__ = "0.1.0"
__all__ = ["__version__"]
