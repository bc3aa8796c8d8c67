"""Command-line flags generated from the option dataclasses (sdk/options.py): each field's flag, type,
choices, help and default come from the field, so the CLI cannot drift from the Python API (the CLI's help
formatter, sdk.cli.main.DefaultsShown, appends every default)."""
from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any

#: a field that is True, False or None (None: the SDK decides) reads as one of these words
AUTO_ALWAYS_NEVER = {"auto": None, "always": True, "never": False}


def add_options(parser: argparse.ArgumentParser, options: type, names: tuple[str, ...]) -> None:
    """A flag for each field of `options` in `names`, dest the field's name."""
    hints = typing.get_type_hints(options)
    for option in dataclasses.fields(options):
        if option.name not in names:
            continue
        kind, default, help = hints[option.name], option.default, option.metadata["help"]
        flag = "--" + option.metadata.get("flag", option.name.replace("_", "-"))
        if kind is bool:
            parser.add_argument(flag, dest=option.name, action=argparse.BooleanOptionalAction, default=default,
                                help=help)
        elif kind == bool | None:
            word = next(w for w, value in AUTO_ALWAYS_NEVER.items() if value is default)
            parser.add_argument(flag, dest=option.name, choices=tuple(AUTO_ALWAYS_NEVER), default=word, help=help)
        else:
            parser.add_argument(flag, dest=option.name, type=_scalar(kind), default=default,
                                choices=option.metadata.get("choices"), help=help)


def options_from_args(args: argparse.Namespace, options: type, names: tuple[str, ...]) -> Any:
    """The dataclass of the flags `add_options` made (the other fields keep their defaults)."""
    values = {name: getattr(args, name) for name in names}
    hints = typing.get_type_hints(options)
    return options(**{name: AUTO_ALWAYS_NEVER[value] if hints[name] == bool | None else value
                      for name, value in values.items()})


def _scalar(kind: Any) -> type:
    """The one non-None type of `int | None`, `str | Path | None` (Path wins), `float`."""
    members = [member for member in typing.get_args(kind) if member is not type(None)] or [kind]
    return Path if Path in members else members[0]
