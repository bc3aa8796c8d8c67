"""A range-view segmentation network to a model package: rapid_seg's, or any network with the SDK's
interface (`sdk/segmentation/models/interface.py`, `sdk/segmentation/user_model.py`). The generic half, ONNX cleaning and parity,
lives in export/. Forms: portable (RAPiD as standard ops in the graph), plugin (one rapid::RapidFeatures
node, for TensorRT with the SDK's plugin library), split (RAPiD computed on the CPU before the graph,
which takes the features as an input; the only form of a network that reads no RAPiD features)."""
from __future__ import annotations

import importlib.util
import json
import logging
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import sensors
from export.cpu_quantization import CALIBRATION_FRAMES, quantize_int8
from export.onnx_graph import ExportError, clean, export_module, move_custom_nodes
from export.opset import DEFAULT_OPSET
from export.parity import REDUCED_PRECISION, ParityCase, ParityThresholds, check, compare, write
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.ops.nodes import DOMAIN, PLUGIN_DOMAINS, POINTS, RAPID_FEATURES
from runtimes.manifest import FORMS, PRECISIONS, TensorSpec
from runtimes.package import MANIFEST, MODEL, PARITY, Package, load_package, write_manifest
from runtimes.torch_runner import TorchRunner
from sensors.geometry import GEOMETRY
from sensors.source import require_module

from sdk.segmentation.neighbour_vote import DEFAULT_VOTE
from sdk.segmentation.build_record import ROOT, BuildRecord
from sdk.segmentation.steps import RapidSegSteps
from sdk.segmentation.training.checkpoint import load_model
from sdk.segmentation.training.evaluate import simulated_scenes

log = logging.getLogger("export")
RAPID_FORM = {"portable": "portable", "plugin": "plugin", "split": "input"}
#: beside a checkpoint: the model card's facts the package carries (sdk/weights/rapid_seg/card.json)
CARD = "card.json"


@dataclass(frozen=True)
class PointProfile:
    """Point counts the engine is built for. opt is one HDL-64E/KITTI sweep (~120k); max leaves room for the
    131,072 pixels of a 64 x 2048 sweep plus points that share pixels; min a sparse partial sweep."""

    min: int = 1_000
    opt: int = 120_000
    max: int = 160_000


def tensor_specs(model, form: str) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The package's inputs and outputs for a network (anything with an `interface`) in `form`."""
    net = model.interface
    specs = {"image": TensorSpec("image", "float32", [1, 4, net.rows, net.columns]),
             "pixel": TensorSpec("pixel", "int64", [POINTS]), "points": TensorSpec("points", "float32", [POINTS, 4])}
    if net.rapid is not None:
        specs["rapid"] = TensorSpec("rapid", "float32", [1, net.rapid.k_max, net.rows, net.columns])
    inputs = [specs[name] for name in net.input_names(rapid_fed=form == "split")]
    return inputs, [TensorSpec("logits", "float32", [POINTS, net.classes])]


def feed_for(frame: sensors.Frame, model, form: str) -> dict[str, np.ndarray]:
    """The feed the deployed pipeline gives the package: the same preprocessing, so parity covers it."""
    return RapidSegSteps.for_model(model, rapid_in_graph=form != "split").preprocess(frame).network_feed()


def export_frames(real_scan: Path | None, sim_frames: int) -> list[tuple[str, sensors.Frame]]:
    """The frames an export traces with and checks parity on: those of `real_scan` (any source sensors.open
    reads), then `sim_frames` held-out simulated ones where the simulator's open3d is installed (the [train]
    extra); without it the real frames alone, and without either nothing can be checked."""
    frames = []
    if real_scan is not None:
        if not Path(real_scan).exists():
            raise FileNotFoundError(f"{real_scan}: no such file or folder (the parity frames)")
        frames += [(f"{Path(real_scan).name}:{frame.index}", frame) for frame in sensors.open(real_scan)]
    if sim_frames and importlib.util.find_spec("open3d") is None:
        if not frames:
            raise ValueError("the parity report needs frames: give --real-scan PATH (any file or folder sensors.open "
                             "reads), or pip install 'rapid-edge-sdk[train]' for simulated ones (open3d)")
        log.warning("open3d is not installed ([train] extra): parity on %s only, without simulated frames", real_scan)
    elif sim_frames:
        frames += [(f"sim held-out {i}", frame) for i, frame in zip(range(sim_frames), simulated_scenes())]
    if not frames:
        raise ValueError("the parity report needs frames: give --real-scan PATH or --sim-frames N")
    return frames


