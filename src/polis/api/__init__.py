"""HTTP entrypoint: the FastAPI app factory, routers, auth and the error→HTTP table."""

from polis.api.app import create_app

__all__ = ["create_app"]
