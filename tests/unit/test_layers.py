"""The package's layers, checked from its imports: a module imports only from its own layer or
the layers before it, so data flows one way (route → BullMQ reads and writes, drain, cost →
Redis), and no import cycle can form between layers. The README's Layout section says the same
in words (test_readme.py keeps it listing exactly these modules)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "dashboard"

# In order: each layer may import the ones before it, never one after it.
LAYERS = (
    "redact text i18n",  # pure: the job fields never shown; user values cut; languages
    "redis_client",  # connections, command counting, the Lua helper
    "bullmq",  # the key layout and every read
    "config access",  # settings, validated against the key layout and the URL kinds; roles
    "writes",  # changes through the bullmq package's scripts
    "drain",  # the drain engine, workers
    "live",  # the change watcher and the counts it keeps
    "observe",  # cost, measurement, health, Prometheus
    "web.answers web.errors web.paths web.params",  # the web layer's own foundations
    "web.middleware",
    "web.oidc",
    "web.board web.lookup web.switcher web.charts web.render",
    "web.openapi",
    "web.routes",
    "web.registry",
    "web.app web.process web",
    "cli demo connection workers __main__",  # entry points, and the README's re-exports
)


def layer_of(module: str) -> int:
    """The index in LAYERS of `dashboard.<module>`: its longest listed prefix."""
    best, found = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names.split():
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), index
    assert found >= 0, f"dashboard.{module} belongs to no layer: add it to LAYERS"
    return found


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = path
    return found


def imports_of(path: Path) -> set[str]:
    """Every `dashboard.…` module this file imports, at the top or inside a function. In `from
    package import module` it is the module that is imported, not the package's own code."""
    known = modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != "dashboard" and not node.module.startswith("dashboard."):
                continue
            origin = node.module.removeprefix("dashboard").removeprefix(".")
            submodules = {f"{origin}.{a.name}".lstrip(".") for a in node.names} & known.keys()
            names = submodules or {origin}
        elif isinstance(node, ast.Import):
            names = {
                a.name.removeprefix("dashboard.") for a in node.names if "dashboard." in a.name
            }
        else:
            continue
        found |= names & known.keys()
    return found


def test_every_module_imports_only_from_its_layer_or_earlier_ones() -> None:
    upward = [
        f"dashboard.{module} ({LAYERS[layer_of(module)]}) imports dashboard.{imported} "
        f"({LAYERS[layer_of(imported)]})"
        for module, path in modules().items()
        for imported in imports_of(path)
        if layer_of(imported) > layer_of(module)
    ]
    assert upward == []


def test_the_checker_sees_an_upward_import() -> None:
    assert layer_of("bullmq.reader") < layer_of("web.routes.pages")
    assert layer_of("redis_client.counting") < layer_of("bullmq.reader")
    assert "redis_client.counting" in imports_of(PACKAGE / "bullmq" / "reader.py")
