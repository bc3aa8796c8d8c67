"""One JSON for a GPU machine's run: each check's exit status and seconds (run.sh's summary.txt), the
measurements of benchmarks/gpu_latency.py when it wrote them, and the machine it ran on, so the result can
be committed as it came back.

    python3 benchmarks/gpu_machine/gpu_checks_json.py OUT/summary.txt OUT/gpu_checks.json [OUT/gpu_latency.json]
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/, for machine.py
from machine import describe_machine  # noqa: E402

LINE = re.compile(r"^(?P<name>\S+) rc=(?P<rc>-?\d+) (?P<seconds>\d+)s$")


def parse_summary(text: str) -> list[dict]:
    """run.sh's lines `NAME rc=N Ss`, in order; anything else in the file is a malformed summary."""
    checks = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = LINE.match(line.strip())
        if match is None:
            raise ValueError(f"summary line {number}: {line!r} is not `NAME rc=N Ss`")
        checks.append({"check": match["name"], "rc": int(match["rc"]), "passed": match["rc"] == "0",
                       "seconds": int(match["seconds"])})
    return checks


def main(summary: Path, out: Path, latency: Path | None = None) -> None:
    checks = parse_summary(summary.read_text())
    result = {"checks": checks, "all_passed": all(c["passed"] for c in checks), "machine": describe_machine()}
    if latency is not None and latency.is_file():
        result["gpu_latency"] = json.loads(latency.read_text())
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
