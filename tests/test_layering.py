"""The house plan's arrows: `app -> sgnet -> ops, hha` (and `assets` from anywhere), no import
cycles, and a light `import sgnet` (the frame types and errors without torch)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "sgnet", "ops", "hha", "assets")
# what each package may import of the project (itself always)
ALLOWED = {
    "app": {"sgnet", "ops", "hha", "assets"},
    "sgnet": {"ops", "hha", "assets"},
    "ops": set(),
    "hha": set(),
    "assets": set(),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _project_module(name: str) -> str | None:
    """The project module an import of `name` loads (a name inside a module -> the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every project module `module` imports, at the top or inside a function (a lazy import is
    still a dependency), `TYPE_CHECKING` blocks included."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found.update(m for m in map(_project_module, names) if m and m != module)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_the_graph_sees_the_imports_it_should():
    # guards the walker itself: a test that cannot see imports cannot fail
    assert "sgnet.frames" in GRAPH["app.pipeline"]
    assert "sgnet.errors" in GRAPH["app.errors"]
    assert "ops" in GRAPH["sgnet.models.blocks"] or "ops.modules" in GRAPH["sgnet.models.blocks"]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_one_way(package):
    wrong = {
        m: sorted(d for d in deps if d.split(".")[0] not in ALLOWED[package] | {package})
        for m, deps in GRAPH.items()
        if m.split(".")[0] == package
    }
    assert not {m: d for m, d in wrong.items() if d}, f"{package} imports what it must not know about"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_library_loads_nothing_of_the_app():
    code = (
        "import sys, importlib, pkgutil\n"
        "import sgnet, ops, hha\n"
        "for pkg in (sgnet, ops, hha):\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m == 'app' or m.startswith('app.')))\n"
    )
    assert _run(code) == "[]"


def test_frame_types_and_errors_import_without_torch():
    code = (
        "import sys\n"
        "import sgnet, sgnet.frames, sgnet.errors, app.errors, app.frames\n"
        "print('torch' in sys.modules)\n"
    )
    assert _run(code) == "False"


def test_app_frames_is_the_library_type():
    import app.frames
    import sgnet.frames

    assert app.frames.RGBDFrame is sgnet.frames.RGBDFrame and app.frames.Segmentation is sgnet.frames.Segmentation


def test_lazy_sgnet_still_offers_its_names_and_submodules():
    code = (
        "import sgnet\n"
        "print(sgnet.Segmenter.__name__, sgnet.models.SGNet.__name__, 'sgnet_lite' in sgnet.list_models())\n"
    )
    assert _run(code) == "Segmenter SGNet True"
