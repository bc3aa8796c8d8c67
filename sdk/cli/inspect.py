"""`rapid-edge inspect PKG|ENGINE|SOURCE`: what a model package, a TensorRT engine or a capture holds, for
users and bug reports (as `polygraphy inspect model` does for models). Nothing is loaded into a runtime."""
from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from runtimes.package import MANIFEST, PARITY, PackageError, load_package, sha256

from sdk.cli.sensors import add_source_options, source_options

ENGINE_SUFFIXES = (".engine", ".plan")


def add_parser(commands: argparse._SubParsersAction) -> None:
    inspect = commands.add_parser("inspect", help="what a package, engine or capture holds")
    inspect.add_argument("target", help="a package folder, an .engine/.plan file, or any source sensors.open takes")
    inspect.add_argument("--frames", type=int, default=None, help="a source: read at most this many frames")
    add_source_options(inspect)
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.set_defaults(run=run_inspect)


def run_inspect(args: argparse.Namespace) -> dict[str, Any]:
    target = Path(args.target)
    if (target / MANIFEST).is_file():
        report = inspect_package(target)
    elif target.suffix in ENGINE_SUFFIXES:
        report = inspect_engine(target)
    else:
        report = inspect_source(args.target, args.frames, source_options(args))
    if not args.json:
        for key, value in report.items():
            print(f"{key:>16}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
    return report


def inspect_package(folder: Path) -> dict[str, Any]:
    """The manifest's facts, every file checked against its sha256, and the parity report's worst case."""
    try:
        package, intact = load_package(folder), True
    except PackageError as err:
        package, intact = load_package(folder, verify=False), str(err)
    manifest = package.manifest
    parity_path = folder / PARITY
    parity = json.loads(parity_path.read_text()) if parity_path.is_file() else None
    return {"kind": "model package", "model": asdict(manifest.model), "form": manifest.form, "opset": manifest.opset,
            "custom_ops": list(manifest.custom_ops), "label_set": manifest.label_set.name if manifest.label_set else None,
            "inputs": [asdict(s) for s in manifest.inputs], "outputs": [asdict(s) for s in manifest.outputs],
            "profiles": manifest.profiles, "built_from": manifest.built_from, "producer": manifest.producer,
            "files": {name: (folder / name).stat().st_size if (folder / name).is_file() else None for name in manifest.files},
            "intact": intact, "parity": {"passed": parity["passed"], "worst": parity["worst"]} if parity else None}


def inspect_engine(path: Path) -> dict[str, Any]:
    """The record of what the engine was built for (beside it), its size and sha256, and whether the package
    holding it lists it (an unlisted engine is never loaded)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such engine file")
    record = path.with_suffix(".json")
    manifest = path.parent.parent / MANIFEST
    listed = None
    if manifest.is_file():
        listed = json.loads(manifest.read_text()).get("files", {}).get(f"{path.parent.name}/{path.name}") == sha256(path)
    return {"kind": "TensorRT engine", "bytes": path.stat().st_size, "sha256": sha256(path),
            "built_for": json.loads(record.read_text()) if record.is_file() else None,
            "listed_in_package": listed}


def inspect_source(target: str, frames: int | None, options: dict[str, Any]) -> dict[str, Any]:
    import sensors

    from sdk.cli.sensors import summarize

    with sensors.open(target, **options) as source:
        counts, stamps, labelled, cameras = [], [], False, {}
        for frame in itertools.islice(source, frames):
            counts.append(len(frame))
            stamps.append(frame.timestamp)
            labelled |= frame.labels is not None
            cameras.update({name: f"{camera.width} x {camera.height}" for name, camera in frame.cameras.items()})
        report = {"kind": "source", **summarize(source, counts, stamps, labelled)}
    if cameras:
        report["cameras"] = cameras
    return report
