"""``trainer_ext`` builds on ``quals`` through its public parts only: the package and ``quals.building_blocks``."""

from __future__ import annotations

import ast
import glob
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = {"quals", "quals.building_blocks"}


def _quals_imports(path: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a ``quals`` module in a file, at any depth (function bodies too)."""
    found = []
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] == "quals":
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "quals"]
    return found


def test_trainer_ext_imports_only_the_public_parts_of_quals():
    files = sorted(glob.glob(os.path.join(REPO, "trainer_ext", "*.py")))
    imports = {os.path.basename(f): _quals_imports(f) for f in files}
    private = {name: [(line, m) for line, m in found if m not in PUBLIC] for name, found in imports.items()}
    assert {name: found for name, found in private.items() if found} == {}
    assert sum(len(found) for found in imports.values()) >= 10  # the check looked at real imports


def test_every_building_block_resolves_and_importing_them_loads_no_torch():
    import quals.building_blocks as blocks

    for name in blocks.__all__:
        value = getattr(blocks, name)
        if callable(value):
            assert value.__module__.startswith("quals."), name  # defined in quals, not re-exported from elsewhere
        else:
            assert isinstance(value, dict) and value, name  # METRICS, PRESETS: filled tables
    code = "import sys; from quals.building_blocks import Rows, score_corpus, QualsSettings; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
