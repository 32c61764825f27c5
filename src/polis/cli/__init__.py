"""Command-line entrypoint (Typer + Rich): ``polis``."""

from polis.cli.main import app, main

__all__ = ["app", "main"]
