"""Which part of the package may import which, written out and checked against
every import in `union/` (function-level and TYPE_CHECKING imports included).

The README's map says where a module belongs; this test says what it may lean on.
A new module lands in a part by its folder, so it is checked without being listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "union"

#: The parts of the package. A module belongs to its folder; a root module not
#: named here is wiring or vocabulary ("root").
FOLDERS = (
    "rules",
    "adapters",
    "models",
    "services",
    "forms",
    "views",
    "web",
    "generate",
)
EDGE = frozenset(
    {"union", "union.cli", "union.worker"}
)  # create_app, the CLI and the worker wire everything

#: What each part must never import.
NEVER: dict[str, frozenset[str]] = {
    "adapters": frozenset(
        {"models", "rules", "services", "forms", "views", "web", "generate", "edge"}
    ),
    "rules": frozenset(
        {"adapters", "services", "forms", "views", "web", "generate", "edge"}
    ),
    "root": frozenset({"services", "forms", "views", "web", "generate", "edge"}),
    "models": frozenset(
        {"rules", "services", "forms", "views", "web", "generate", "edge"}
    ),
    "services": frozenset({"forms", "views", "web", "generate", "edge"}),
    "forms": frozenset({"views", "web", "generate", "edge"}),
    "web": frozenset({"views", "generate", "edge"}),
    "views": frozenset({"generate", "edge"}),
    "generate": frozenset({"forms", "views", "web", "edge"}),
    "edge": frozenset(),
}


def part_of(module: str) -> str:
    if module in EDGE:
        return "edge"
    pieces = module.split(".")
    if len(pieces) > 1 and pieces[1] in FOLDERS:
        return pieces[1]
    return "root"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for every `union` module the source imports. `from union.x
    import y` counts as importing `union.x.y` when y is a module, else `union.x`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                )
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(
                    ".py"
                ).exists() or (PACKAGE.parent / candidate.replace(".", "/")).is_dir()
                found.append((node.lineno, candidate if is_module else base))
    return [(line, name) for line, name in found if name.split(".")[0] == "union"]


def breaches(module: str, source: str, *, is_package: bool = False) -> list[str]:
    part = part_of(module)
    package = module if is_package else module.rpartition(".")[0]
    return [
        f"{module}:{line} imports {target} ({part} must never import {part_of(target)})"
        for line, target in imported_modules(source, package)
        if part_of(target) in NEVER[part]
    ]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_part_with_rules():
    assert {part_of(module_name(path)) for path in MODULES} <= NEVER.keys()
    assert len(MODULES) > 90


@pytest.mark.parametrize("part", sorted(NEVER))
def test_no_part_imports_what_it_must_never_import(part):
    found = [
        breach
        for path in MODULES
        if part_of(module_name(path)) == part
        for breach in breaches(
            module_name(path), path.read_text(), is_package=path.name == "__init__.py"
        )
    ]
    assert found == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("union.rules.standing", "from union.services import dues", "services"),
        ("union.rules.standing", "from union.services.dues import record", "services"),
        ("union.adapters.mail", "import union.models.users", "models"),
        ("union.models.members", "from union.rules.standing import standing", "rules"),
        ("union.services.dues", "from union.web import access", "web"),
        ("union.services.dues", "from union.forms.base import BaseForm", "forms"),
        ("union.labels", "from union.forms.base import SelectChoice", "forms"),
        ("union.services.dues", "from .. import views", "views"),
        (
            "union.services.dues",
            "def f():\n    from union.views import dues\n",
            "views",
        ),
    ],
)
def test_a_forbidden_import_is_caught(module, source, expected):
    (breach,) = breaches(module, source)
    assert breach.endswith(f"must never import {expected})")


def test_allowed_imports_pass():
    assert breaches("union.services.dues", "from union.rules import standing") == []
    assert breaches("union.models.users", "from union.adapters.crypto import x") == []
    assert breaches("union.views.dues", "from union.web.access import roles") == []
