"""Run inside a loopback-only namespace: write the model repository (the network as a Python model, since the
server at hand has only the Python backend), serve it with PyTriton's Triton server, and label the real scan
and the VLP-16 capture through it two ways: Pipeline(runtime="triton") (pre/postprocessing here, the network
there) and the repository's own `rapid_seg` model (points in, labels out). Writes the labels for the test."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(out: str, env: str, *sources: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import tritonclient.http as http
    from triton_server import serve

    import sensors
    from sdk.apps.triton_repository import PIPELINE, write_repository
    from runtimes.package import load_package
    from sdk import ModelOptions, Pipeline
    from sdk.shipped import shipped_package

    out_dir = Path(out)
    repository = out_dir / "repository"
    write_repository(load_package(shipped_package("rapid_seg")), repository, network_backend="python", python_env=env)
    frames = [frame for source in sources for frame in sensors.open(source)]
    arrays = {}
    with serve(repository, Path(env), log=out_dir / "server.log") as url:
        with Pipeline("rapid_seg", "triton", model=ModelOptions(url=url)) as pipeline:
            for i, frame in enumerate(frames):
                arrays[f"pipeline/{i}"] = pipeline(frame).labels
        client = http.InferenceServerClient(url)
        for i, frame in enumerate(frames):
            points = http.InferInput("POINTS", list(frame.points.shape), "FP32")
            points.set_data_from_numpy(frame.points)
            inputs = [points]
            if frame.ring is not None:
                ring = http.InferInput("RING", [len(frame)], "INT16")
                ring.set_data_from_numpy(frame.ring)
                inputs.append(ring)
            arrays[f"model/{i}"] = client.infer(PIPELINE, inputs).as_numpy("LABELS")
        bad = http.InferInput("POINTS", [3, 4], "FP32")
        bad.set_data_from_numpy(np.full((3, 4), np.nan, np.float32))
        try:
            client.infer(PIPELINE, [bad])
            arrays["bad_request"] = np.array("answered")
        except Exception as err:  # the server answers a bad request with its error and goes on serving
            arrays["bad_request"] = np.array(str(err))
        arrays["alive_after_bad_request"] = np.array(client.is_model_ready(PIPELINE))
    np.savez(out_dir / "labels.npz", **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
