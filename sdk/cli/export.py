"""`rapid-edge export` (PyTorch -> ONNX model package with a parity report) and `rapid-edge build`
(TensorRT engine from a package)."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from export.cpu_quantization import CALIBRATION_FRAMES
from export.engine import PRECISIONS
from export.opset import DEFAULT_OPSET
from export.parity import ParityThresholds
from runtimes.manifest import FORMS
from runtimes.manifest import PRECISIONS as EXPORT_PRECISIONS
from runtimes.ops.nodes import DOMAIN, PLUGIN_DOMAINS, TENSORRT_EP_DOMAIN
from sensors.source import require_module

from sdk.apps.triton_repository import NETWORK_BACKENDS
from sdk.options import ModelOptions
from sdk.shipped import SHIPPED_PACKAGES, default_checkpoint

REAL_SCAN_HINT = Path(__file__).resolve().parents[3] / "shared" / "data" / "semantickitti" / "sequences" / "00"


def add_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="export a model to an ONNX package with a parity report")
    export.add_argument("model", nargs="?", choices=["rapid_seg"], help="the SDK's model (or --model for your own)")
    export.add_argument("--model", dest="factory", metavar="MODULE:FUNCTION",
                        help="your own network: a factory (module:function or file.py:function) returning a torch "
                             "module; needs --checkpoint W.safetensors and --config C.json (docs/own_model.md)")
    export.add_argument("--config", type=Path, default=None, help="--model: the factory's arguments and the contract")
    export.add_argument("--checkpoint", type=Path, default=None,
                        help="rapid_seg: a checkpoint folder (default: the shipped weights); --model: a .safetensors file")
    export.add_argument("--form", choices=FORMS, default=ModelOptions.form, help="where RAPiD runs (docs/export_and_runtimes.md)")
    export.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset of the graph")
    export.add_argument("--plugin-domain", choices=PLUGIN_DOMAINS, default=DOMAIN,
                        help=f"--form plugin: the custom node's domain ({DOMAIN}: TensorRT and the SDK's ONNX Runtime op "
                             f"library; {TENSORRT_EP_DOMAIN}: ONNX Runtime's TensorRT provider)")
    where = export.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="the package folder to write (an existing one only with --force)")
    where.add_argument("--ship", action="store_true",
                       help="rebuild the package the SDK ships (split form, the shipped weights), in place")
    where.add_argument("--triton", type=Path, metavar="REPO",
                       help="write a Triton model repository from --package (default: the shipped package); no export")
    export.add_argument("--force", action="store_true", help="replace what --out or --triton already holds")
    export.add_argument("--package", type=Path, default=None, help="--triton: the split-form package to serve")
    export.add_argument("--network-backend", choices=NETWORK_BACKENDS, default="onnxruntime",
                        help="--triton: Triton's onnxruntime backend, or a Python model running ONNX Runtime")
    export.add_argument("--instances", type=int, default=1, help="--triton: instances of each model")
    export.add_argument("--gpu", action="store_true", help="--triton: instances on the GPU (KIND_GPU)")
    export.add_argument("--python-env", default=None,
                        help="--triton: EXECUTION_ENV_PATH of the Python models (an environment holding the SDK)")
    export.add_argument("--real-scan", type=Path, default=REAL_SCAN_HINT if REAL_SCAN_HINT.exists() else None,
                        help="frames to trace with and check parity on, any file or folder sensors.open reads (labelled "
                             "ones are scored; default: the shared SemanticKITTI scan when present)")
    export.add_argument("--sim-frames", type=int, default=2,
                        help="held-out simulated frames in the parity report (needs open3d, the [train] extra; "
                             "without it the --real-scan frames alone)")
    export.add_argument("--min-agreement", type=float, default=ParityThresholds.label_agreement,
                        help="parity: the least share of points labelled as PyTorch labels them")
    export.add_argument("--min-cosine", type=float, default=ParityThresholds.cosine,
                        help="parity: the least cosine between the package's logits and PyTorch's")
    export.add_argument("--points", default=None, metavar="MIN:OPT:MAX", help="point-count profile of the dynamic axis")
    export.add_argument("--precision", choices=EXPORT_PRECISIONS, default="fp32",
                        help="int8: a graph for ONNX Runtime's CPU provider, its operators chosen by label agreement "
                             "and the package written only if it passes the reduced-precision parity gate")
    export.add_argument("--calibration-frames", type=int, default=0,
                        help=f"store feeds for int8 calibration (with --precision int8: default {CALIBRATION_FRAMES})")
    export.set_defaults(run=run_export)

    build = commands.add_parser("build", help="build a TensorRT engine into a package")
    build.add_argument("package", type=Path)
    build.add_argument("--precision", choices=PRECISIONS, default=ModelOptions.precision,
                       help="the engine's precision")
    build.add_argument("--workspace", type=float, default=4.0, help="GiB")
    build.set_defaults(run=run_build)


def run_triton(args: argparse.Namespace) -> dict:
    from sdk.apps.triton_repository import write_repository
    from runtimes.package import load_package

    package = load_package(args.package if args.package else SHIPPED_PACKAGES[args.model])
    configs = write_repository(package, args.triton, args.network_backend, args.gpu, args.instances,
                               python_env=args.python_env)
    print(f"wrote {args.triton}: {', '.join(c.parent.name for c in configs)}")
    return {"repository": str(args.triton), "models": [c.parent.name for c in configs]}


def run_export(args: argparse.Namespace) -> dict:
    logging.getLogger("export").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(message)s")
    refuse_to_overwrite(args.triton or args.out, args.force)
    if args.triton:
        if args.form != ModelOptions.form or args.factory or args.checkpoint:
            raise ValueError("--triton serves an exported package (--package, default the shipped one) as it is: "
                             "--form, --model and --checkpoint belong to the export that made it")
        return run_triton(args)
    require_module("torch", "rapid-edge export", "export")
    if not args.verbose:  # the exporters' own notes (torch, onnxscript, numba) would bury the SDK's four steps
        quiet_third_parties()
    if (args.model is None) == (args.factory is None):
        raise SystemExit("export: name rapid_seg or give --model MODULE:FUNCTION, one of the two")
    from sdk.segmentation.exporting import PointProfile, export_rapid_seg

    profile = PointProfile(*(int(v) for v in args.points.split(":"))) if args.points else PointProfile()
    thresholds = ParityThresholds(args.min_agreement, args.min_cosine)
    if args.factory:
        return run_user_export(args, profile, thresholds)
    out = args.out
    if args.ship:
        if args.checkpoint or args.form != "split":
            raise SystemExit("--ship rebuilds the shipped package: the split form of the shipped weights")
        out = SHIPPED_PACKAGES[args.model]
    package = export_rapid_seg(args.checkpoint or default_checkpoint(args.model), args.form, out, args.opset,
                               profile, thresholds, args.real_scan, args.sim_frames, args.calibration_frames,
                               args.plugin_domain, args.precision)
    return wrote(package)


def run_user_export(args: argparse.Namespace, profile, thresholds: ParityThresholds) -> dict:
    from sdk.segmentation.user_model import export_user_model

    if args.checkpoint is None or args.config is None or args.out is None:
        raise SystemExit("export --model needs --checkpoint W.safetensors, --config C.json and --out DIR")
    package = export_user_model(args.factory, args.checkpoint, args.config, args.form, args.out, args.opset, profile,
                                thresholds, args.real_scan, args.sim_frames, args.calibration_frames, args.plugin_domain,
                                args.precision)
    return wrote(package)


def refuse_to_overwrite(target: Path | None, force: bool) -> None:
    """An export never replaces a folder silently: a package made before is lost with it."""
    if target is not None and target.exists() and any(target.iterdir()) and not force:
        raise ValueError(f"{target} already holds files; choose another folder or pass --force to replace them")


def quiet_third_parties() -> None:
    """Keep warnings and log lines of the libraries the export drives off the console (rapid-edge -v shows them).
    PyTorch is imported first: importing it sets its loggers' levels, which would undo these."""
    import importlib
    import warnings

    importlib.import_module("torch")

    for name in ("torch", "onnxscript", "onnx_ir", "onnxslim"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(torch|onnxscript|onnx_ir|onnxslim|numba|copyreg)(\.|$)")


def wrote(package) -> dict:
    print(f"wrote {package.folder} ({package.form} form)")
    return {"package": str(package.folder), "form": package.form}


def run_build(args: argparse.Namespace) -> dict:
    from export.engine import build_engine
    from runtimes.package import load_package

    engine = build_engine(load_package(args.package), args.precision, args.workspace)
    print(f"wrote {engine}")
    return {"engine": str(engine)}
