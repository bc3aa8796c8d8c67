"""The design card's dependency direction: sensors/ imports nothing of the others; runtimes/ nothing of sdk/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

FORBIDDEN = {"sensors": {"sdk", "export", "runtimes"}, "runtimes": {"sdk"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_direction(package):
    files = list((REPO / package).rglob("*.py"))
    assert files or package == "runtimes"
    for path in files:
        bad = imported_packages(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"


def test_package_ships_no_sample_data():
    for package in ("sdk", "export", "runtimes", "sensors"):
        shipped = [p for p in (REPO / package).rglob("*") if p.suffix in (".bin", ".label", ".pcap", ".db3")]
        assert not shipped, shipped


def test_export_imports_nothing_of_sdk():
    for path in (REPO / "export").rglob("*.py"):
        assert "sdk" not in imported_packages(path), f"{path.relative_to(REPO)} imports sdk"
