"""Every explanation step the calculators write has a French label for the web pages.

The steps are English names that are part of the JSON contract; the pages show them through the
``step.*`` glossary of ``polis/web/locales/explanations.<lang>.json``. The calculators' source is read
(``ast``) for the step of every ``Explanation``/``ExplanationLine``/``StepView``/claims ``Step`` and
CRM ``ctx.add``: a literal step must be in the glossary, an f-string step must be matched by one of
its patterns (filled with sample values), so a new step without a translation fails here.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

import polis
import polis.api  # loads polis.web in the order the app does (no import cycle)
from polis.web.i18n import (
    STEP_PREFIX,
    step_glossary,
    step_line_translator,
    step_translator,
    translate_step,
)

SOURCE = Path(polis.__file__).parent
SCANNED = ("actuarial", "advisor", "calc", "claims", "ondemand", "policies", "rating", "services")
CONSTRUCTORS = {"Explanation", "ExplanationLine", "StepView", "Step"}
ADDERS = {"ctx", "self"}  # ``ctx.add(step, formula, amount)`` of the CRM

# What the variable parts of the f-string steps hold, by expression (any other part: "x").
SAMPLES: dict[str, tuple[str, ...]] = {
    "s.step": ("pure premium", "base", "factor zone = B"),
    "tag": ("period 1", "period 2 (due 2026-01-01)"),
    "what": ("base contract", "on-demand top-up"),
    "kind": ("regularisation", "refund"),
    "kind.value": ("activation", "extension"),
    "charge.kind.value": ("activation", "extension"),
    "label": ("market value (valeur vénale)", "agreed value (valeur agréée)"),
    "rule.tax": ("TSCA",),
    "deductible.kind.value": ("absolute", "simple"),
    "deductible.scope.value": ("claim", "event", "annual"),
}


@dataclass(frozen=True)
class Found:
    where: str
    step: str | None  # a literal step
    fstring: ast.JoinedStr | None = None
    known: tuple[tuple[str, ...], ...] = ()  # per variable part of the f-string: its literal values


def _appended(scope: ast.AST, listed: str | None) -> Iterator[ast.Tuple]:
    """The tuples ``<list>.append((…))`` in ``scope`` (to list ``listed``, or to any list)."""
    for call in ast.walk(scope):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "append"
            and isinstance(call.func.value, ast.Name)
            and listed in (None, call.func.value.id)
            and call.args
            and isinstance(call.args[0], ast.Tuple)
        ):
            yield call.args[0]


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _resolve(
    name: str, tree: ast.Module, parents: dict[ast.AST, ast.AST], at: ast.AST
) -> Iterator[ast.expr]:
    """The expressions a variable used as a step can stand for, found in the same module."""
    functions = _functions(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    yield node.value
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for t, v in zip(target.elts, node.value.elts, strict=False):
                        if isinstance(t, ast.Name) and t.id == name:
                            yield v
        if isinstance(node, ast.For) and isinstance(node.target, ast.Tuple):
            # ``for name, … in rows`` / ``in make_rows(…)``: the tuples appended to the rows
            names = [e.id if isinstance(e, ast.Name) else "" for e in node.target.elts]
            if name not in names:
                continue
            position, source = names.index(name), node.iter
            if isinstance(source, ast.Name):
                rows = list(_appended(tree, source.id))
            elif isinstance(source, ast.Call) and isinstance(source.func, ast.Name):
                maker = functions.get(source.func.id)
                rows = list(_appended(maker, None)) if maker else []
            else:
                rows = []
            yield from (row.elts[position] for row in rows if len(row.elts) > position)
    # a parameter of the enclosing function: its default, the arguments of its calls in the module
    function = at
    while function in parents and not isinstance(function, ast.FunctionDef):
        function = parents[function]
    if not isinstance(function, ast.FunctionDef):
        return
    arguments = function.args
    params = [a.arg for a in arguments.args]
    defaults = dict(
        zip(params[len(params) - len(arguments.defaults) :], arguments.defaults, strict=True)
    )
    for keyword, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if default is not None:
            defaults[keyword.arg] = default
    if name in defaults:
        yield defaults[name]
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            if call.func.id != function.name:
                continue
            if name in params and len(call.args) > params.index(name):
                yield call.args[params.index(name)]
            yield from (k.value for k in call.keywords if k.arg == name)


def _expand(
    expr: ast.expr, tree: ast.Module, parents: dict[ast.AST, ast.AST], seen: frozenset[str]
) -> Iterator[tuple[str | None, ast.JoinedStr | None]]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        yield expr.value, None
    elif isinstance(expr, ast.JoinedStr):
        yield None, expr
    elif isinstance(expr, ast.IfExp):
        yield from _expand(expr.body, tree, parents, seen)
        yield from _expand(expr.orelse, tree, parents, seen)
    elif isinstance(expr, ast.Dict):  # ``LABELS[key]``: every value of the table
        for value in expr.values:
            yield from _expand(value, tree, parents, seen)
    elif isinstance(expr, ast.Subscript):
        yield from _expand(expr.value, tree, parents, seen)
    elif isinstance(expr, ast.Name) and expr.id not in seen:
        for value in _resolve(expr.id, tree, parents, expr):
            yield from _expand(value, tree, parents, seen | {expr.id})
    # other expressions (``e.step``, ``step.name``, ``row.describe()``) copy a step made elsewhere


def _known_parts(
    fstring: ast.JoinedStr, tree: ast.Module, parents: dict[ast.AST, ast.AST]
) -> tuple[tuple[str, ...], ...]:
    """For each ``{part}`` of ``fstring``: the literal strings a variable part is bound to."""
    known = []
    for part in fstring.values:
        if isinstance(part, ast.FormattedValue):
            values = _expand(part.value, tree, parents, frozenset())
            known.append(tuple(sorted({step for step, _ in values if step is not None})))
    return tuple(known)


def _steps() -> list[Found]:
    found = []
    for folder in SCANNED:
        for path in sorted((SOURCE / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            parents = {
                child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Name) and func.id in CONSTRUCTORS:
                    pass
                elif not (
                    isinstance(func, ast.Attribute)
                    and func.attr == "add"
                    and isinstance(func.value, ast.Name)
                    and func.value.id in ADDERS
                    and len(node.args) >= 2  # add(step, formula, …)
                ):
                    continue
                first = node.args[0] if node.args else None
                named = [k.value for k in node.keywords if k.arg in ("step", "name")]
                expr = first if first is not None else (named[0] if named else None)
                if expr is None:
                    continue
                where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                for step, fstring in _expand(expr, tree, parents, frozenset()):
                    known = () if fstring is None else _known_parts(fstring, tree, parents)
                    found.append(Found(where, step, fstring, known))
    return found


STEPS = _steps()
LITERALS = sorted({(f.step, f.where) for f in STEPS if f.step is not None})
FSTRINGS = [f for f in STEPS if f.fstring is not None]


def _samples(found: Found) -> list[str]:
    """The f-string filled with every combination of sample values (capped): the literals a part is
    bound to in its module, else ``SAMPLES``, else ``"x"``."""
    assert found.fstring is not None
    texts, known = [""], iter(found.known)
    for part in found.fstring.values:
        if isinstance(part, ast.Constant):
            texts = [t + str(part.value) for t in texts]
        elif isinstance(part, ast.FormattedValue):
            values = next(known) or SAMPLES.get(ast.unparse(part.value), ("x",))
            texts = [t + v for t in texts for v in values][:24]
    return texts


def test_the_scan_finds_the_steps_of_every_calculator() -> None:
    literals = {step for step, _ in LITERALS}
    assert len(literals) >= 94  # the count when this test was written
    assert {"net premium", "deductible", "limit per claim", "VAT", "history"} <= literals
    assert {"on-demand top-up", "base contract", "premium rule (L113-9)"} <= literals
    assert {"limit per event", "annual aggregate limit"} <= literals
    parts = {value for f in FSTRINGS for values in f.known for value in values}
    assert "market value (valeur vénale)" in parts  # f"valuation: {label}", label from a table
    assert len(FSTRINGS) > 30


@pytest.mark.parametrize(("step", "where"), LITERALS, ids=[w for _, w in LITERALS])
def test_every_literal_step_has_a_french_label(step: str, where: str) -> None:
    assert translate_step(step, "fr") is not None, f"{where}: add 'step.{step}' to the glossary"
    assert translate_step(step, "en") is not None, f"{where}: 'step.{step}' missing in English"


@pytest.mark.parametrize("found", FSTRINGS, ids=[f.where for f in FSTRINGS])
def test_every_step_built_from_parts_matches_a_french_pattern(found: Found) -> None:
    assert found.fstring is not None
    for sample in _samples(found):
        assert translate_step(sample, "fr") is not None, (
            f"{found.where}: no 'step.…' pattern for {ast.unparse(found.fstring)} ({sample!r})"
        )


def test_french_and_english_glossaries_have_the_same_steps() -> None:
    folder = resources.files("polis.web").joinpath("locales")
    fr = json.loads(folder.joinpath("explanations.fr.json").read_text("utf-8"))
    en = json.loads(folder.joinpath("explanations.en.json").read_text("utf-8"))
    assert fr.keys() == en.keys()
    assert all(key.startswith(STEP_PREFIX) for key in fr)
    assert all(en[key] == key.removeprefix(STEP_PREFIX) for key in en)  # the contract's own words
    assert step_glossary("fr").patterns  # patterns are kept apart from the exact names


@pytest.mark.parametrize(
    ("step", "french"),
    [
        ("net premium", "prime nette"),
        ("deductible", "franchise"),
        ("limit per claim", "plafond par sinistre"),
        ("pure premium [building]", "prime pure [building]"),
        ("factor zone = B [building]", "facteur zone = B [building]"),
        ("loading: management", "chargement de gestion"),
        ("loading: other_costs", "chargement : other_costs"),
        ("TSCA on building (fire_private)", "TSCA sur building (fire_private)"),
        ("TSCA on fees (fire_private)", "TSCA sur les frais (fire_private)"),
        ("period 2: claim-free period", "période 2 : période sans sinistre"),
        (
            "period 1 (due 2026-01-01): coefficient",
            "période 1 (échéance 2026-01-01) : coefficient de réduction-majoration",
        ),
        ("tier Silver", "palier Silver"),
        ("valuation: market value (valeur vénale)", "évaluation : valeur vénale"),
    ],
)
def test_steps_are_translated_with_their_variable_parts_kept(step: str, french: str) -> None:
    assert step_translator("fr")(step) == french
    assert step_translator("en")(step) == step


def test_an_unknown_step_is_shown_as_written() -> None:
    assert step_translator("fr")("something new") == "something new"
    # a pattern only applies when the step it wraps is known
    assert step_translator("fr")("something new [building]") == "something new [building]"


def test_a_joined_line_is_split_at_the_first_known_step() -> None:
    fr, en = step_line_translator("fr"), step_line_translator("en")
    assert fr("history: 3 completed window(s)") == ("historique", "3 completed window(s)")
    assert fr("tier Gold: max sum insured 5000") == ("palier Gold", "max sum insured 5000")
    assert en("history: 3 completed window(s)") == ("history", "3 completed window(s)")
    assert fr("no step here") == ("", "no step here")
    assert fr("unknown: a: b") == ("", "unknown: a: b")
