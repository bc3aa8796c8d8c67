"""docs/ros2_results.md is what benchmarks/ros2_tables.py makes of the committed measurements."""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import ros2_tables  # noqa: E402


def test_the_page_is_generated_from_the_json():
    report = json.loads(ros2_tables.RESULT.read_text())
    assert ros2_tables.OUT.read_text() == ros2_tables.render(report), "run python benchmarks/ros2_tables.py"
    stock = report["delivery"]["64-beam sweep (2 MB)"]["stock"]
    assert f"| 64-beam sweep (2 MB) | {stock['received']}/{stock['sent']} |" in ros2_tables.OUT.read_text()
