"""A trained BEBR binarizer to a model package: embeddings [queries, dim] in, codes int32 [queries, W] and
norms float32 [queries] out, packed in the graph as runtimes/ops/bebr_spec.py lays them out. Batch norms are
folded into the Linear before them and the sign is a comparison (never ONNX Sign, whose sign(0) is 0). The
search runs outside the graph (form `split`), on the index, by whichever form of rapid::BinarySearch fits
the machine; the parity report compares the package with PyTorch on held-out embeddings."""
from __future__ import annotations

import json
import logging
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from export.code_parity import CodeParityThresholds, check_codes_parity, compare_codes
from export.onnx_graph import clean, export_module
from export.opset import DEFAULT_OPSET
from runtimes.manifest import TensorSpec
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.ops.nodes import QUERIES
from runtimes.package import MANIFEST, MODEL, PARITY, Package, load_package, sha256, write_manifest
from runtimes.torch_runner import TorchRunner

from sdk.checkpoint import WEIGHTS
from sdk.retrieval.binarizer import Binarizer, fold_batch_norm
from sdk.retrieval.training import load_binarizer, read_training_record

log = logging.getLogger("export")
FORM = "split"


@dataclass(frozen=True)
class QueryProfile:
    """Query batch sizes the engine is built for: one at a time up to large offline batches."""

    min: int = 1
    opt: int = 16
    max: int = 4096


class Encoder(torch.nn.Module):
    """The graph: embeddings -> (codes, norms)."""

    def __init__(self, binarizer: Binarizer) -> None:
        super().__init__()
        self.binarizer = binarizer

    def forward(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.binarizer.encode(embeddings)


def tensor_specs(binarizer: Binarizer) -> tuple[list[TensorSpec], list[TensorSpec]]:
    c = binarizer.config
    return ([TensorSpec("embeddings", "float32", [QUERIES, c.dim])],
            [TensorSpec("codes", "int32", [QUERIES, c.layout.words]), TensorSpec("norms", "float32", [QUERIES])])


def export_binarizer(checkpoint: Path, out: Path, parity_embeddings: np.ndarray | None = None,
                     opset: int = DEFAULT_OPSET, profile: QueryProfile = QueryProfile(),
                     thresholds: CodeParityThresholds = CodeParityThresholds()) -> Package:
    """Write the package to `out`. `parity_embeddings` [N, dim]: the vectors of the parity report (default:
    2048 random unit vectors, seeded)."""
    import onnx

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / MANIFEST, out / MODEL, out / PARITY):
        stale.unlink(missing_ok=True)
    binarizer = load_binarizer(checkpoint)
    record = read_training_record(checkpoint)
    inputs, outputs = tensor_specs(binarizer)
    folded = Encoder(fold_batch_norm(binarizer)).eval()
    example = torch.randn(4, binarizer.config.dim, generator=torch.Generator().manual_seed(0))
    queries = torch.export.Dim(QUERIES, min=profile.min, max=profile.max)
    path = out / MODEL
    exported = export_module(folded, (example,), path, [s.name for s in inputs], [s.name for s in outputs],
                             {"embeddings": {0: queries}}, opset)
    cleaned = clean(exported, path, allow_plugin=False)
    log.info("binarizer graph: %d nodes", len(cleaned.graph.node))

    if parity_embeddings is None:
        parity_embeddings = np.random.default_rng(0).standard_normal((2048, binarizer.config.dim)).astype(np.float32)
    cases = [(f"{len(batch)} embeddings", {"embeddings": np.ascontiguousarray(batch, dtype=np.float32)})
             for batch in np.array_split(parity_embeddings, max(1, len(parity_embeddings) // profile.max + 1))]
    report = compare_codes(TorchRunner(Encoder(binarizer).eval(), inputs, outputs),
                           OnnxRuntimeRunner(path, providers=["CPUExecutionProvider"]), cases, thresholds)
    (out / PARITY).write_text(json.dumps(report, indent=2) + "\n")
    log.info("parity with PyTorch: bit agreement %.6f, identical codes %.4f", report["worst"]["bit_agreement"],
             report["worst"]["identical_codes"])
    check_codes_parity(report)
    config = binarizer.config
    write_manifest(out, {
        "model": {"name": "bebr", "version": _sdk_version(), "checkpoint": Path(checkpoint).name,
                  "weights_sha256": sha256(Path(checkpoint) / WEIGHTS)},
        "form": FORM, "opset": opset, "custom_ops": [],
        "inputs": [asdict(s) for s in inputs], "outputs": [asdict(s) for s in outputs],
        "profiles": {QUERIES: asdict(profile)},
        "preprocessing": {"embeddings": {"dim": config.dim, "normalised_in_graph": True}},
        "bebr": {"layout": {"bits": config.bits, "planes": config.planes}, "code_version": record["code_version"],
                 "compatible_with": record.get("compatible_with", [])},
        "model_config": json.loads(config.to_json()),
        "training": record.get("training", {}),
        "producer": {"torch": torch.__version__, "onnx": onnx.__version__, "python": platform.python_version()},
    })
    return load_package(out)


def _sdk_version() -> str:
    from importlib.metadata import version

    return version("rapid-edge-sdk")
