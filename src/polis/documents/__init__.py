"""Documents people look at: plots (SVG/PNG) now; PDF certificates and statements later."""

from polis.documents.plots import crm_plot

__all__ = ["crm_plot"]
