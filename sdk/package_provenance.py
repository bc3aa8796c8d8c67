"""What a rapid_seg package was built from: the weights' sha256 and a digest of the code that decides the
graph. A package whose record differs from the current weights and code is stale (the shipped one is
checked in the suite; the cache keys its exports by the same record)."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from runtimes.package import Package, sha256

ROOT = Path(__file__).resolve().parent.parent
#: the modules whose code decides what an exported rapid_seg graph contains
GRAPH_SOURCES = ("sdk/models/rapid_seg.py", "sdk/models/rapid_seg_config.py", "sdk/models/interface.py",
                 "sdk/models/autoencoder.py", "sdk/models/backbone.py", "sdk/models/fusion.py", "sdk/models/head.py",
                 "sdk/exporting.py", "export/onnx_graph.py", "export/opset.py", "export/rapid_op",
                 "runtimes/ops/rapid_spec.py", "runtimes/ops/nodes.py")
WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class BuildRecord:
    weights_sha256: str
    graph_source_sha256: str

    @classmethod
    def of(cls, checkpoint: Path) -> BuildRecord:
        """The record a package exported now from `checkpoint` carries."""
        return cls(sha256(Path(checkpoint) / WEIGHTS), graph_source_digest())

    @classmethod
    def in_package(cls, package: Package) -> BuildRecord | None:
        recorded = package.manifest.get("built_from")
        return cls(**recorded) if recorded else None

    def key(self) -> str:
        return f"{self.weights_sha256[:16]}-{self.graph_source_sha256[:8]}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def graph_source_digest() -> str:
    """sha256 over the source files of GRAPH_SOURCES, in a fixed order."""
    digest = hashlib.sha256()
    for entry in GRAPH_SOURCES:
        path = ROOT / entry
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(source.relative_to(ROOT)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()
