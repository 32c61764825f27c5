"""Interface languages: French by default, English available; messages live in ``locales/*.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Literal, cast

__all__ = ["LANGS", "Lang", "pick_lang", "translator"]

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")


@cache
def _messages(lang: Lang) -> dict[str, str]:
    text = resources.files("polis.web").joinpath("locales", f"{lang}.json").read_text("utf-8")
    return cast(dict[str, str], json.loads(text))


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **values)``: the message in ``lang`` (falls back to French, then to the key)."""
    messages, fallback = _messages(lang), _messages("fr")

    def t(key: str, **values: object) -> str:
        text = messages.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def pick_lang(cookie: str | None, default: Lang) -> Lang:
    return cookie if cookie in LANGS else default
