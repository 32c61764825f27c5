"""Interface languages: French by default, English available; messages live in ``locales/*.json``.

The calculators' explanation steps (``line.step``, an English name that is part of the JSON contract)
are shown through :func:`step_translator`: its glossary is the ``step.*`` keys of the locale files
(``locales/explanations.<lang>.json``). A key is either a step as written (``step.net premium``) or a
pattern for the steps built from variable parts: ``step.tier {name}``. A placeholder named
``step…`` (``{step}``, ``{step2}``) is itself a step, translated in turn; any other placeholder (an id,
a date, a tier name) is kept as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, cast

__all__ = [
    "LANGS",
    "STEP_PREFIX",
    "Lang",
    "StepGlossary",
    "pick_lang",
    "step_glossary",
    "step_line_translator",
    "step_translator",
    "translate_step",
    "translator",
]

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


# ------------------------------------------------------------------------- explanation steps

STEP_PREFIX = "step."
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class _StepPattern:
    """``source`` with ``{names}`` (a regular expression matching a whole step) → ``target``."""

    source: re.Pattern[str]
    target: str
    weight: int  # literal characters: the most specific pattern is tried first


@dataclass(frozen=True, slots=True)
class StepGlossary:
    exact: dict[str, str]
    patterns: tuple[_StepPattern, ...]


def _compile(source: str, target: str) -> _StepPattern:
    parts, names, at = [], [], 0
    for found in _PLACEHOLDER.finditer(source):
        if found.group(1) in names:
            raise ValueError(f"step pattern {source!r}: {{{found.group(1)}}} used twice")
        names.append(found.group(1))
        parts += [re.escape(source[at : found.start()]), f"(?P<{found.group(1)}>.+?)"]
        at = found.end()
    parts.append(re.escape(source[at:]))
    weight = len(_PLACEHOLDER.sub("", source))
    return _StepPattern(re.compile("".join(parts), re.S), target, weight)


@cache
def step_glossary(lang: Lang) -> StepGlossary:
    """The ``step.*`` messages of ``lang``: exact step names, then patterns (most specific first)."""
    exact: dict[str, str] = {}
    patterns = []
    for key, text in _messages(lang).items():
        if not key.startswith(STEP_PREFIX):
            continue
        source = key.removeprefix(STEP_PREFIX)
        if _PLACEHOLDER.search(source):
            patterns.append(_compile(source, text))
        else:
            exact[source] = text
    patterns.sort(key=lambda p: -p.weight)
    return StepGlossary(exact, tuple(patterns))


def translate_step(step: str, lang: Lang) -> str | None:
    """The label of ``step`` in ``lang``, or ``None`` when the glossary does not know it.

    A pattern only counts when every ``{step…}`` part it captures is known too.
    """
    glossary = step_glossary(lang)
    if step in glossary.exact:
        return glossary.exact[step]
    for pattern in glossary.patterns:
        found = pattern.source.fullmatch(step)
        if found is None:
            continue
        values: dict[str, str] = {}
        for name, value in found.groupdict().items():
            label = translate_step(value, lang) if name.startswith("step") else value
            if label is None:
                break
            values[name] = label
        else:
            return pattern.target.format(**values)
    return None


def step_translator(lang: Lang) -> Callable[[object], str]:
    """``step(line.step)``: the step's label in ``lang``, the step as written when unknown."""

    def step(name: object) -> str:
        text = str(name)
        return translate_step(text, lang) or text

    return step


def step_line_translator(lang: Lang) -> Callable[[object], tuple[str, str]]:
    """``"step: formula"`` (an explanation already joined) → ``(label of the step, formula)``.

    The step is the shortest head before a ``": "`` that the glossary knows (a step may itself contain
    ``": "``); a line with no known head is kept whole as the formula, with an empty label.
    """

    def step_line(line: object) -> tuple[str, str]:
        text = str(line)
        at = text.find(": ")
        while at != -1:
            label = translate_step(text[:at], lang)
            if label is not None:
                return label, text[at + 2 :]
            at = text.find(": ", at + 2)
        return "", text

    return step_line