def parity_cases(model, form: str, frames: list[tuple[str, sensors.Frame]]) -> list[ParityCase]:
    steps = RapidSegSteps.for_model(model, rapid_in_graph=form != "split")
    label_set = model.interface.label_set  # a frame's labels are scored when they are of the model's set
    cases = []
    for name, frame in frames:
        prepared = steps.preprocess(frame)  # labels follow the points that reach the network (NaN ones do not)
        scored = frame.labels is not None and frame.label_set == label_set.name
        labels = frame.labels[prepared.has_pixel] if scored else None
        cases.append(ParityCase(name, prepared.network_feed(), labels, model.interface.label_set))
    return cases


def export_rapid_seg(checkpoint: Path, form: str, out: Path, opset: int = DEFAULT_OPSET,
                     profile: PointProfile = PointProfile(), thresholds: ParityThresholds = ParityThresholds(),
                     real_scan: Path | None = None, sim_frames: int = 2, calibration_frames: int = 0,
                     plugin_domain: str = DOMAIN, precision: str = "fp32") -> Package:
    check_request(form, opset, plugin_domain, precision)
    model = load_model(checkpoint, rapid_form=RAPID_FORM[form])
    log.info("[1/4] loaded %s (%d parameters), form %s", checkpoint, sum(p.numel() for p in model.parameters()), form)
    identity = {"model": {"name": "rapid_seg", "version": _sdk_version(), "checkpoint": _shown(Path(checkpoint))},
                "built_from": BuildRecord.of(checkpoint).to_dict(), "model_config": json.loads(model.config.to_json()),
                **model_card_of(Path(checkpoint))}
    return export_network(model, identity, form, out, opset, profile, thresholds, real_scan, sim_frames,
                          calibration_frames, plugin_domain, precision)


def model_card_of(checkpoint: Path) -> dict:
    """The model card's facts (card.json beside the weights; the mIoU from the evaluation it names), for the
    manifest; nothing for a checkpoint without a card."""
    path = checkpoint / CARD
    if not path.is_file():
        return {}
    card = json.loads(path.read_text())
    evaluation = json.loads((checkpoint / card.pop("evaluation")).read_text())
    return {"model_card": {**card, "miou": evaluation["miou"]}}




