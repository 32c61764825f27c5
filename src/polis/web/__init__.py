"""Web entrypoint: server-rendered pages (Jinja2), French by default, English available."""

from polis.web.routes import mount_web

__all__ = ["mount_web"]
