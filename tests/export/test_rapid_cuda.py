"""The CUDA kernel and the TensorRT plugin: compiled with nvcc where it exists; the kernels run whole through the
plugin's launcher on the CPU (HIP-CPU) over the real scan in every run, bit for bit against the NumPy reference;
on a GPU (CuPy) and inside a TensorRT engine where those exist, against the reference too."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sensors
from export.plugins.cupy_rapid import KERNELS, cuda_available
from hip_cpu_build import build_on_cpu, needs_hip_cpu
from runtimes.ops.rapid_reference import rapid_features_reference
from runtimes.ops.rapid_spec import KITTI, FrozenStats, RapidConfig
from sdk.segmentation.range_image import project

PLUGINS = KERNELS.parent
HERE = Path(__file__).parent
NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")


def tensorrt_include() -> Path | None:
    for root in filter(None, (os.environ.get("TENSORRT_ROOT"), "/usr", "/usr/local/tensorrt")):
        for sub in ("include", "include/x86_64-linux-gnu", "include/aarch64-linux-gnu"):
            if (Path(root) / sub / "NvInferRuntime.h").is_file():
                return Path(root) / sub
    return None


def build_launch_check(folder: Path) -> Path:
    """The plugin's launcher linked into a small program that runs it on files (rapid_launch_check.cu)."""
    program = folder / "rapid_launch_check"
    sources = [Path(__file__).with_name("rapid_launch_check.cu"), PLUGINS / "rapid_features_launch.cu"]
    subprocess.run([NVCC, "-std=c++17", "-O3", "--fmad=false", f"-I{PLUGINS}", f"-I{HERE}", *map(str, sources), "-o",
                    str(program)], check=True, capture_output=True)
    return program


def run_check_program(program: Path, folder: Path, batch: np.ndarray, config: RapidConfig) -> np.ndarray:
    """Either check program on `batch` [B, 4, H, W]: its output [B, k_max, H, W]."""
    batch = np.ascontiguousarray(batch, dtype=np.float32)
    batch.tofile(folder / "image.bin")
    run = subprocess.run([str(program), str(folder / "image.bin"), str(folder / "out.bin"),
                          *map(str, (batch.shape[0], *batch.shape[2:])), *launcher_arguments(config)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return np.fromfile(folder / "out.bin", dtype=np.float32).reshape(batch.shape[0], config.k_max, *batch.shape[2:])


@needs_nvcc
def test_launcher_and_kernels_compile_with_nvcc(tmp_path):
    assert build_launch_check(tmp_path).stat().st_size > 0
    # the kernels alone, as CuPy/NVRTC compiles them: no host headers needed
    subprocess.run([NVCC, "-ptx", str(KERNELS), "-o", str(tmp_path / "kernels.ptx")], check=True, capture_output=True)
    ptx = (tmp_path / "kernels.ptx").read_text()
    for kernel in ("rapid_init_stats", "rapid_select", "rapid_distance4", "rapid_normalise"):
        assert f".entry {kernel}" in ptx


@needs_nvcc
@pytest.mark.tensorrt
def test_plugin_compiles_against_tensorrt_headers(tmp_path):
    include = tensorrt_include()
    if include is None:
        pytest.skip("TensorRT headers (NvInferRuntime.h) are not installed; set TENSORRT_ROOT")
    subprocess.run([NVCC, "-std=c++17", "-c", "-x", "cu", str(PLUGINS / "rapid_features_plugin.cpp"),
                    f"-I{include}", f"-I{PLUGINS}", "-o", str(tmp_path / "plugin.o")], check=True, capture_output=True)


@pytest.fixture(scope="module")
def scan_image():
    from conftest import data_file

    frame = next(iter(sensors.open(data_file("semantickitti/sequences/00/velodyne/000000.bin"))))
    return project(frame).image[None]


CONFIGS = [KITTI, RapidConfig(frozen=FrozenStats(0.0, 1.0, 0.01, 3.0, 12.0))]


@pytest.fixture(scope="module")
def launcher_on_cpu(tmp_path_factory):
    return build_on_cpu("rapid_launch_check.cu", "rapid_features_launch.cu", tmp_path_factory.mktemp("hip_cpu"))


@needs_hip_cpu
@pytest.mark.parametrize("config", CONFIGS, ids=["measured", "frozen"])
def test_kernels_run_whole_on_the_cpu_bit_for_bit(tmp_path, launcher_on_cpu, scan_image, config):
    """The plugin's launcher (workspace carving, four launches of 256-thread blocks, atomics on the frame
    statistics) under HIP-CPU: the real scan and its mirror in one batch (statistics must stay per frame)."""
    batch = np.concatenate([scan_image, scan_image[..., ::-1]])
    out = run_check_program(launcher_on_cpu, tmp_path, batch, config)
    np.testing.assert_array_equal(out, rapid_features_reference(batch, config))


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU with CuPy")
@pytest.mark.parametrize("config", CONFIGS)
def test_cuda_kernel_matches_reference(scan_image, config):
    from export.plugins.cupy_rapid import rapid_features_cuda

    batch = np.concatenate([scan_image, scan_image[..., ::-1].copy()])
    np.testing.assert_allclose(rapid_features_cuda(batch, config).get(), rapid_features_reference(batch, config),
                               atol=1e-5, rtol=0)


def launcher_arguments(config: RapidConfig) -> list[str]:
    frozen = config.frozen
    stats = (frozen.r_min, frozen.r_max, frozen.d_min, frozen.d_max, frozen.scale) if frozen else (0, 0, 0, 0, 0)
    return [str(v) for v in (config.window, *config.k_values, *config.range_thresholds, config.delta,
                             int(frozen is not None), *stats)]


@needs_nvcc
@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU with CuPy")
@pytest.mark.parametrize("config", CONFIGS)
def test_plugin_launcher_matches_reference(tmp_path, scan_image, config):
    """The host code the plugin's enqueue calls (workspace carving, four launches), run without TensorRT."""
    batch = np.concatenate([scan_image, scan_image[..., ::-1]])
    out = run_check_program(build_launch_check(tmp_path), tmp_path, batch, config)
    np.testing.assert_allclose(out, rapid_features_reference(batch, config), atol=1e-5, rtol=0)


@pytest.mark.tensorrt
def test_tensorrt_one_op_engine_matches_reference(tmp_path, scan_image):
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed")
    from export.plugins import library
    from export.rapid_op.onnx_export import export_rapid_features

    path = library.library_path() or library.build()
    library.load(path)
    onnx_path = tmp_path / "plugin.onnx"
    export_rapid_features(onnx_path, "plugin", *scan_image.shape[2:], KITTI)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    assert parser.parse(onnx_path.read_bytes()), [parser.get_error(i) for i in range(parser.num_errors)]
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    shape = tuple(scan_image.shape)
    profile.set_shape("image", shape, shape, shape)
    config.add_optimization_profile(profile)
    engine = trt.Runtime(logger).deserialize_cuda_engine(builder.build_serialized_network(network, config))
    import cupy

    image = cupy.asarray(scan_image)
    out = cupy.empty((1, KITTI.k_max) + shape[2:], dtype=cupy.float32)
    context = engine.create_execution_context()
    context.set_input_shape("image", shape)
    context.set_tensor_address("image", image.data.ptr)
    context.set_tensor_address("features", out.data.ptr)
    assert context.execute_async_v3(cupy.cuda.get_current_stream().ptr)
    cupy.cuda.get_current_stream().synchronize()
    np.testing.assert_allclose(out.get(), rapid_features_reference(scan_image, KITTI), atol=1e-5, rtol=0)
