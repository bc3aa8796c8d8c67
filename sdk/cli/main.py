"""`rapid-edge`: the SDK's command line. Subcommands mirror the Python API's keyword arguments."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import logging
import sys
from importlib.metadata import version
from collections.abc import Sequence

from runtimes.errors import RuntimeUnavailable, SdkError
from sensors.source import require_module

from sdk.cli.outcome import Outcome

#: the modules that define the subcommands, in the order `--help` lists them
COMMAND_MODULES = ("run", "label", "inspect", "sensors", "ros2", "doctor", "train", "export", "bebr")


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand; a command module's REQUIRES that are not installed (PyTorch on a core install) make
    its commands fail in one line naming the extra to install, and the help lists them as absent. Command
    modules import heavy libraries only when they run."""
    parser = argparse.ArgumentParser(prog="rapid-edge", description="RAPiD Edge SDK: LiDAR segmentation from PyTorch to the vehicle.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # the epilog's install line unbroken
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--version", action="version", version=f"rapid-edge {version('rapid-edge-sdk')}")
    commands = parser.add_subparsers(dest="command", required=True)
    absent = []
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"sdk.cli.{name}")
        missing = [required for required in getattr(module, "REQUIRES", ()) if importlib.util.find_spec(required) is None]
        before = set(commands.choices)
        module.add_parser(commands)
        if missing:
            added = [command for command in commands.choices if command not in before]
            absent.append(f"{', '.join(added)} (need {missing[0]})")
            for command in added:  # listed with its help, but whatever follows it fails in one line
                commands.choices[command] = _Lacking(command, missing[0])
    for command in commands.choices.values():
        show_defaults(command)
    if absent:
        parser.epilog = (f"Not in this install: {'; '.join(absent)};\n"
                         f"pip install 'rapid-edge-sdk[{TRAIN_EXTRA}]' adds them.")
    return parser


#: the extra that brings what the commands a core install lacks need (PyTorch)
TRAIN_EXTRA = "train"


class _Lacking(argparse.ArgumentParser):
    """A command this install lacks: it takes any arguments (its own need what is missing to be checked) and
    runs to a one-line error naming the extra to install."""

    def __init__(self, command: str, module: str) -> None:
        super().__init__(prog=f"rapid-edge {command}", add_help=False)
        self.command, self.module = command, module

    def parse_known_args(self, args=None, namespace=None):
        namespace = namespace if namespace is not None else argparse.Namespace()
        namespace.run = self.fail
        return namespace, []

    def fail(self, args: argparse.Namespace) -> None:
        require_module(self.module, f"rapid-edge {self.command}", TRAIN_EXTRA, RuntimeUnavailable)


class DefaultsShown(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it has none worth saying (None, off) or says it itself."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text or action.default in (None, False, [], argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def show_defaults(parser: argparse.ArgumentParser) -> None:
    """DefaultsShown for a command and its verbs (the command modules make their parsers with argparse's own)."""
    parser.formatter_class = DefaultsShown
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for verb in action.choices.values():
                show_defaults(verb)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    as_json = getattr(args, "json", False)
    try:  # with --json, stdout is the JSON alone: what a command says for people goes to stderr
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            result = args.run(args)
    except (ValueError, OSError, SdkError) as err:  # bad input, or what this machine lacks: one line, no traceback
        print(f"rapid-edge: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rapid-edge: interrupted", file=sys.stderr)
        return 130
    code = 0
    if isinstance(result, Outcome):
        result, code = result.report, result.exit_code
    if result is not None and as_json:
        print(json.dumps(result, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
