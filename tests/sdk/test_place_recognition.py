"""Place recognition through Pipeline("bebr", describe=ScanContext()): Scan Context bins, and a revisit of a
simulated street found in an index of its first pass."""
from __future__ import annotations

import numpy as np
import pytest

import sensors
from runtimes.bebr_index import BinaryIndex, IndexInfo
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from sdk.retrieval.place_recognition import ScanContext, place_recall, revisit_pairs, simulated_revisit
from sdk.retrieval.steps import BinarizerInfo, encode_all


def frame_of(points) -> sensors.Frame:
    return sensors.Frame(np.asarray(points, dtype=np.float32), timestamp=0.0, sensor="test")


def test_scan_context_keeps_the_highest_point_of_each_bin():
    describe = ScanContext(rings=4, sectors=8, max_range=40.0, height_offset=2.0)
    grid = describe(frame_of([[5.0, 0.1, 1.0, 0.5], [5.5, 0.2, -1.0, 0.5], [-30.0, -1.0, 3.0, 0.5], [100.0, 0, 9, 0.5]]))
    assert grid.shape == (32,) and grid.dtype == np.float32
    # x = 5 m ahead: ring 0, the sector just past azimuth 0 (sectors count from -pi); the higher point wins
    assert grid.reshape(4, 8)[0, 4] == pytest.approx(3.0)
    # 30 m behind: ring 3, the first sector
    assert grid.reshape(4, 8)[3, 0] == pytest.approx(5.0)
    assert np.count_nonzero(grid) == 2  # the point beyond 40 m is left out
    with pytest.raises(ValueError, match="no point within"):
        describe(frame_of([[100.0, 0.0, 0.0, 0.5]]))


@pytest.mark.slow
def test_a_revisit_finds_its_place_in_the_mapped_pass(tmp_path):
    from sdk import Pipeline, SearchOptions
    from sdk.retrieval.exporting import export_binarizer
    from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
    from sdk.retrieval.training import train_binarizer

    describe = ScanContext()
    data = TrainingData(*revisit_pairs([101], frames=80, describe=describe))
    config = BinarizerConfig(dim=describe.dim, bits=128, planes=2, hidden=128, dropout=0.0)
    train_binarizer(data, tmp_path / "checkpoint", config, BinarizerTraining(epochs=12, batch_size=40, hard_negatives=4),
                    progress=False)
    package = export_binarizer(tmp_path / "checkpoint", tmp_path / "package", parity_embeddings=data.queries)
    info = BinarizerInfo.of(package)
    mapped, revisits = simulated_revisit(7, 40)
    with OnnxRuntimeRunner(package) as runner:
        codes, norms = encode_all(runner, np.stack([describe(f) for f in mapped]), info.dim)
    index = BinaryIndex(IndexInfo(info.layout, info.code_version), codes, norms)
    with Pipeline("bebr", "onnxruntime-cpu", package.folder, search=SearchOptions(index=index, k=1, describe=describe)) as pipeline:
        results = list(pipeline.run(revisits))
    assert len(results) == 40 and "describe" in results[0].timings
    found = np.array([r.ids[0] for r in results])
    assert place_recall(found, revisits, mapped) >= 0.8
