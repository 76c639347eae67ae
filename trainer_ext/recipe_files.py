"""Reading recipe files: JSON plus ``--set`` overrides, data paths resolved, and every field and section checked
(unknown or misspelled keys, wrong types) before any model or data loads, each error naming its key.

A recipe class declares its sections with ``sections(data)`` (``data``: the recipe as read): each section's name
and the dataclass its keys feed (the Trainer's arguments, ``ContrastiveConfig``, a metric's settings...), or a
mapping of sub-sections.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import types
import typing
from typing import Any

UNSET = re.compile(r"\$\{?(\w+)")  # a variable os.path.expandvars left in place: it is not set
Schema = Any  # a dataclass type, a {key: Schema} mapping, or a type annotation for a single value


def read_recipe(
    cls: type, path: str, overrides: dict[str, Any] | None = None, path_fields: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A recipe file's fields plus overrides (an object-valued override updates that object's keys, at
    any depth), with unknown fields named before anything runs. Data paths (``path_fields``) written in
    the file are relative to the file; those given as overrides are relative to the working directory."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e
    base_dir = os.path.dirname(os.path.abspath(path))
    overrides = overrides or {}
    for key in path_fields:
        if key in overrides:  # typed on the command line: relative to the working directory
            data[key] = _map_paths(lambda p: os.path.expanduser(os.path.expandvars(p)), overrides[key])
        elif data.get(key):
            data[key] = _map_paths(lambda p: relative_to(base_dir, p), data[key])
    data = merged(data, {k: v for k, v in overrides.items() if k not in path_fields})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {unknown}; {cls.__name__} knows {sorted(known)}.")
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        if not _conforms(value, hints[key]):
            raise ValueError(
                f"{path}: {key}={value!r} is {type(value).__name__}; {cls.__name__}.{key} takes {_type_name(hints[key])}."
            )
    for key, schema in (cls.sections(data) if hasattr(cls, "sections") else {}).items():
        check_section(f"{path}: {key}", data.get(key), schema)
    return data


def check_section(where: str, value: Any, schema: Schema) -> None:
    """Refuse a recipe section whose keys its ``schema`` does not know, or whose values have the wrong type;
    ``where`` ("recipe.json: training") starts the message. A metric's settings are checked in full (values too)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise ValueError(f"{where}={value!r} is {type(value).__name__}; it takes an object of settings.")
    if isinstance(schema, dict):
        fields, hints, owner = schema, schema, "this section"
    else:
        fields = {f.name for f in dataclasses.fields(schema) if f.init}
        hints, owner = _hints(schema), schema.__name__
    for key, item in value.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            listed = f"{owner} takes {sorted(fields)}." if len(fields) <= 20 else f"it is none of {owner}'s fields."
            raise ValueError(f"{where}: unknown key {key!r}; " + (f"did you mean {close[0]!r}?" if close else listed))
        kind = hints.get(key, Any)
        if isinstance(kind, dict) or dataclasses.is_dataclass(kind):
            check_section(f"{where}.{key}", item, kind)
        elif not _conforms(item, kind):
            raise ValueError(f"{where}.{key}={item!r} is {type(item).__name__}; it takes {_type_name(kind)}.")
    if hasattr(schema, "from_mapping"):  # a metric's settings: their own rules check values, naming the setting
        try:
            schema.from_mapping(value)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None


def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's field annotations; those that do not resolve are left to the class to check."""
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {}


def _conforms(value: Any, annotation: Any) -> bool:
    """Whether a JSON value fits a recipe field's annotation (a bool is no number; a tuple comes as a list)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if annotation is type(None):
        return value is None
    if annotation in (int, float):
        return isinstance(value, int if annotation is int else (int, float)) and not isinstance(value, bool)
    if annotation in (str, bool):
        return isinstance(value, annotation)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is tuple:
        return isinstance(value, (list, tuple)) and len(value) == len(args) and all(map(_conforms, value, args))
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(v, args[1]) for v in value.values())
    return True  # other types are checked where they are used


def _type_name(annotation: Any) -> str:
    """An annotation as a recipe's reader would say it: ``int or null``, ``list[str]``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "anything"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin in (list, tuple, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def require_files(field_name: str, paths: list[str], example: str = '"my.jsonl"') -> None:
    """A FileNotFoundError that names the recipe field and the fix, for the first path that is not a file."""
    for path in paths:
        unset = UNSET.search(path)
        if unset and unset.group(1) not in os.environ:
            raise FileNotFoundError(
                f"{field_name}: {path!r} names ${unset.group(1)}, which is not set; export {unset.group(1)}=<your data "
                f"folder> (the shipped configs expect squad/, qa_extra/ and summ/ in it), or pass your own files, e.g. "
                f"--set '{{\"{field_name}\": {example}}}'."
            )
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{field_name}: no file {path!r}; point the recipe at your data, e.g. --set '{{\"{field_name}\": {example}}}'."
            )


def _map_paths(func: Any, value: Any) -> Any:
    """``func`` over a path or each path of a list; None stays None."""
    if value is None:
        return None
    return [func(p) for p in value] if isinstance(value, list) else func(value)


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``overrides``; where both hold an object, its keys are merged the same way."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def relative_to(base_dir: str, path: str) -> str:
    """A path written in a config file, with ``$VARIABLES`` (the shipped configs' ``$QUALS_DATA``) and ``~``
    expanded; relative to that file unless absolute, starting with './' or '../', or starting with a variable
    (then relative to the working directory). A path with an unset variable stays as written, for
    ``require_files`` to name."""
    expanded = os.path.expanduser(os.path.expandvars(path))
    if path.startswith("$") or UNSET.search(expanded) or os.path.isabs(expanded) or expanded.startswith(("./", "../")):
        return expanded
    return os.path.join(base_dir, expanded)
