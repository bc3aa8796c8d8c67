"""Model packages: a folder holding model.onnx, manifest.json and a parity report (engines are added by
`rapid-edge build`). Loading checks the format version and every file's sha256, and refuses a damaged or
foreign package with a message naming the file."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .manifest import FORMAT, FORMAT_VERSION, Manifest, ManifestError, TensorSpec

MANIFEST = "manifest.json"
MODEL = "model.onnx"
PARITY = "parity.json"


class PackageError(ValueError):
    """A package cannot be used; the message names the file and the problem."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Package:
    folder: Path
    manifest: Manifest

    @property
    def model_path(self) -> Path:
        return self.folder / MODEL

    @property
    def form(self) -> str:
        return self.manifest.form

    @property
    def inputs(self) -> list[TensorSpec]:
        return list(self.manifest.inputs)

    @property
    def outputs(self) -> list[TensorSpec]:
        return list(self.manifest.outputs)

    @property
    def profiles(self) -> dict[str, dict[str, int]]:
        return self.manifest.profiles

    @property
    def custom_ops(self) -> tuple[str, ...]:
        return self.manifest.custom_ops

    def listed_file(self, relative: str) -> Path | None:
        """The package's file `relative` if its manifest lists it, checked against its sha256 now (just before
        anything native, an engine or a plugin library, is loaded from it); None when it is not listed."""
        expected = self.manifest.files.get(relative)
        if expected is None:
            return None
        path = self.folder / relative
        if not path.is_file():
            raise PackageError(f"{path}: listed in the manifest but missing")
        if sha256(path) != expected:
            raise PackageError(f"{path}: sha256 does not match the manifest (damaged or edited); not loading it")
        return path


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Record the sha256 of every file in the folder (but the manifest itself) and write the manifest."""
    folder = Path(folder)
    files = {p.relative_to(folder).as_posix(): sha256(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and p.name != MANIFEST}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest, "files": files}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def seal(package: Package) -> Package:
    """Add the files written into a package after its export (engines, the plugin library) to its manifest;
    the files already listed must still match, so a damaged one is never blessed."""
    load_package(package.folder)
    kept = {k: v for k, v in package.manifest.to_json().items() if k not in ("format", "format_version", "files")}
    write_manifest(package.folder, kept)
    return load_package(package.folder)


def load_package(folder: str | Path, verify: bool = True) -> Package:
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise PackageError(f"{manifest_path}: missing; {folder} is not a model package")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as err:
        raise PackageError(f"{manifest_path}: not valid JSON ({err})") from err
    if manifest.get("format") != FORMAT:  # said first and plainly: a foreign file is not a bad field
        raise PackageError(f"{manifest_path}: not a {FORMAT} manifest (format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise PackageError(f"{manifest_path}: format version {manifest.get('format_version')} "
                           f"(this SDK reads version {FORMAT_VERSION}); re-export the model")
    try:
        typed = Manifest.from_json(manifest, manifest_path)
    except ManifestError as err:
        raise PackageError(str(err)) from err
    files = typed.files
    if MODEL not in files:
        raise PackageError(f"{manifest_path}: lists no {MODEL}")
    if verify:
        for name, expected in files.items():
            path = folder / name
            if not path.is_file():
                raise PackageError(f"{path}: listed in the manifest but missing")
            if sha256(path) != expected:
                raise PackageError(f"{path}: sha256 does not match the manifest (damaged or edited)")
    return Package(folder, typed)
