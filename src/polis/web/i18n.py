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
    """``locales/<lang>.json`` merged with every ``locales/<part>.<lang>.json`` (one per page group)."""
    folder = resources.files("polis.web").joinpath("locales")
    messages: dict[str, str] = {}
    names = sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.name == f"{lang}.json" or entry.name.endswith(f".{lang}.json")
    )
    for name in names:
        part = cast(dict[str, str], json.loads(folder.joinpath(name).read_text("utf-8")))
        clashes = messages.keys() & part.keys()
        if clashes:
            raise ValueError(f"locale keys defined twice ({name}): {sorted(clashes)}")
        messages |= part
    return messages


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **values)``: the message in ``lang`` (falls back to French, then to the key)."""
    messages, fallback = _messages(lang), _messages("fr")

    def t(key: str, **values: object) -> str:
        text = messages.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def pick_lang(cookie: str | None, default: Lang) -> Lang:
    return cookie if cookie in LANGS else default
