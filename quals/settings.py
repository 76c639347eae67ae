"""Metric settings as frozen, typed dataclasses: one definition gives the checks, the CLI flags, the signature
and the metric card's argument list (see ``quals.registry``). Nothing here imports torch, so ``--help`` and
settings errors come at once.

Each field is declared with ``setting(default, help, rule)``: a ``Literal`` type lists its choices, and a
rule (``integer``, ``number``...) checks type and value in ``__post_init__``, naming the setting and what it
may be. A bool is not an integer here, nor is 4.0; nan and infinities are never numbers a setting can take.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import typing
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, Literal

Rule = Callable[[str, Any], None]  # raises TypeError (wrong type) or ValueError (wrong value) naming the setting


def integer(minimum: int, optional: bool = False) -> Rule:
    """An integer >= ``minimum`` (never a bool or a float such as 4.0); ``optional`` also allows None."""
    wanted = f"an integer >= {minimum}" + (", or None" if optional else "")

    def rule(name: str, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{name}={value!r} is {type(value).__name__}; use {wanted}.")
        if value < minimum:
            raise ValueError(f"{name}={value!r}: use {wanted}.")

    return rule


def number(low: float | None = None, high: float | None = None, low_open: bool = False) -> Rule:
    """A finite int or float (never a bool, nan or an infinity) in [low, high], or (low, high] with ``low_open``."""
    bounds = [f"{'>' if low_open else '>='} {low}"] if low is not None else []
    bounds += [f"<= {high}"] if high is not None else []
    wanted = " ".join(["a finite number", " and ".join(bounds)]).strip()

    def rule(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, Real):
            raise TypeError(f"{name}={value!r} is {type(value).__name__}; use {wanted}.")
        below = low is not None and (value <= low if low_open else value < low)
        if not math.isfinite(value) or below or (high is not None and value > high):
            raise ValueError(f"{name}={value!r}: use {wanted}.")

    return rule


def integer_or_auto(minimum: int) -> Rule:
    """An integer >= ``minimum``, or the string "auto" (a size the scorer finds at run time)."""
    whole = integer(minimum)

    def rule(name: str, value: Any) -> None:
        if value != "auto":
            try:
                whole(name, value)
            except (TypeError, ValueError) as e:
                raise type(e)(f"{e.args[0][:-1]}, or 'auto'.") from None

    return rule


def int_or_auto(text: str) -> int | str:
    """A flag's text as an integer, or "auto" as it is (argparse type of ``integer_or_auto`` fields)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use an integer or auto") from None


def one_of(choices: Sequence[str]) -> Rule:
    """One of the strings ``choices``."""

    def rule(name: str, value: Any) -> None:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name}={value!r}: use one of {tuple(choices)}.")

    return rule


def model_argument(hint: str, loaded: str | None = None) -> Rule:
    """A non-blank string (folder, Hub id or short name), or an instance of the class ``loaded``
    ("module:Class", imported only when the value is no string); ``hint`` says what to pass."""

    def rule(name: str, value: Any) -> None:
        if isinstance(value, str) and value.strip():
            return
        if loaded and not isinstance(value, str) and isinstance(value, import_object(loaded)):
            return
        raise (ValueError if isinstance(value, str) else TypeError)(f"{name}={value!r}: pass {hint}.")

    return rule


