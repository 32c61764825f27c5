"""Polis: an open insurance core, French market first."""

__all__ = ["__version__"]

__version__ = "0.1.0"
