"""The labelling job on Ray Data, and its public building block.

`RapidSegPredictor` is a callable class for `Dataset.map_batches`: each actor opens one Pipeline (seconds:
never per task) from a model package shipped from the driver through the object store, reads the files it
is given itself (never a whole pcap through the object store) and returns one row per frame (path, frame,
points, uint8 labels, float16 scores). `label_on_ray` runs `sdk.label_files(engine="ray")` with it: one row
per file, outputs written by the actors exactly as the local engine writes them.

A Ray the SDK starts stays on loopback (the node address is 127.0.0.1). Actors take a fraction of a CPU by
default: two actors of one CPU each on a 2-CPU node leave nothing for Ray's read tasks and the job hangs."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from sdk.apps.label_units import OutputSpec, Unit, UnitResult, label_frames, label_unit, result_dict

LOOPBACK = "127.0.0.1"
DEFAULT_CPUS_PER_ACTOR = 0.5


def ship_package(package: str | Path | None):
    """The package (default: the shipped one) as an object-store reference to its files, and its folder."""
    import ray

    from runtimes.package import MANIFEST, load_package

    from sdk.shipped import shipped_package

    loaded = load_package(package if package is not None else shipped_package("rapid_seg"))
    files = {name: (loaded.folder / name).read_bytes() for name in (*loaded.manifest.files, MANIFEST)}
    return ray.put(files), str(loaded.folder)


def unpack_package(files: dict[str, bytes]) -> Path:
    """The shipped files in a folder of this actor's own; loading it checks every sha256 again."""
    folder = Path(tempfile.mkdtemp(prefix="rapid-edge-package-"))
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


class RapidSegPredictor:
    """map_batches(RapidSegPredictor, fn_constructor_kwargs={"package": ref}, ...) over rows with a `path`
    column: one row out per frame of each file."""

    def __init__(self, package, runtime: str = "onnxruntime-cpu", threads: int | None = 1) -> None:
        import ray

        from sdk.options import ModelOptions
        from sdk.pipeline import Pipeline

        files = ray.get(package) if isinstance(package, ray.ObjectRef) else package
        folder = unpack_package(files) if isinstance(files, dict) else Path(files)
        self.pipeline = Pipeline("rapid_seg", runtime, folder, model=ModelOptions(threads=threads))
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows: dict[str, list] = {"path": [], "frame": [], "points": [], "labels": [], "scores": []}
        for path in batch["path"]:
            for result in label_frames(self.pipeline, Path(path)):
                rows["path"].append(str(path))
                rows["frame"].append(result.index)
                rows["points"].append(len(result.labels))
                rows["labels"].append(result.labels.astype(np.uint8))
                rows["scores"].append(result.scores.astype(np.float16))
        return rows


class UnitLabeller(RapidSegPredictor):
    """The job's actor: each row a unit, labelled and written like the local engine; out, one summary row."""

    def __init__(self, package, runtime: str, out: str, spec: OutputSpec, threads: int | None) -> None:
        super().__init__(package, runtime, threads)
        self.out, self.spec = Path(out), spec

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = []
        for path, key in zip(batch["path"], batch["key"]):
            result = label_unit(self.pipeline, Unit(Path(path), str(key)), self.out, self.spec)
            result.node = self.node
            rows.append(result_dict(result))
        return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}


def connect(address: str | None) -> bool:
    """Join `address` (auto: a running cluster; HOST:PORT) or start a local Ray on loopback; True if started here."""
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        ray.init(_node_ip_address=LOOPBACK, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


def label_on_ray(units: list[Unit], out: Path, spec: OutputSpec, runtime: str, package,
                 address: str | None = None, actors: int = 1, cpus_per_actor: float = DEFAULT_CPUS_PER_ACTOR,
                 spread: bool = False) -> tuple[list[UnitResult], str, float]:
    """One Ray Data row per unit through `actors` UnitLabeller actors; `spread` asks for one per node. Returns
    the results, the package folder and the cores the actors compute on (each runs its threads, at least one,
    whatever fraction of a CPU Ray reserved for it)."""
    import json

    import ray
    import ray.data

    if actors < 1 or cpus_per_actor <= 0:
        raise ValueError(f"actors ({actors}) must be >= 1 and cpus_per_actor ({cpus_per_actor}) > 0")
    threads = max(1, int(cpus_per_actor))
    started = connect(address)
    try:
        shipped, folder = ship_package(package)
        if not units:
            return [], folder, actors * threads
        runtime = "onnxruntime-cpu" if runtime == "auto" and not ray.available_resources().get("GPU") else runtime
        dataset = ray.data.from_items([{"path": str(u.path), "key": u.key} for u in units], override_num_blocks=len(units))
        # Ray 2.60 takes the strategy only through ray_remote_args_fn (deprecated for 2.64; no named parameter yet)
        options = {"ray_remote_args_fn": lambda: {"scheduling_strategy": "SPREAD"}} if spread else {}
        labelled = dataset.map_batches(
            UnitLabeller, batch_size=1, compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=cpus_per_actor,
            fn_constructor_kwargs={"package": shipped, "runtime": runtime, "out": str(out), "spec": spec,
                                   "threads": threads}, **options)
        rows = labelled.take_all()
    finally:
        if started:
            ray.shutdown()
    results = [UnitResult(path=r["path"], frames=int(r["frames"]), seconds=float(r["seconds"]), error=r["error"],
                          timings=json.loads(r["timings"]), node=r["node"]) for r in rows]
    return sorted(results, key=lambda r: r.path), folder, actors * threads
