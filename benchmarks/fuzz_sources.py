"""A fuzz campaign over `sensors.open`: mutated copies of real captures and files (bit flips, overwritten and
deleted runs of bytes, truncation, duplicated blocks) opened and read to the end, each in a worker with a
time limit. A crash is any exception but the SDK's own SourceError; a hang is a case over the limit. Writes
benchmarks/results/fuzz_sources.json (counts per seed and mutation, and the first examples of each crash).

    python benchmarks/fuzz_sources.py [--cases 100000] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from machine import describe_machine
from shared_data import DATA  # benchmarks/ is on the path

REPO = Path(__file__).resolve().parent.parent
#: seed name -> (file in the shared data, suffix the mutant keeps, bytes of it kept: small seeds fuzz faster)
SEEDS = {"kitti_bin": ("kitti_object_000008/000008.bin", ".bin", 16 * 2000),
         "nuscenes_bin": ("nuscenes/samples/LIDAR_TOP/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin",
                          ".pcd.bin", 20 * 2000),
         "velodyne_pcap": ("velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap", ".pcap", 24 + 40 * 1264),
         "pcd": ("ros2/velodyne_vlp16/1673400472138016708.pcd", ".pcd", None),
         "calibration_json": ("kitti_object_000008/calibration.json", ".json", None)}
MUTATIONS = ("flip_bits", "overwrite_run", "delete_run", "truncate", "duplicate_block", "insert_random")
CASE_TIMEOUT_S = 10.0


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    n = max(len(buffer), 1)
    if kind == "flip_bits":
        for _ in range(rng.randint(1, 16)):
            i = rng.randrange(n)
            if i < len(buffer):
                buffer[i] ^= 1 << rng.randrange(8)
    elif kind == "overwrite_run":
        start = rng.randrange(n)
        buffer[start:start + rng.randint(1, 64)] = bytes(rng.choice((0, 0xFF, rng.randrange(256))) for _ in range(rng.randint(1, 64)))
    elif kind == "delete_run":
        start = rng.randrange(n)
        del buffer[start:start + rng.randint(1, 256)]
    elif kind == "truncate":
        del buffer[rng.randrange(n):]
    elif kind == "duplicate_block":
        start = rng.randrange(n)
        block = buffer[start:start + rng.randint(1, 2048)]
        at = rng.randrange(n)
        buffer[at:at] = block
    else:
        at = rng.randrange(n)
        buffer[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(buffer)


def run_case(args: tuple[str, str, int, str]) -> tuple[str, str, str, int, str | None]:
    """Open and read one mutant; returns (seed, mutation, outcome, frames, crash text)."""
    import sensors

    seed, kind, number, path = args
    frames = 0
    try:
        with sensors.open(path) as source:
            for _ in source:
                frames += 1
        return seed, kind, "read", frames, None
    except sensors.SourceError:
        return seed, kind, "refused", frames, None
    except Exception as err:  # anything but the SDK's own error is a crash
        return seed, kind, "crash", frames, f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=4)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "fuzz_sources.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    originals = {}
    for name, (relative, suffix, keep) in SEEDS.items():
        content = (DATA / relative).read_bytes()
        originals[name] = (content[:keep] if keep else content, suffix)
    counts: Counter[tuple[str, str, str]] = Counter()
    frames: Counter[str] = Counter()
    crashes: dict[str, str] = {}
    hangs = 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work, multiprocessing.get_context("spawn").Pool(args.workers, maxtasksperchild=2000) as pool:
        batch = 1000
        for first in range(0, args.cases, batch):
            cases = []
            for number in range(first, min(first + batch, args.cases)):
                name = rng.choice(list(originals))
                kind = rng.choice(MUTATIONS)
                content, suffix = originals[name]
                path = Path(work) / f"case_{number % (2 * batch)}{suffix}"
                path.write_bytes(mutate(content, kind, rng))
                if suffix == ".json":  # a calibration file names its sweep and images beside it
                    for extra in ("000008.bin", "000008.png"):
                        if not (Path(work) / extra).exists():
                            (Path(work) / extra).symlink_to(DATA / "kitti_object_000008" / extra)
                cases.append((name, kind, number, str(path)))
            pending = [(case, pool.apply_async(run_case, (case,))) for case in cases]
            for case, result in pending:
                try:
                    seed, kind, outcome, read, crash = result.get(timeout=CASE_TIMEOUT_S)
                except multiprocessing.TimeoutError:
                    hangs += 1
                    counts[(case[0], case[1], "hang")] += 1
                    continue
                counts[(seed, kind, outcome)] += 1
                frames[seed] += read
                if crash is not None:
                    crashes.setdefault(crash.splitlines()[0][:200], crash)
            print(f"{min(first + batch, args.cases)} cases, {sum(c for k, c in counts.items() if k[2] == 'crash')} crashes, "
                  f"{hangs} hangs", flush=True)
    report = {"cases": args.cases, "seconds": round(time.perf_counter() - start, 1), "random_seed": args.seed,
              "seeds": {name: {"file": relative, "bytes_kept": keep} for name, (relative, _, keep) in SEEDS.items()},
              "outcomes": {outcome: sum(c for k, c in counts.items() if k[2] == outcome) for outcome in ("read", "refused", "crash", "hang")},
              "by_seed_and_mutation": {f"{s}/{m}/{o}": c for (s, m, o), c in sorted(counts.items())},
              "frames_yielded": dict(frames), "distinct_crashes": list(crashes.values())[:20],
              "machine": describe_machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["outcomes"]))


if __name__ == "__main__":
    main()
