"""Your own range-view segmentation network through the SDK's export, parity report, package and runtimes.

    rapid-edge export --model mypackage.nets:build --checkpoint W.safetensors --config C.json --out pkg/
    sdk.export_user_model("mypackage.nets:build", "W.safetensors", "C.json", "split", "pkg/")

`--model` names a factory, `module:function` (importable) or `path/to/file.py:function`. C.json holds the
factory's keyword arguments and the network's contract (docs/own_model.md):

    {"arguments": {"width": 32}, "contract": {"rows": 64, "columns": 2048, "rapid": true, "output": "pixel_logits"}}

The contract says what the network is fed and gives back. Every network gets the SDK's range image
`image` [1, 4, rows, columns] (x, y, z, intensity of the nearest point per pixel, zeros where empty);
with `"rapid": true` (or RAPiD settings) also the RAPiD features [1, k_max, rows, columns], which the SDK
computes before the graph (split form) or inside it (portable, plugin). `"output": "pixel_logits"`: the
network is `forward(image[, rapid]) -> [1, classes, rows, columns]` and the SDK gathers each point's pixel
in the graph; `"point_logits"`: `forward(image, pixel, points[, rapid]) -> [points, classes]`, with
`pixel` [points] (row * columns + column of each point) and `points` [points, 4]. classes = the label
set's training classes (19 for SemanticKITTI); labels are argmax + 1, as for rapid_seg."""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from export.opset import DEFAULT_OPSET
from export.parity import ParityThresholds
from runtimes.ops.nodes import DOMAIN
from runtimes.ops.rapid_spec import RapidConfig
from runtimes.package import Package, sha256
from sensors import Frame
from sensors.labels import LABEL_SETS, SEMANTIC_KITTI

from sdk.segmentation.exporting import RAPID_FORM, PointProfile, check_request, export_network
from sdk.segmentation.models.interface import RAPID_FORMS, NetworkInterface, rapid_in_graph
from sdk.segmentation.models.rapid_seg_config import SHIPPED_RAPID
from sdk.segmentation.build_record import USER_EXPORTER, graph_source_digest, network_source_digest
from sdk.segmentation.steps import RapidSegSteps
from sdk.segmentation.training.data import NO_AUGMENTATION, Augmentation, Sample, make_sample

log = logging.getLogger("export")
OUTPUTS = ("pixel_logits", "point_logits")


class ModelSpecError(ValueError):
    """A factory, checkpoint or config that cannot make the network it names."""


@dataclass(frozen=True)
class ModelContract:
    """What the SDK feeds the network and reads back (the module docstring has the full contract)."""

    rows: int = 64
    columns: int = 2048
    #: False: no RAPiD features; True: the shipped model's settings (frozen statistics); a dict: RapidConfig's fields
    rapid: bool | dict = False
    output: str = "pixel_logits"
    label_set: str = SEMANTIC_KITTI.name

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ModelSpecError(f"contract output {self.output!r}: choose {' or '.join(OUTPUTS)}")
        if self.label_set not in LABEL_SETS:
            raise ModelSpecError(f"contract label_set {self.label_set!r}: choose one of {', '.join(LABEL_SETS)}")
        if not (isinstance(self.rows, int) and isinstance(self.columns, int) and self.rows > 0 and self.columns > 0):
            raise ModelSpecError(f"contract rows and columns must be positive integers, not {self.rows!r} x {self.columns!r}")

    @classmethod
    def from_dict(cls, data: dict) -> ModelContract:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ModelSpecError(f"unknown contract keys {sorted(unknown)}; known: {', '.join(f.name for f in fields(cls))}")
        return cls(**data)

    def rapid_config(self) -> RapidConfig | None:
        if self.rapid is False:
            return None
        if self.rapid is True:
            return SHIPPED_RAPID
        try:
            return RapidConfig.from_dict(self.rapid)
        except (KeyError, TypeError) as error:
            raise ModelSpecError(f"contract rapid: not RAPiD settings ({error})") from None

    def interface(self) -> NetworkInterface:
        return NetworkInterface(self.rows, self.columns, LABEL_SETS[self.label_set], self.rapid_config(),
                                reads_points=self.output == "point_logits")

    def make_sample(self, frame: Frame, rng: np.random.Generator | None = None,
                    augmentation: Augmentation | None = None) -> Sample:
        """A training sample of `frame` exactly as the deployed package's preprocessing projects it: the
        contract's rows and columns (the sensor's own table when it fits), its RAPiD settings or none."""
        rapid = self.rapid_config()
        frame, geometry = RapidSegSteps(self.rows, self.columns, rapid, LABEL_SETS[self.label_set]).geometry(frame)
        return make_sample(frame, rapid, rng, augmentation or NO_AUGMENTATION, geometry)


@dataclass(frozen=True)
class ModelConfig:
    """C.json: the factory's keyword arguments and the contract."""

    arguments: dict = field(default_factory=dict)
    contract: ModelContract = ModelContract()

    @classmethod
    def read(cls, path: Path) -> ModelConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ModelSpecError(f"{path}: not a readable JSON config ({error})") from None
        unknown = set(data) - {"arguments", "contract"} if isinstance(data, dict) else {"(not an object)"}
        if unknown:
            raise ModelSpecError(f"{path}: unknown keys {sorted(unknown)}; a config holds 'arguments' and 'contract'")
        return cls(dict(data.get("arguments", {})), ModelContract.from_dict(data.get("contract", {})))

    def to_dict(self) -> dict:
        return {"arguments": self.arguments, "contract": asdict(self.contract)}


