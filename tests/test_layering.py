"""The layout rules of docs/architecture.md, checked on the source (no Django needed):

(a) layers depend one way: loyalty ← shops ← members ← rewards ← campaigns; a lower layer never
    imports a higher one (not even inside a function);
(b) an app uses another app's public modules only, never its views, admin or private (``_x``)
    modules; the one shared page shell ``members.staff.shell`` is public;
(c) a selectors module never imports a services module;
(d) no import circle through a models module at import time (module-level imports only);
(e) no product file over 520 lines.

The project's composition root (``loyalty.urls``, ``loyalty.api``, ``loyalty.settings``, the
project's own pages and management commands) wires every app together and is exempt from (a) and
(b).

``KNOWN_EXCEPTIONS`` lists what still breaks a rule, each with its reason; the test fails on a
breach that is not listed AND on a listed exception that no longer happens, so the list only
shrinks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["loyalty", "shops", "members", "rewards", "campaigns"]
SKIP_DIRS = {"migrations", "tests", "bench", ".venv", "__pycache__"}
MAX_LINES = 520
PUBLIC_EXCEPTIONS = {"members.staff.shell"}
COMPOSITION_ROOT = {
    "loyalty.urls",
    "loyalty.api",
    "loyalty.views",
    "loyalty.settings",
    "loyalty.asgi",
    "loyalty.wsgi",
}
COMPOSITION_ROOT_PACKAGES = ("loyalty.management.commands.",)

# rule: what → why, for a breach that must stay for a while. Empty: every rule holds. The test
# fails on an entry that no longer happens, so the list only shrinks.
KNOWN_EXCEPTIONS: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported product module (the longest dotted name that is a module)
    module_level: bool  # runs when the importing module is imported


def _product_files() -> Iterator[Path]:
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts):
                yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


FILES = {_module_name(p): p for p in _product_files()}


def _resolve(name: str) -> str | None:
    """The product module a dotted name refers to (``members.models.Member`` → ``members.models``)."""
    while name:
        if name in FILES:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(nodes, module_level: bool) -> Iterator[Import]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if target := _resolve(alias.name):
                        yield Import(module, target, module_level)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    if target := _resolve(f"{base}.{alias.name}"):
                        yield Import(module, target, module_level)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                yield from visit(ast.iter_child_nodes(node), False)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                yield from visit(node.orelse, module_level)  # the body never runs
            else:
                yield from visit(ast.iter_child_nodes(node), module_level)

    yield from visit(tree.body, True)


IMPORTS = [imp for module, path in FILES.items() for imp in _imports_of(module, path)]


def _app(module: str) -> str:
    return module.split(".")[0]


def _in_root(module: str) -> bool:
    return module in COMPOSITION_ROOT or module.startswith(COMPOSITION_ROOT_PACKAGES)


def _is_private(module: str) -> bool:
    """A views, admin or ``_private`` module (or one inside such a package)."""
    if module in PUBLIC_EXCEPTIONS:
        return False
    return any(
        (part.startswith("_") and part != "__init__") or part.endswith(("views", "admin"))
        for part in module.split(".")[1:]
    )


def _kind(module: str, kind: str) -> bool:
    """Whether ``module`` is a ``kind`` module (``selectors``, ``staff_selectors``, a package)."""
    return any(part == kind or part.endswith(f"_{kind}") for part in module.split(".")[1:])


def _check(rule: str, breaches: set[str]) -> None:
    known = {key for key in KNOWN_EXCEPTIONS if key.startswith(f"{rule}: ")}
    new = sorted(breaches - known)
    stale = sorted(known - breaches)
    assert not new, (
        f"{rule} rule broken (fix it, or list it in KNOWN_EXCEPTIONS with a reason):\n"
        + ("\n".join(new))
    )
    assert not stale, "KNOWN_EXCEPTIONS that no longer happen (delete them):\n" + "\n".join(stale)


def test_a_lower_layer_never_imports_a_higher_one():
    breaches = {
        f"layer: {imp.source} -> {imp.target}"
        for imp in IMPORTS
        if not _in_root(imp.source)
        and LAYERS.index(_app(imp.target)) > LAYERS.index(_app(imp.source))
    }
    _check("layer", breaches)


def test_no_app_imports_another_apps_views_admin_or_private_modules():
    breaches = {
        f"private: {imp.source} -> {imp.target}"
        for imp in IMPORTS
        if not _in_root(imp.source)
        and _app(imp.source) != _app(imp.target)
        and _is_private(imp.target)
    }
    _check("private", breaches)


def test_selectors_never_import_services():
    breaches = {
        f"selectors: {imp.source} -> {imp.target}"
        for imp in IMPORTS
        if _kind(imp.source, "selectors") and _kind(imp.target, "services")
    }
    _check("selectors", breaches)


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_no_import_circle_through_a_models_module():
    """Module-level imports only (a function-level import runs later, once both modules exist).
    Importing ``a.b.c`` counts as an edge to ``a.b.c`` only: a models package's ``__init__``
    gathers its own modules, and they import each other by their own paths."""
    edges: dict[str, set[str]] = {}
    for imp in IMPORTS:
        if imp.module_level and imp.target != imp.source:
            edges.setdefault(imp.source, set()).add(imp.target)
    breaches = {
        "cycle: " + " <-> ".join(sorted(component))
        for component in _cycles(edges)
        if any(_kind(module, "models") for module in component)
    }
    _check("cycle", breaches)


def test_no_product_file_is_over_520_lines():
    breaches = set()
    for path in FILES.values():
        with path.open(encoding="utf-8") as handle:
            if sum(1 for _line in handle) > MAX_LINES:
                breaches.add(f"size: {path.relative_to(ROOT)}")
    _check("size", breaches)


def test_the_checker_sees_what_it_checks():
    # A checker that parsed nothing would pass every rule: prove it reads real imports.
    assert Import("members.staff.views", "members.staff.shell", True) in IMPORTS
    assert _is_private("members.staff.views") and _is_private("members.imports.admin")
    assert _is_private("rewards.staff_views") and not _is_private("members.staff.shell")
    assert _kind("members.staff.selectors", "selectors") and _kind("shops.models.shop", "models")
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
