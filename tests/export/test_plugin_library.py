"""The plugin library against the real TensorRT APIs: compiled (our warnings are errors) and linked against the
public headers of TensorRT 10.3 (JetPack 6), 10.16 and 11.1 without libnvinfer, loaded, and its creators'
names, versions and fields checked against the ONNX schemas of the ops; loaded beside a recording plugin registry,
it registers both creators by itself."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO
from export.bebr_op import schema as bebr_schema
from export.plugins.header_check import WARNINGS, build_against_headers, compile_kernels, cuda_include
from export.plugins.library import KERNEL_SOURCES, LIBRARY_NAME, PLUGIN_SOURCES, SOURCES
from export.rapid_op import schema as rapid_schema
from runtimes.ops.rapid_spec import RapidConfig

HEADERS = Path(os.environ.get("RAPID_EDGE_TENSORRT_HEADERS", REPO.parent / "shared" / "tensorrt"))
VERSIONS = ("10.3.0", "10.16", "11.1")
needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None or shutil.which("g++") is None,
                                reason="nvcc and g++ are needed to compile the plugin library")


def expected_creators() -> dict[str, dict]:
    """What each ONNX node hands the parser: INT attributes as INT32 fields, FLOAT as FLOAT32, one value each."""
    rapid_fields = [[name, "INT32" if isinstance(value, int) else "FLOAT32", 1]
                    for name, value in RapidConfig().attributes().items()]
    return {
        rapid_schema.OP_TYPE: {"version": str(rapid_schema.VERSION), "namespace": "", "fields": rapid_fields},
        bebr_schema.OP_TYPE: {"version": str(bebr_schema.VERSION), "namespace": "",
                              "fields": [[name, "INT32", 1] for name in bebr_schema.ATTRIBUTES]},
    }


@pytest.fixture(scope="module")
def kernel_objects(tmp_path_factory):
    return compile_kernels(tmp_path_factory.mktemp("kernels"))


def headers(version: str) -> Path:
    include = HEADERS / version / "include"
    if not include.is_dir():
        pytest.skip(f"TensorRT {version} headers are not present at {include} (set RAPID_EDGE_TENSORRT_HEADERS)")
    return include


@pytest.fixture(scope="module")
def creators_check(tmp_path_factory):
    """The loader program, built against the newest headers (the creator interface is the same in all three)."""
    program = tmp_path_factory.mktemp("check") / "plugin_creators_check"
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-isystem", str(headers(VERSIONS[-1])),
                    "-isystem", str(cuda_include()), str(Path(__file__).with_name("plugin_creators_check.cpp")), "-ldl",
                    "-o", str(program)], check=True, capture_output=True)
    return program


@needs_nvcc
@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_library_builds_against_tensorrt_headers_and_exports_its_creators(tmp_path, kernel_objects, creators_check, version):
    library = build_against_headers(headers(version), tmp_path, kernel_objects)
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"\bT getCreators\b", symbols)
    assert "nvinfer" not in subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
    run = subprocess.run([str(creators_check), str(library)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    creators = [json.loads(line) for line in run.stdout.splitlines()]
    assert all(c["kind"] == "PLUGIN CREATOR_V3ONE" for c in creators)
    found = {c.pop("name"): {k: v for k, v in c.items() if k != "kind"} for c in creators}
    assert found == expected_creators()


@needs_nvcc
@pytest.mark.slow
def test_loading_the_library_registers_both_creators_once(tmp_path, kernel_objects):
    """A plain dlopen registers the creators with the registry of the process's libnvinfer (here a recording
    stand-in built against the 11.1 headers), so Polygraphy, trtexec --staticPlugins, ONNX Runtime's TensorRT
    provider and Triton's LD_PRELOAD find them; getCreators then leaves nothing for loadLibrary to register again."""
    include = headers(VERSIONS[-1])
    library = build_against_headers(include, tmp_path / "plugins", kernel_objects)
    undefined = subprocess.run(["nm", "-D", "--undefined-only", str(library)], capture_output=True, text=True).stdout
    assert re.search(r"\bw getPluginRegistry\b", undefined)  # weak: the library still loads without libnvinfer
    fake = tmp_path / "fake"
    fake.mkdir()
    here = Path(__file__).parent
    common = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-isystem", str(include), "-isystem", str(cuda_include())]
    subprocess.run(["g++", *common, "-shared", "-fPIC", str(here / "fake_plugin_registry.cpp"), "-o",
                    str(fake / "libnvinfer.so")], check=True, capture_output=True)
    check = tmp_path / "plugin_creators_check"
    subprocess.run(["g++", *common, str(here / "plugin_creators_check.cpp"), f"-L{fake}", "-Wl,--no-as-needed",
                    "-lnvinfer", f"-Wl,-rpath,{fake}", "-ldl", "-o", str(check)], check=True, capture_output=True)
    run = subprocess.run([str(check), str(library)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    expected = sorted(f"{name}/{info['version']}" for name, info in expected_creators().items())
    assert sorted(lines[0]["registered_on_load"].split()) == expected
    assert lines[1:] == []  # getCreators leaves nothing for loadLibrary to register again


def test_cmake_builds_the_same_sources():
    listed = re.search(r"add_library\(rapid_edge_plugins SHARED([^)]*)\)", (SOURCES / "CMakeLists.txt").read_text())
    assert listed and listed.group(1).split() == [*KERNEL_SOURCES, *PLUGIN_SOURCES]


def tensorrt_prefix_with_stub_library(root: Path, include: Path) -> Path:
    """A TensorRT install prefix as CMake expects one: the real headers and an empty libnvinfer.so to link."""
    (root / "lib").mkdir(parents=True)
    (root / "include").symlink_to(include)
    (root / "empty.c").write_text("")
    subprocess.run(["gcc", "-shared", "-fPIC", str(root / "empty.c"), "-o", str(root / "lib" / "libnvinfer.so")],
                   check=True, capture_output=True)
    return root


@needs_nvcc
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is needed to check CMakeLists.txt")
def test_cmake_project_configures_and_builds_the_library(tmp_path, creators_check):
    """What a user on a TensorRT machine runs, with our warnings as errors and TensorRT's left to TensorRT."""
    prefix = tensorrt_prefix_with_stub_library(tmp_path / "tensorrt", headers(VERSIONS[0]))
    build = tmp_path / "build"
    for command in (["cmake", "-S", str(SOURCES), "-B", str(build), f"-DTENSORRT_ROOT={prefix}",
                     "-DCMAKE_CUDA_ARCHITECTURES=87", f"-DCMAKE_CUDA_COMPILER={shutil.which('nvcc')}",
                     f"-DCMAKE_CXX_FLAGS={' '.join(WARNINGS)}",
                     "-DCMAKE_CUDA_FLAGS=-Werror=all-warnings"],
                    ["cmake", "--build", str(build), "-j2"]):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = subprocess.run([str(creators_check), str(build / LIBRARY_NAME)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert {json.loads(line)["name"] for line in run.stdout.splitlines()} == set(expected_creators())
