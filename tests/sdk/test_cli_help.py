"""Every option of every command says what it is and, where it has one, its default."""
from __future__ import annotations

import argparse

from sdk.cli.main import build_parser


def options_of(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, verb in action.choices.items():
                yield from options_of(verb, (*path, name))
        elif action.option_strings and action.dest != "help":
            yield path, parser, action


def test_every_option_has_help_that_shows_its_default():
    unexplained, defaults_unsaid = [], []
    for path, parser, action in options_of(build_parser()):
        where = f"{' '.join(path)} {action.option_strings[-1]}"
        if not action.help:
            unexplained.append(where)
            continue
        shown = parser._get_formatter()._expand_help(action) if path else action.help
        if action.default not in (None, False, [], argparse.SUPPRESS) and "default" not in shown:
            defaults_unsaid.append(where)
    assert unexplained == [] and defaults_unsaid == []


def test_a_default_is_said_once(capsys):
    parser = build_parser()
    try:
        parser.parse_args(["run", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert text.count("(default: 10.0)") == 1 and "--opset" not in text


def test_run_writes_labels_with_out_as_the_other_commands_say_it():
    """`--out` as label, export and replay name the output folder; `--save`, the name run had, still works."""
    parser = build_parser()
    assert parser.parse_args(["run", "--out", "labels"]).save == parser.parse_args(["run", "--save", "labels"]).save