def check_request(form: str, opset: int, plugin_domain: str = DOMAIN, precision: str = "fp32") -> None:
    """Refuse an unknown form, domain or precision, or a too old opset, before anything is loaded."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; choose {', '.join(FORMS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose {', '.join(PRECISIONS)}")
    if precision == "int8" and form == "plugin":
        raise ValueError("int8 is for ONNX Runtime's CPU provider: the split or portable form (a TensorRT engine of "
                         "the plugin form takes int8 from `rapid-edge build --precision int8`)")
    if plugin_domain not in PLUGIN_DOMAINS:
        raise ValueError(f"unknown plugin domain {plugin_domain!r}; choose {', '.join(PLUGIN_DOMAINS)}")
    if plugin_domain != DOMAIN and form != "plugin":
        raise ValueError(f"the plugin domain applies to the plugin form's custom nodes; the {form} form has none")
    if opset < DEFAULT_OPSET:
        raise ValueError(f"opset {opset} is too old: the graph needs opset >= {DEFAULT_OPSET}")


def export_network(model, identity: dict, form: str, out: Path, opset: int = DEFAULT_OPSET,
                   profile: PointProfile = PointProfile(), thresholds: ParityThresholds = ParityThresholds(),
                   real_scan: Path | None = None, sim_frames: int = 2, calibration_frames: int = 0,
                   plugin_domain: str = DOMAIN, precision: str = "fp32") -> Package:
    """`model` (eval mode, RAPiD placed for `form`, with an `interface`) -> a package in `out`. `identity`: the
    manifest's `model`, `built_from` and `model_config` entries, which say what was exported. `plugin_domain`:
    where the plugin form's custom node goes (`rapid`: TensorRT and the native op library; `trt.plugins`: ONNX
    Runtime's TensorRT provider); parity runs on the `rapid` graph, the domain is changed after it. `precision`
    int8: the fp32 graph passes parity first, then its int8 graph must pass the reduced-precision gate against
    PyTorch (export.parity.REDUCED_PRECISION) or no package is written."""
    import onnx
    import torch

    check_request(form, opset, plugin_domain, precision)
    if precision == "int8" and not calibration_frames:
        calibration_frames = CALIBRATION_FRAMES
    net = model.interface
    if net.rapid is None and form != "split":
        raise ValueError(f"form {form!r} places RAPiD features in the graph, and this network reads none: use split")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / MANIFEST, out / MODEL, out / PARITY):
        stale.unlink(missing_ok=True)
    inputs, outputs = tensor_specs(model, form)
    frames = export_frames(real_scan, sim_frames)
    if calibration_frames:
        require_module("open3d", "--calibration-frames (simulated int8 calibration feeds)", "train")
    example = tuple(torch.from_numpy(v) for v in feed_for(frames[0][1], model, form).values())
    points = torch.export.Dim(POINTS, min=profile.min, max=profile.max)
    dynamic = {s.name: ({0: points} if POINTS in s.shape else None) for s in inputs}
    path = out / MODEL
    exported = export_module(model, example, path, [s.name for s in inputs], [s.name for s in outputs], dynamic, opset)
    log.info("[2/4] exported %s: %d nodes", path, len(exported.graph.node))
    cleaned = clean(exported, path, allow_plugin=form == "plugin")
    log.info("[3/4] cleaned: %d nodes", len(cleaned.graph.node))

    reference = TorchRunner(model, inputs, outputs)
    candidate = OnnxRuntimeRunner(path, providers=["CPUExecutionProvider"])
    report = compare(reference, candidate, parity_cases(model, form, frames), thresholds=thresholds)
    write(report, out / PARITY)
    worst = report["worst"]
    log.info("[4/4] parity with PyTorch: label agreement %.5f, cosine %.7f, max |diff| %.2e",
             worst["label_agreement"], worst["cosine"], worst["max_abs_diff"])
    check(report)  # no manifest is written for a package that fails parity: it cannot be loaded
    calibration = [feed_for(frame, model, form) for frame in
                   simulated_scenes(seeds=range(6000, 6000 + calibration_frames), indices=[30])]
    if calibration:  # feeds for int8 calibration (`rapid-edge build --precision int8`)
        (out / "calibration").mkdir(exist_ok=True)
        for i, feed in enumerate(calibration):
            np.savez(out / "calibration" / f"{i:03d}.npz", **feed)
    reduced = quantized_for_cpu(model, form, path, out, frames, calibration, reference) if precision == "int8" else {}
    rapid = asdict(net.rapid) if net.rapid is not None else None
    if plugin_domain != DOMAIN:
        move_custom_nodes(path, plugin_domain)
    write_manifest(out, {
        **identity,
        "form": form, "opset": opset, "custom_ops": [f"{plugin_domain}::{RAPID_FEATURES}"] if form == "plugin" else [],
        "label_set": net.label_set.name, "classes": list(net.label_set.class_names),
        "palette": [list(c) for c in net.label_set.palette_rgb],
        "inputs": [asdict(s) for s in inputs], "outputs": [asdict(s) for s in outputs],
        "profiles": {POINTS: asdict(profile)},
        "preprocessing": {
            "range_image": {"rows": net.rows, "columns": net.columns, "sensors": sorted(GEOMETRY)},
            "rapid": rapid if form == "split" else None,
            "labels": "argmax + 1 over the logits; points without a pixel (NaN) get 0 (ignore)",
        },
        "postprocessing": {"neighbour_vote": DEFAULT_VOTE.to_dict()},
        "producer": {"torch": torch.__version__, "onnx": onnx.__version__, "python": platform.python_version()},
        **reduced,
    })
    return load_package(out)


def quantized_for_cpu(model, form: str, path: Path, out: Path, frames: list[tuple[str, sensors.Frame]],
                      calibration: list[dict[str, np.ndarray]], reference: TorchRunner) -> dict:
    """Replace the fp32 graph at `path` by its int8 graph (half the calibration feeds calibrate, half choose the
    operators), then hold it against PyTorch on the parity frames by the reduced-precision gate; returns the
    manifest's precision entries."""
    if len(calibration) < 2:
        raise ValueError("int8 needs at least 2 calibration frames (half calibrate, half choose the operators)")
    half = len(calibration) // 2
    staged = path.with_name("model.int8.onnx")
    try:
        choice = quantize_int8(path, staged, calibration[:half], calibration[half:], REDUCED_PRECISION.label_agreement)
    except ValueError as err:
        raise ExportError(str(err)) from err
    os.replace(staged, path)
    report = compare(reference, OnnxRuntimeRunner(path, providers=["CPUExecutionProvider"]),
                     parity_cases(model, form, frames), thresholds=REDUCED_PRECISION)
    write(report, out / PARITY)
    log.info("int8 parity with PyTorch: label agreement %.5f, mIoU change %+.2f points",
             report["worst"]["label_agreement"], 100 * report["worst"].get("miou_change", 0.0))
    check(report)
    return {"precision": "int8", "quantization": asdict(choice)}


def _shown(checkpoint: Path) -> str:
    """The checkpoint as the manifest names it, never by this machine's paths: relative to the SDK for its own
    weights, by its folder's name for others (the weights' sha256 beside it identifies them)."""
    resolved = checkpoint.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else resolved.name


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("rapid-edge-sdk")
