"""Engines and plugin libraries load only from the package (files its manifest lists, checked just before
loading) or from a path the user gave; never from a file dropped into the folder or found on a search path."""
from __future__ import annotations

import json
import shutil

import pytest

from export.engine import PLUGIN_IN_PACKAGE, engine_in_package, engine_key
from runtimes.package import PackageError, load_package, seal, write_manifest
from sdk.shipped import shipped_package
from sdk.pipeline import _plugin_libraries

TARGET = {"tensorrt": "10.3.0", "cuda": "12.6", "sm": "8.7"}


@pytest.fixture
def package(tmp_path):
    folder = tmp_path / "package"
    shutil.copytree(shipped_package("rapid_seg"), folder)
    return load_package(folder)


def add_engine(package, precision="fp16"):
    key = engine_key(TARGET, precision)
    (package.folder / "engines").mkdir(exist_ok=True)
    (package.folder / "engines" / f"{key}.engine").write_bytes(b"serialised engine")
    (package.folder / "engines" / f"{key}.json").write_text(json.dumps({**TARGET, "precision": precision}))
    return package.folder / "engines" / f"{key}.engine"


def test_a_sealed_engine_is_found_and_checked_before_loading(package):
    engine = add_engine(package)
    assert engine_in_package(package, TARGET, "fp16") is None  # written, not sealed: not trusted
    sealed = seal(package)
    assert engine_in_package(sealed, TARGET, "fp16") == engine
    assert engine_in_package(sealed, TARGET, "fp32") is None
    engine.write_bytes(b"something else")
    with pytest.raises(PackageError, match="sha256 does not match the manifest.*not loading it"):
        engine_in_package(sealed, TARGET, "fp16")


def test_sealing_never_blesses_a_damaged_file(package):
    add_engine(package)
    with package.model_path.open("r+b") as model:
        model.write(b"\0")
    with pytest.raises(PackageError, match="model.onnx: sha256 does not match"):
        seal(package)


def plugin_form(package):
    manifest = {k: v for k, v in package.manifest.to_json().items() if k not in ("format", "format_version", "files")}
    write_manifest(package.folder, {**manifest, "custom_ops": ["rapid::RapidFeatures"]})
    return load_package(package.folder)


def test_the_plugin_library_comes_from_the_package_or_the_user(package, tmp_path, monkeypatch):
    monkeypatch.delenv("RAPID_EDGE_PLUGIN_LIBRARY", raising=False)
    monkeypatch.setenv("RAPID_EDGE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "plugins").mkdir(parents=True)
    (tmp_path / "cache" / "plugins" / "librapid_edge_plugins.so").write_bytes(b"a build on this machine")
    assert _plugin_libraries(package) == ()  # split form: no plugins
    with_plugins = plugin_form(package)
    assert _plugin_libraries(with_plugins) == ()  # the cache's build is for building engines, not for loading
    carried = with_plugins.folder / PLUGIN_IN_PACKAGE
    carried.parent.mkdir()
    carried.write_bytes(b"the library the engine was built with")
    assert _plugin_libraries(with_plugins) == ()  # not in the manifest yet
    sealed = seal(with_plugins)
    assert _plugin_libraries(sealed) == (carried,)
    mine = tmp_path / "mine.so"
    mine.write_bytes(b"the user's own build")
    monkeypatch.setenv("RAPID_EDGE_PLUGIN_LIBRARY", str(mine))
    assert _plugin_libraries(sealed) == (mine,)
    carried.write_bytes(b"swapped")
    monkeypatch.delenv("RAPID_EDGE_PLUGIN_LIBRARY")
    with pytest.raises(PackageError, match="librapid_edge_plugins.so: sha256 does not match"):
        _plugin_libraries(sealed)
