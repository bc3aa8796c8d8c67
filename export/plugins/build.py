"""python -m export.plugins.build [--tensorrt-root DIR] [--arch 87]: build librapid_edge_plugins.so."""
from __future__ import annotations

import argparse

from .library import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tensorrt-root", default=None, help="TensorRT prefix (default: $TENSORRT_ROOT)")
    parser.add_argument("--arch", default=None, help="CUDA architectures, e.g. 87 for Jetson Orin, 90 for H100/H200")
    parser.add_argument("--build-dir", default=None)
    args = parser.parse_args()
    print(build(args.tensorrt_root, args.build_dir, args.arch))


if __name__ == "__main__":
    main()
