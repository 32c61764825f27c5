"""The import rules of ARCHITECTURE.md, enforced on the source tree (static: AST, no import)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "polis"

DOMAIN = ("actuarial", "rating", "claims", "policies", "credit", "fleet", "advisor", "ondemand")
INFRASTRUCTURE = ("sqlalchemy", "alembic", "fastapi", "starlette", "typer", "uvicorn", "psycopg")
ENTRYPOINTS = ("polis.api", "polis.web", "polis.cli")

# what each layer may import from polis (besides itself); entrypoints may import everything
ALLOWED = {
    "kernel": ("polis.kernel",),
    "calc": ("polis.kernel", "polis.config", *(f"polis.{d}" for d in DOMAIN)),
    "documents": ("polis.kernel", *(f"polis.{d}" for d in DOMAIN)),
    "store": ("polis.kernel", "polis.config"),
    "notify": ("polis.kernel", "polis.config"),
    "services": (
        "polis.kernel",
        "polis.store",
        "polis.calc",
        "polis.documents",
        *(f"polis.{d}" for d in DOMAIN),
    ),
}


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        found.append((name, path))
    return found


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def reads_environment(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"environ", "getenv"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
    return False


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_source_tree_is_found() -> None:
    assert len(modules()) > 20


@pytest.mark.parametrize(("name", "path"), [m for m in modules() if layer_of(m[0]) in DOMAIN])
def test_domain_packages_import_no_infrastructure_and_read_no_environment(
    name: str, path: Path
) -> None:
    imported = imports_of(path)
    bad = sorted(
        i
        for i in imported
        if i.split(".")[0] in INFRASTRUCTURE
        or i.startswith(("polis.store", "polis.services", "polis.config", *ENTRYPOINTS))
    )
    assert not bad, f"{name} imports {bad}"
    assert not reads_environment(path), f"{name} reads os.environ"


@pytest.mark.parametrize(("name", "path"), [m for m in modules() if layer_of(m[0]) in ALLOWED])
def test_layers_import_only_downwards(name: str, path: Path) -> None:
    layer = layer_of(name)
    own = f"polis.{layer}"
    allowed = (own, *ALLOWED[layer])
    bad = sorted(
        i
        for i in imports_of(path)
        if (i == "polis" or i.startswith("polis.")) and i != "polis" and not i.startswith(allowed)
    )
    assert not bad, f"{name} ({layer}) imports {bad}"


@pytest.mark.parametrize(
    ("name", "path"), [m for m in modules() if layer_of(m[0]) in ("kernel", "calc")]
)
def test_pure_layers_import_no_infrastructure(name: str, path: Path) -> None:
    bad = sorted(i for i in imports_of(path) if i.split(".")[0] in INFRASTRUCTURE)
    assert not bad, f"{name} imports {bad}"
    assert not reads_environment(path)


@pytest.mark.parametrize(
    ("name", "path"),
    [m for m in modules() if m[1].name == "__init__.py" and "migrations" not in m[0]],
)
def test_every_package_declares_its_public_api(name: str, path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    has_all = any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for node in tree.body
    )
    stars = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
    ]
    assert not stars, f"{name} uses a star import"
    if path.stat().st_size > 0:
        assert has_all, f"{name} has no __all__"


def test_nothing_outside_the_entrypoints_and_config_reads_the_environment() -> None:
    offenders = [
        name
        for name, path in modules()
        if reads_environment(path) and not name.startswith(("polis.config", *ENTRYPOINTS))
    ]
    assert offenders == []