def import_object(path: str) -> Any:
    """The object ``module:attribute`` names, imported on first use (scorers and models need torch)."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def setting(default: Any, help: str, rule: Rule | None = None, cli_type: type | None = None) -> Any:
    """A settings field: its default, one line of help (flag help and metric card), and the rule its value
    obeys (``Literal`` fields need none: their choices are the rule). ``cli_type`` converts a flag's text
    where the annotation cannot say (a model that may also be a loaded object)."""
    return dataclasses.field(default=default, metadata={"help": help, "rule": rule, "cli_type": cli_type})


def device_setting() -> Any:
    """The ``device`` field every metric has."""
    return setting(None, '"cpu", "cuda" or "cuda:N"; by default CUDA when available, else the CPU.')


def dtype_setting() -> Any:
    """The ``dtype`` field every metric has (in Python also a torch.dtype)."""
    return setting(
        None, '"float32", "bfloat16" or "float16"; by default float32 on CPU, bfloat16 (or float16) on CUDA.', cli_type=str
    )


class Settings:
    """Base of a metric's frozen settings dataclass: checked on construction, and the source of its CLI
    flags, card lines and default signature. ``metric`` is the signature's first field ("QUALS");
    ``scorer_name`` names the scorer class in errors."""

    metric: ClassVar[str] = ""
    scorer_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            rule = f.metadata.get("rule") or _literal_rule(self.field_types()[f.name])
            if rule is not None:
                rule(f.name, getattr(self, f.name))

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        return typing.get_type_hints(cls)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from keyword values; an unknown name is a TypeError listing the real ones."""
        names = cls.to_names()
        for name in values:
            if name not in names:
                raise TypeError(f"{name}= is not a {cls.scorer_name or cls.__name__} setting; the settings are {names}.")
        return cls(**values)

    @classmethod
    def to_names(cls) -> list[str]:
        """The settings' names, in order."""
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def signature(self, **resolved: Any) -> str:
        """``METRIC|name:value|...`` over every field, then ``resolved`` facts (a model's hash, the device), then
        library versions. QUALS and QAGS override it with their short, stable field names."""
        fields = [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)] + list(resolved.items())
        return format_signature(self.metric or type(self).__name__, fields)

    @classmethod
    def add_cli_flags(cls, parser: argparse.ArgumentParser, title: str | None = None) -> None:
        """One flag per field (``num_beams`` -> ``--num-beams``) with its default, type, choices and help."""
        group = parser.add_argument_group(title or f"scorer settings ({cls.scorer_name or cls.__name__} arguments)")
        types = cls.field_types()
        for f in dataclasses.fields(cls):
            choices = _literal_choices(types[f.name])
            kind = f.metadata.get("cli_type") or _cli_type(types[f.name])
            help_text = f.metadata["help"] + ("" if f.default is None else f" Default: {f.default}.")
            group.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=kind, choices=choices,
                               default=f.default, help=help_text.replace("%", "%%"))  # argparse formats help with %

    @classmethod
    def from_cli(cls, args: argparse.Namespace) -> Settings:
        """The settings a parsed command line (made with ``add_cli_flags``) holds."""
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})

    @classmethod
    def card_lines(cls, indent: str = "    ") -> str:
        """The fields as metric-card lines: ``name (type, default X): help``."""
        types = cls.field_types()
        lines = []
        for f in dataclasses.fields(cls):
            kind = _type_name(types[f.name])
            lines.append(f"{indent}{f.name} ({kind}, default {f.default!r}): {f.metadata['help']}")
        return "\n".join(lines)


def _literal_choices(annotation: Any) -> list[str] | None:
    return list(typing.get_args(annotation)) if typing.get_origin(annotation) is Literal else None


def _literal_rule(annotation: Any) -> Rule | None:
    choices = _literal_choices(annotation)
    return one_of(choices) if choices else None


def _cli_type(annotation: Any) -> type:
    """int, float or str for a flag: the first of those in the annotation (``int | None`` -> int)."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) is not Literal else ()
    for kind in (int, float, str):
        if annotation is kind or kind in members:
            return kind
    return str


def _type_name(annotation: Any) -> str:
    choices = _literal_choices(annotation)
    if choices:
        return " | ".join(repr(c) for c in choices)
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def versions() -> dict[str, str]:
    """Versions of quals, torch and transformers, for signatures."""
    import torch
    import transformers

    from . import __version__

    return {"quals": __version__, "torch": torch.__version__.split("+")[0], "transformers": transformers.__version__}


def format_signature(metric: str, fields: list[tuple[str, Any]]) -> str:
    """``METRIC|key:value|...`` with the library versions appended; equal signatures give equal scores."""
    fields = fields + list(versions().items())
    return metric + "|" + "|".join(f"{k}:{v}" for k, v in fields)
