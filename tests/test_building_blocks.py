"""``trainer_ext`` builds on ``quals`` through its public parts only: the package and ``quals.building_blocks``."""

from __future__ import annotations

import ast
import glob
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _quals_imports(path: str) -> list[tuple[int, str, str | None]]:
    """(line, module, name) of every import from ``quals`` in a file, at any depth (function bodies too); name is
    None for a plain ``import quals...``."""
    found = []
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] == "quals":
            found += [(node.lineno, node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "quals"]
    return found


def test_trainer_ext_imports_only_the_public_parts_of_quals():
    import quals
    import quals.building_blocks as blocks

    public = {"quals": set(quals.__all__), "quals.building_blocks": set(blocks.__all__)}
    files = sorted(glob.glob(os.path.join(REPO, "trainer_ext", "*.py")))
    imports = {os.path.basename(f): _quals_imports(f) for f in files}
    private = {file: [(line, module, name) for line, module, name in found if name not in public.get(module, ())]
               for file, found in imports.items()}  # a submodule (from quals import qagen) is no public name
    assert {file: found for file, found in private.items() if found} == {}
    assert sum(len(found) for found in imports.values()) >= 20  # the check looked at real imports


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
