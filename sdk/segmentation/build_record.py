"""What a segmentation package was built from, computed so that it cannot drift from the code: the weights'
sha256 and a sha256 over every module of the SDK that the exporter imports, directly or through others (its
static import closure, imports inside functions included, read from the sources by grimp), and for a network
of your own the files that define its layers. A package whose record differs from the current weights and
code is stale: the shipped one is checked in the suite, and the cache keys its exports by the same record."""
from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from runtimes.package import Package, sha256

from sdk.checkpoint import WEIGHTS

ROOT = Path(__file__).resolve().parents[2]
SDK_PACKAGES = ("sdk", "export", "runtimes", "sensors")
#: the module whose functions export rapid_seg (the closure of a network of your own starts at USER_EXPORTER)
EXPORTER = "sdk.segmentation.exporting"
USER_EXPORTER = "sdk.segmentation.user_model"


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
        recorded = package.manifest.built_from
        return cls(**recorded) if recorded else None

    def key(self) -> str:
        return f"{self.weights_sha256[:16]}-{self.graph_source_sha256[:8]}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@functools.cache
def exporter_modules(exporter: str = EXPORTER) -> tuple[str, ...]:
    """`exporter` and every module of the SDK it imports, directly or not, by name."""
    import grimp

    graph = grimp.build_graph(*SDK_PACKAGES, cache_dir=None)
    return tuple(sorted({exporter, *graph.find_upstream_modules(exporter)}))


def module_file(module: str, root: Path = ROOT) -> Path:
    path = root / module.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def graph_source_digest(exporter: str = EXPORTER, root: Path | None = None) -> str:
    """sha256 over the files of exporter_modules(exporter), each with its path, in name order."""
    root = root or ROOT
    return files_digest((module_file(m, root) for m in exporter_modules(exporter)), root)


def network_source_digest(network) -> str:
    """sha256 over the files defining the classes of `network`'s modules that are not PyTorch's own: the layers
    of a third-party network behind a small factory count, not only the factory's file."""
    files = {Path(inspect.getsourcefile(type(module))).resolve() for module in network.modules()
             if not type(module).__module__.startswith("torch.")}
    return files_digest(sorted(files), None)


def files_digest(files: Iterable[Path], root: Path | None) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root) if root else path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
