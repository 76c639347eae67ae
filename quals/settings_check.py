"""Checks of scorer settings, shared by ``QualsScorer`` and ``QagsScorer`` (and so by the metric and the CLI).

A setting of the wrong type or value is named, with the values allowed, before any model loads: otherwise
``num_beams="abc"`` fails deep inside torch, and ``length_penalty=nan`` silently leaves every score None.
A bool is not an integer here, nor is 4.0; nan and infinities are never numbers a setting can take.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

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


def one_of(choices: Sequence[str]) -> Rule:
    """One of the strings ``choices``."""

    def rule(name: str, value: Any) -> None:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"{name}={value!r}: use one of {tuple(choices)}.")

    return rule


def model_argument(hint: str, loaded: tuple[type, ...] = ()) -> Rule:
    """A non-blank string (folder, Hub id or short name) or an instance of ``loaded``; ``hint`` says which."""

    def rule(name: str, value: Any) -> None:
        if isinstance(value, loaded) or (isinstance(value, str) and value.strip()):
            return
        raise (ValueError if isinstance(value, str) else TypeError)(f"{name}={value!r}: pass {hint}.")

    return rule


class CheckedSettings:
    """A scorer whose constructor arguments obey ``SETTING_RULES`` (argument name -> rule)."""

    SETTING_RULES: ClassVar[dict[str, Rule]] = {}

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Raise TypeError or ValueError naming the first setting that is unknown or breaks its rule. The
        metric calls it before it loads a model; ``__init__`` calls it first, with its ``locals()`` (``self``
        is skipped)."""
        known = inspect.signature(cls).parameters
        for name, value in settings.items():
            if name == "self":
                continue
            if name not in known:
                raise TypeError(f"{name}= is not a {cls.__name__} setting; the settings are {list(known)}.")
            if name in cls.SETTING_RULES:
                cls.SETTING_RULES[name](name, value)
