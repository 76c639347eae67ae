"""Package names that import on first use (PEP 562): ``import quals`` stays free of torch until a scorer or
model is asked for, so that ``quals --help`` and settings errors come at once."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any],
                 modules_of: str | None = None) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package`` (a package, or a module of re-exports): ``exports`` maps a name
    to the submodule of ``modules_of`` (by default ``package``) that defines it; a name, once imported, is stored
    in ``namespace``. A name may not be its own module's: once anything imports that module, the package
    attribute is the module and this hook never runs."""
    clashes = [name for name, module in exports.items() if module.split(".")[0] == name]
    if clashes:
        raise ValueError(f"{package}: {clashes} name their own modules; import them eagerly instead.")

    def getattr_(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{exports[name]}", modules_of or package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *exports})

    return getattr_, dir_
