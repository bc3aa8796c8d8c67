"""`rapid-edge`: the SDK's command line. Subcommands mirror the Python API's keyword arguments."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import export_commands, run_commands, sensor_commands, train_commands
from .bebr import commands as bebr_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rapid-edge", description="RAPiD Edge SDK: LiDAR segmentation from PyTorch to the vehicle.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True)
    run_commands.add_parser(commands)
    sensor_commands.add_parser(commands)
    train_commands.add_parser(commands)
    export_commands.add_parser(commands)
    bebr_commands.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        result = args.run(args)
    except (ValueError, OSError) as err:  # bad input: say what is wrong, no traceback
        print(f"rapid-edge: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rapid-edge: interrupted", file=sys.stderr)
        return 130
    if result is not None and getattr(args, "json", False):
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