def load_factory(spec: str) -> Callable:
    """`module:function` or `file.py:function` -> the function."""
    module_name, _, function = spec.rpartition(":")
    if not module_name or not function:
        raise ModelSpecError(f"--model {spec!r}: expected MODULE:FUNCTION or FILE.py:FUNCTION")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ModelSpecError(f"--model {spec!r}: {path} is not a file")
            loader = importlib.util.spec_from_file_location(f"rapid_edge_user_model.{path.stem}", path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[loader.name] = module  # where inspect, pickle-free tracing and tracebacks find its source
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise ModelSpecError(f"--model {spec!r}: cannot import {module_name} ({error})") from None
    factory = getattr(module, function, None)
    if not callable(factory):
        raise ModelSpecError(f"--model {spec!r}: {module_name} has no function {function!r}")
    return factory


def shown_factory(spec: str) -> str:
    """`dir/net.py:build` as `net.py:build`; `module:function` as it is."""
    module_name, _, function = spec.rpartition(":")
    return f"{Path(module_name).name}:{function}" if module_name.endswith(".py") else spec


def build_network(spec: str, checkpoint: Path, config: ModelConfig, rapid_form: str = "input"):
    """The user's network with its weights (safetensors, no unpickling), wrapped in the SDK's interface."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    network = load_factory(spec)(**config.arguments)
    if not isinstance(network, torch.nn.Module):
        raise ModelSpecError(f"--model {spec!r} returned {type(network).__name__}, not a torch.nn.Module")
    try:
        state = load_file(str(checkpoint))
    except (OSError, SafetensorError) as error:
        raise ModelSpecError(f"{checkpoint}: not a readable safetensors file ({error})") from None
    missing, unexpected = network.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelSpecError(f"{checkpoint}: does not fit {spec} (missing {missing[:5]}, unexpected {unexpected[:5]})")
    return wrap(network, config.contract, rapid_form).eval()


def wrap(network, contract: ModelContract, rapid_form: str = "input"):
    """`network` in the package interface: (image, pixel, points[, rapid]) for per-point logits, (image, pixel
    [, rapid]) for per-pixel ones, which are gathered at each point's pixel in the graph. The classes are made
    here so that importing the SDK needs no torch; the graph's inputs are named by these signatures."""
    from torch import nn

    if rapid_form not in RAPID_FORMS:
        raise ValueError(f"rapid_form must be one of {RAPID_FORMS}")
    interface = contract.interface()

    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network
            self.interface = interface

        def features(self, image, rapid):
            """() without RAPiD; the fed features (split form); else computed in the graph."""
            if interface.rapid is None:
                return ()
            return (rapid if rapid is not None else rapid_in_graph(image, interface.rapid, rapid_form),)

    class PointLogits(Wrapped):
        def forward(self, image, pixel, points, rapid=None):
            return self.network(image, pixel, points, *self.features(image, rapid))

    class PixelLogits(Wrapped):
        def forward(self, image, pixel, rapid=None):
            logits = self.network(image, *self.features(image, rapid))  # [1, classes, rows, columns]
            return logits.flatten(2)[0].index_select(1, pixel).transpose(0, 1)

    return PointLogits() if interface.reads_points else PixelLogits()


def export_user_model(factory: str, checkpoint: Path, config: Path, form: str, out: Path,
                      opset: int = DEFAULT_OPSET, profile: PointProfile = PointProfile(),
                      thresholds: ParityThresholds = ParityThresholds(), real_scan: Path | None = None,
                      sim_frames: int = 2, calibration_frames: int = 0, plugin_domain: str = DOMAIN,
                      precision: str = "fp32") -> Package:
    """The rapid_seg export for a network of your own: same package format, parity report and runtimes."""
    check_request(form, opset, plugin_domain, precision)
    checkpoint, settings = Path(checkpoint), ModelConfig.read(config)
    if not checkpoint.is_file():
        raise ModelSpecError(f"{checkpoint}: no such checkpoint (a .safetensors file)")
    model = build_network(factory, checkpoint, settings, RAPID_FORM[form])
    log.info("[1/4] built %s from %s (%d parameters), form %s", factory, checkpoint,
             sum(p.numel() for p in model.parameters()), form)
    shown = shown_factory(factory)  # names, not this machine's paths: the package travels
    identity = {"model": {"name": shown, "factory": shown, "checkpoint": checkpoint.name},
                "built_from": {"weights_sha256": sha256(checkpoint),
                               "network_source_sha256": network_source_digest(model.network),
                               "sdk_graph_source_sha256": graph_source_digest(USER_EXPORTER)},
                "model_config": settings.to_dict()}
    return export_network(model, identity, form, out, opset, profile, thresholds, real_scan, sim_frames,
                          calibration_frames, plugin_domain, precision)
