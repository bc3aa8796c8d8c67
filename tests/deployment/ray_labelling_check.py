"""Run inside a loopback-only namespace: the labelling job on Ray Data (a local Ray with 1 and 2 actors, and
a two-node cluster on this machine with one actor per node) and RapidSegPredictor in a pipeline of the
caller's own; writes what happened as JSON for the test."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def main(archive: str, out: str) -> None:
    import ray
    import ray.data
    from ray.cluster_utils import Cluster

    from sdk import label_files
    from sdk.apps.ray import LOOPBACK, RapidSegPredictor, ship_package

    out_dir = Path(out)
    report = {}
    for actors in (1, 2):
        report[f"actors_{actors}"] = label_files([archive], out_dir / f"actors_{actors}", "parquet", engine="ray",
                                                 actors=actors)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "node_ip_address": LOOPBACK,
                                                            "include_dashboard": False})
    cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        report["cluster_nodes"] = len([n for n in ray.nodes() if n["Alive"]])
        # 0.75 CPU each on nodes of 1 CPU: the two actors cannot share a node, whatever the scheduler prefers
        report["cluster"] = label_files([archive], out_dir / "cluster", "parquet", engine="ray", actors=2,
                                        cpus_per_actor=0.75, address=cluster.address, spread=True)
        shipped, _ = ship_package(None)
        files = sorted(str(p) for p in Path(archive).rglob("*.bin"))
        rows = ray.data.from_items([{"path": f} for f in files]).map_batches(
            RapidSegPredictor, batch_size=1, compute=ray.data.ActorPoolStrategy(size=1), num_cpus=0.5,
            fn_constructor_kwargs={"package": shipped}).take_all()
        report["predictor"] = [{"path": r["path"], "frame": int(r["frame"]), "points": int(r["points"]),
                                "labels": np.asarray(r["labels"]).tolist()} for r in rows]
    finally:
        ray.shutdown()
        cluster.shutdown()
    (out_dir / "report.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(*sys.argv[1:])
