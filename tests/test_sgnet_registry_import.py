"""The model registry the timm way: it lives in the models package, whose import registers every
built-in model; the registry itself never imports them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _registered_in_source() -> set[str]:
    """Names of the `@register_model` factories in sgnet/models/*.py, read with ast (nothing imported)."""
    names = set()
    for path in sorted((ROOT / "sgnet" / "models").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    target = dec.func if isinstance(dec, ast.Call) else dec
                    if isinstance(target, ast.Name) and target.id == "register_model":
                        names.add(node.name)
    return names


def test_registry_module_does_not_import_the_models() -> None:
    tree = ast.parse((ROOT / "sgnet" / "models" / "registry.py").read_text(encoding="utf-8"))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            imported += [mod] + [f"{mod}.{a.name}" for a in node.names]
    assert not [m for m in imported if m == "sgnet.models" or m.startswith("sgnet.models.")], imported
    assert "torch" in imported  # the walk sees this module's real imports


@pytest.mark.parametrize(
    "code",
    [
        "from sgnet.registry import list_models",
        "from sgnet.models.registry import list_models",
        "from sgnet import list_models",
    ],
)
def test_fresh_import_of_the_registry_lists_the_builtin_models(code: str) -> None:
    expected = _registered_in_source()
    assert {"sgnet_r101", "sgnet_lite"} <= expected
    code += "; print(','.join(list_models()))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.strip().split(",")) == expected
