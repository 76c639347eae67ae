"""Assemble the folder to push as a Hugging Face Space that is both the Gradio app and an ``evaluate``
community metric: ``app.py``, the card (``README.md``, tagged ``evaluate`` and ``metric``),
``requirements.txt``, ``quals.py`` (the metric module) and the ``quals`` package with the bundled QAGen.

``evaluate.load(<folder>)`` reads ``<folder>/<folder name>.py``, so the folder is named ``quals``. It is
built beside its destination and moved into place, so a failed build never leaves half a folder.

    python space/build_dist.py [--out dist/quals]      # or: make space-dist
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACE_FILES = ("app.py", "README.md", "requirements.txt")
# The package's symlink to the metric (for evaluate.load("quals") in a checkout) and the QAGS baseline's models,
# which the Space does not use; caches never travel.
LEFT_OUT = shutil.ignore_patterns("quals.py", "qags-*", "__pycache__", "*.pyc")


def build(out: str = os.path.join(REPO, "dist", "quals")) -> str:
    """Write the Space folder at ``out`` (replacing one that is there) and return its path."""
    out = os.path.abspath(out)
    if os.path.basename(out) != "quals":
        raise ValueError(f"--out {out}: name the folder 'quals' (evaluate.load(folder) reads folder/<name>.py), "
                         f"e.g. --out {os.path.join(os.path.dirname(out), 'quals')}.")
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, ".quals.building")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in SPACE_FILES:
        shutil.copy2(os.path.join(REPO, "space", name), staging)
    shutil.copy2(os.path.join(REPO, "quals_metric.py"), os.path.join(staging, "quals.py"))
    shutil.copytree(os.path.join(REPO, "quals"), os.path.join(staging, "quals"), ignore=LEFT_OUT)
    old = os.path.join(parent, ".quals.old")
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(out):
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(REPO, "dist", "quals"), help="the folder to write (named quals)")
    args = parser.parse_args(argv)
    try:
        path = build(args.out)
    except (ValueError, OSError) as e:
        print(f"build_dist: error: {e}", file=sys.stderr)
        return 2
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    print(f"{path}: {size / 2**20:.1f} MiB; push it as a Space, or evaluate.load({path!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
