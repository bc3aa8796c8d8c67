#!/usr/bin/env bash
# Packs into .device/ (git-ignored) what an offline GPU machine lacks for the SDK's GPU checks, so a
# short lease is spent measuring rather than discovering missing imports. Run here, with ./install.sh done.
#
# Why a bundle: the GPU image (Python 3.12, torch, CuPy, numba, onnx, onnxruntime, safetensors, tqdm)
# has no network, and the SDK also needs onnxslim (export) and imports open3d (the simulator's ray
# casting), velodyne-decoder and dpkt at import time; open3d itself imports dash and plotly. The wheels
# are the versions installed here (what the suite ran with), for the machine's Python; open3d is cut to
# what ray casting loads (no GUI resources, no TensorFlow/PyTorch ops) and everything is xz-packed,
# because one lease carries at most 64 MiB. open3d's system libraries (GL, X11, libusb) come as Debian
# packages; the machine side (env.sh) takes only those its image does not have.
#
#   benchmarks/gpu_machine/prepare.sh [--python 3.12] [--out .device]
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON_VERSION=3.12
BUNDLE=.device
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYTHON_VERSION=$2; shift 2 ;;
    --out) BUNDLE=$2; shift 2 ;;
    *) echo "prepare.sh: unknown argument $1 (expected --python X.Y or --out DIR)" >&2; exit 2 ;;
  esac
done
PY=.venv/bin/python
[ -x "$PY" ] || { echo "prepare.sh: run ./install.sh first (needs .venv)" >&2; exit 1; }
DATA=${RAPID_EDGE_DATA:-../shared/data}
[ -f "$DATA/semantickitti/sequences/00/labels/000000.label" ] || {
  echo "prepare.sh: $DATA/semantickitti/sequences/00 not found (set RAPID_EDGE_DATA)" >&2; exit 1; }

# What the image lacks. dash's own needs are listed because wheels travel without dependency resolution.
PACKAGES=(open3d-cpu velodyne-decoder dpkt importlib-resources onnxslim
          dash plotly flask itsdangerous blinker retrying nest-asyncio janus comm importlib-metadata
          pydantic pydantic-core annotated-types typing-inspection)
# open3d's shared libraries beyond glibc and libstdc++ (from `ldd libOpen3D.so`)
DEBIAN_PACKAGES=(libusb-1.0-0 libegl1 libgl1 libglx0 libglvnd0 libx11-6 libxcb1 libxau6 libxdmcp6
                 libbsd0 libmd0 libudev1 libidn2-0 libunistring2)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -e "$BUNDLE" ] && [ ! -f "$BUNDLE/site.tar.xz" ]; then  # replace an earlier bundle, never anything else
  echo "prepare.sh: $BUNDLE exists and is not a bundle; choose another --out" >&2; exit 1
fi
rm -rf "$BUNDLE" && mkdir -p "$BUNDLE/debs" "$BUNDLE/data"

pins=()
for name in "${PACKAGES[@]}"; do
  version=$("$PY" -m pip show "$name" 2>/dev/null | awk '/^Version:/{print $2}')
  [ -n "$version" ] || { echo "prepare.sh: $name is not installed in .venv" >&2; exit 1; }
  pins+=("$name==$version")
done
platforms=()
for tag in manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014; do
  platforms+=(--platform "${tag}_x86_64")
done
"$PY" -m pip install -q --no-deps --only-binary=:all: --no-compile --target "$work/site" \
  --python-version "$PYTHON_VERSION" --implementation cp "${platforms[@]}" --platform any "${pins[@]}"
( cd "$work/site/open3d" && rm -rf resources examples labextension nbextension agent_skills \
    open3d_tf_ops.so open3d_torch_ops.so )
tar -C "$work/site" -cf - . | xz -T0 -6 > "$BUNDLE/site.tar.xz"

( cd "$BUNDLE/debs" && apt-get download -qq "${DEBIAN_PACKAGES[@]}" )

# The real labelled scan (latency and evaluation); a non-commercial fixture, never committed.
mkdir -p "$BUNDLE/data/semantickitti"
cp -r "$DATA/semantickitti/sequences" "$BUNDLE/data/semantickitti/"

du -sh "$BUNDLE"/* && du -sh "$BUNDLE"
