"""The package's layers point one way: library <- CPU world <- book helpers <- command line.

The library (models, data, train, checkpoints, loss, predict, io) is what a GPU user imports;
it must never reach up into the synthetic world, the tiny profile, the book's helpers or the
CLI. This test reads every module's imports (top-level and inside functions, relative ones
resolved, and ``"tcclip.x"`` strings handed to importlib) and fails on any upward import.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tcclip

PACKAGE_DIR = Path(tcclip.__file__).resolve().parent

#: Subpackages above the library, lowest first; everything else in tcclip is the library (layer 0).
UPPER_LAYERS = ("tcclip.world", "tcclip.book", "tcclip.cli")
#: ``python -m tcclip`` dispatches to the CLI, so it sits with it.
LAYER_OF_MODULE = {"tcclip.__main__": "tcclip.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    module = next((owner for name, owner in LAYER_OF_MODULE.items() if module == name), module)
    for rank, top in enumerate(UPPER_LAYERS, start=1):
        if module == top or module.startswith(top + "."):
            return rank
    return 0


def imported_modules(path: Path) -> set[str]:
    """Every tcclip module ``path`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # "from tcclip import world"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("tcclip."):
            if all(part.isidentifier() for part in node.value.split(".")):
                found.add(node.value)
    return {m for m in found if m == "tcclip" or m.startswith("tcclip.")}


MODULES = sorted(PACKAGE_DIR.rglob("*.py"))


def test_the_layers_exist():
    names = {module_name(p) for p in MODULES}
    assert set(UPPER_LAYERS) <= names
    assert {"tcclip.models", "tcclip.data", "tcclip.train", "tcclip.checkpoint", "tcclip.predict"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_upward_imports(path):
    own = layer(module_name(path))
    upward = sorted(m for m in imported_modules(path) if layer(m) > own)
    assert not upward, (f"{module_name(path)} (layer {own}) imports {upward} from a layer above it; "
                        "move the code down, or pass what it needs in from the caller")


def test_the_checker_sees_upward_imports(tmp_path):
    """The reader itself: a function-level relative import and an importlib string both count."""
    fake = PACKAGE_DIR / "train" / "_layer_probe.py"
    source = ("def f():\n    from ..world.assets import clip_weights\n"
              "    import importlib\n    return importlib.import_module('tcclip.book.plotting')\n")
    fake.write_text(source)
    try:
        assert {"tcclip.world.assets", "tcclip.book.plotting"} <= imported_modules(fake)
        assert layer("tcclip.train._layer_probe") == 0 and layer("tcclip.world.assets") == 1
    finally:
        fake.unlink()
