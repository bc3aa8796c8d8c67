"""What a command that ran to its end returns when it found problems (units that failed, a budget exceeded):
its report (printed with --json as any other) and a non-zero exit status, so scripts and schedulers see them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: the command ran and found problems, each named in its report; 2 stays "the command could not run"
PROBLEMS_FOUND = 1


@dataclass(frozen=True)
class Outcome:
    report: dict[str, Any]
    exit_code: int = 0
