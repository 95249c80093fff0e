"""Typer's coercion of plain option values, without importing pydantic for them.

typer coerces each value a command is given (its defaults included) through a pydantic
``TypeAdapter``, and building the first one imports pydantic: 60 ms and more, as long as a
read command's whole own work. Most values need none of it: a string is that string, a flag's
True or False itself, an int option's digits (or its default) that int within its bounds, a
float option's default that float, a path option's text that ``Path`` (then typer's own
checks of it), an enum option's name its member (and None, for any of them, stays None).
``quicken`` gives such parameters a coercion that does just that, and hands every other
value, and every value it would not take, to typer's own coercion, built then as typer
builds it: so a refused value gets typer's own error. Without these typer internals (an
older or a newer typer), ``program`` does without ``quicken``, and typer coerces as ever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path

if TYPE_CHECKING:
    from typer._click import Context
    from typer.core import _TyperParameter

_DIGITS = re.compile(r"[0-9]{1,18}")


class _Typers(Exception):
    """A value left to typer's own coercion."""


@dataclass(frozen=True)
class Quick(RuntimeParam):
    """One parameter's coercion: plain values here, the rest by typer's own (see above)."""

    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        try:
            return self._plain(value, param, ctx)
        except Exception:  # typer's coercion takes it, or says what is wrong with it
            typers = build_runtime_param(self.descriptor)
            param._runtime_param = typers  # from now on, as typer would have had it
            return typers._coerce_value(value, param=param, ctx=ctx)

    def _plain(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        kind, info = self.annotation, self.parameter_info
        if (kind is str and isinstance(value, str)) or (kind is bool and type(value) is bool):
            return value
        if kind is int and not info.clamp:
            if isinstance(value, str) and _DIGITS.fullmatch(value):
                value = int(value)
            if type(value) is int and _within(value, info.min, info.max):
                return value
        elif kind is float and not info.clamp:
            if type(value) is float and _within(value, info.min, info.max):
                return value
        elif isinstance(kind, type) and issubclass(kind, Path) and info.path_type is None:
            if isinstance(value, str | Path):
                path = value if isinstance(value, kind) else kind(value)
                return coerce_cli_path(path, info, path_type=kind, param=param, ctx=ctx)
        elif isinstance(kind, type) and issubclass(kind, Enum):
            choices = list(kind)
            return coerce_cli_choice(
                value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
            )
        raise _Typers


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def quicken(params: list[Any]) -> None:
    """Give the plain parameters among ``params`` (not yet coerced) the quick coercion."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if (
            getattr(param, "_runtime_param", False) is None
            and isinstance(descriptor, TypeDescriptor)
            and descriptor.parameter_info.parser is None
            and descriptor.file_annotation is None
            and _plain_kind(descriptor.annotation)
        ):
            try:
                quick = Quick(
                    parameter_info=descriptor.parameter_info,
                    annotation=descriptor.annotation,
                    descriptor=descriptor,
                )
            except TypeError:  # a typer whose RuntimeParam is made otherwise
                return
            param._runtime_param = quick


def _plain_kind(annotation: Any) -> bool:
    return annotation in (str, bool, int, float) or (
        isinstance(annotation, type) and issubclass(annotation, Path | Enum)
    )
