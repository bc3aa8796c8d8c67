"""BEBR's binarizer: the straight-through sign, codes as the spec packs them, training in both modes, resume,
backward-compatible training, and export to a package whose graph matches PyTorch."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from safetensors.torch import load_file

from export.graph_checks import tensorrt_problems
from runtimes.embeddings import EmbeddingError
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.ops.bebr_numba import binary_search_numba
from runtimes.ops.bebr_spec import CodeLayout, code_norms, pack_signs
from sdk.retrieval.binarizer import Binarizer, SignSTE, fold_batch_norm
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.retrieval.training import load_binarizer, read_code_version, train_binarizer

from bebr_data import synthetic_pairs

CONFIG = BinarizerConfig(dim=32, bits=64, planes=2, hidden=64, dropout=0.0)
FAST = BinarizerTraining(epochs=6, batch_size=256, learning_rate=5e-3, hard_negatives=4)


def codes_of(model: Binarizer, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        codes, norms = model.encode(torch.from_numpy(vectors))
    return codes.numpy(), norms.numpy()


def recall_at_1(query_model: Binarizer, doc_model: Binarizer, queries: np.ndarray, docs: np.ndarray) -> float:
    _, indices = binary_search_numba(*codes_of(query_model, queries), *codes_of(doc_model, docs), doc_model.config.layout, 1)
    return float((indices[:, 0] == np.arange(len(queries))).mean())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("binarizer") / "run"
    queries, docs = synthetic_pairs(4096, seed=0)
    train_binarizer(TrainingData(queries, docs), folder, CONFIG, FAST, progress=False)
    return folder


def test_sign_is_plus_one_at_zero_and_passes_gradient_inside_unit_band():
    value = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    out = SignSTE.apply(value)
    assert out.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    out.sum().backward()
    assert value.grad.tolist() == [0, 1, 1, 1, 1, 1, 0]


def test_encode_packs_planes_as_the_spec_and_stores_their_norms():
    torch.manual_seed(0)
    model = Binarizer(BinarizerConfig(dim=16, bits=64, planes=3, hidden=32)).eval()
    vectors = torch.randn(50, 16)
    with torch.no_grad():
        planes = model(vectors).numpy()
        codes, norms = model.encode(vectors)
    layout = model.config.layout
    np.testing.assert_array_equal(codes.numpy(), pack_signs(planes, layout))
    np.testing.assert_array_equal(norms.numpy(), code_norms(codes.numpy(), layout))
    # plane 1 binarizes the residual of the decoded plane 0: changing the decoder changes plane 1 only
    with torch.no_grad():
        model.decoders[0].body[-1].bias.add_(5.0)
        changed = model(vectors).numpy()
    assert (changed[:, 0] == planes[:, 0]).all() and (changed[:, 1] != planes[:, 1]).any()


def test_training_on_pairs_learns_what_float_search_cannot(trained):
    queries, docs = synthetic_pairs(500, seed=1)
    model = load_binarizer(trained)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    float_recall = float(((unit(queries) @ unit(docs).T).argmax(axis=1) == np.arange(500)).mean())
    torch.manual_seed(0)
    untrained = Binarizer(CONFIG).eval()
    assert float_recall < 0.1 and recall_at_1(untrained, untrained, queries, docs) < 0.1
    assert recall_at_1(model, model, queries, docs) > 0.6
    record = json.loads((trained / "config.json").read_text())
    assert record["training"]["mode"] == "pairs" and len(record["training"]["history"]) == FAST.epochs
    assert set(load_file(str(trained / "model.safetensors"))) == set(model.state_dict())


def test_vectors_mode_keeps_float_neighbourhoods(tmp_path):
    rng = np.random.default_rng(2)  # vectors near a 6-d subspace: neighbourhoods that random codes keep poorly
    vectors = (rng.standard_normal((3072, 6)) @ rng.standard_normal((6, 32)) + 0.05 * rng.standard_normal((3072, 32)))
    vectors = vectors.astype(np.float32)
    config = BinarizerConfig(dim=32, bits=64, planes=1, hidden=64, dropout=0.0)
    train_binarizer(TrainingData(vectors), tmp_path / "run", config, FAST, progress=False)
    model = load_binarizer(tmp_path / "run")
    torch.manual_seed(0)
    untrained = Binarizer(config).eval()
    test = vectors[:400]
    unit = test / np.linalg.norm(test, axis=1, keepdims=True)
    exact = np.argsort(-(unit @ unit.T), axis=1, kind="stable")[:, :10]

    def overlap(m):
        _, found = binary_search_numba(*codes_of(m, test), *codes_of(m, test), config.layout, 10)
        return np.mean([len(np.intersect1d(a, b)) for a, b in zip(found, exact)]) / 10

    assert overlap(model) > overlap(untrained) + 0.05


def test_resume_continues_exactly(tmp_path):
    queries, docs = synthetic_pairs(1024, seed=3)
    data = TrainingData(queries, docs)
    settings = BinarizerTraining(epochs=2, batch_size=256, hard_negatives=4)
    train_binarizer(data, tmp_path / "straight", CONFIG, settings, progress=False)
    one = tmp_path / "one"
    train_binarizer(data, one, CONFIG, settings, progress=False, stop_after=1)
    assert len(json.loads((one / "config.json").read_text())["training"]["history"]) == 1
    train_binarizer(data, one, settings=settings, resume=True, progress=False)
    straight, resumed = load_file(str(tmp_path / "straight" / "model.safetensors")), load_file(str(one / "model.safetensors"))
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_backward_compatible_binarizer_searches_the_old_index(tmp_path, trained):
    queries, docs = synthetic_pairs(4096, seed=4)
    data = TrainingData(queries, docs)
    other = BinarizerTraining(**{**vars(FAST), "seed": 7})
    train_binarizer(data, tmp_path / "compatible", CONFIG, other, old_checkpoint=trained, progress=False)
    train_binarizer(data, tmp_path / "independent", CONFIG, other, progress=False)
    old, compatible, independent = (load_binarizer(p) for p in (trained, tmp_path / "compatible", tmp_path / "independent"))
    test_queries, test_docs = synthetic_pairs(500, seed=5)
    old_recall = recall_at_1(old, old, test_queries, test_docs)
    assert recall_at_1(compatible, old, test_queries, test_docs) > 0.8 * old_recall
    assert recall_at_1(independent, old, test_queries, test_docs) < 0.1
    record = json.loads((tmp_path / "compatible" / "config.json").read_text())
    assert record["compatible_with"] == [read_code_version(trained)]
    with pytest.raises(ValueError, match="keeps the old layout"):
        train_binarizer(data, tmp_path / "wider", BinarizerConfig(dim=32, bits=128, planes=2, hidden=64, dropout=0.0), other,
                        old_checkpoint=trained, progress=False)


def test_bad_training_data_fails_naming_the_problem(tmp_path):
    queries, docs = synthetic_pairs(600, seed=6)
    docs[5] = np.nan
    with pytest.raises(EmbeddingError, match="docs: row 5"):
        TrainingData(queries, docs)
    with pytest.raises(EmbeddingError, match="600 queries but 599 docs"):
        TrainingData(queries, queries[:599])
    with pytest.raises(ValueError, match="4 training rows are too few"):
        train_binarizer(TrainingData(queries[:4]), tmp_path / "x", CONFIG, FAST, progress=False)


def test_batch_norm_folds_into_the_linear_layers(trained):
    model = load_binarizer(trained)
    folded = fold_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    vectors = torch.from_numpy(synthetic_pairs(300, seed=8)[0])
    with torch.no_grad():
        before, after = model.encoders[0](vectors), folded.encoders[0](vectors)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_export_to_a_package_matches_pytorch(tmp_path, trained):
    from sdk.retrieval.exporting import export_binarizer

    queries, _ = synthetic_pairs(700, seed=9)
    package = export_binarizer(trained, tmp_path / "pkg", parity_embeddings=queries)
    report = json.loads((package.folder / "parity.json").read_text())
    assert report["passed"] and report["worst"]["bit_agreement"] >= 0.9999
    manifest = package.manifest
    assert manifest.model.name == "bebr" and manifest.form == "split" and manifest.label_set is None
    assert manifest.bebr.code_version == read_code_version(trained)
    assert manifest.bebr.layout == CodeLayout(CONFIG.bits, CONFIG.planes)
    graph = onnx.load(str(package.model_path))
    ops = {node.op_type for node in graph.graph.node}
    assert "BatchNormalization" not in ops and "Sign" not in ops and "GreaterOrEqual" in ops
    assert tensorrt_problems(graph) == []
    with OnnxRuntimeRunner(package, providers=["CPUExecutionProvider"]) as runner:
        out = runner.infer({"embeddings": queries[:64]})
    expected_codes, expected_norms = codes_of(load_binarizer(trained), queries[:64])
    np.testing.assert_array_equal(out["codes"], expected_codes)
    np.testing.assert_array_equal(out["norms"], expected_norms)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the binarizer's GPU training runs on an NVIDIA machine only")
def test_training_on_cuda_learns_as_on_the_cpu(tmp_path):
    queries, docs = synthetic_pairs(4096, seed=10)
    cuda = BinarizerTraining(**{**vars(FAST), "device": "cuda"})
    train_binarizer(TrainingData(queries, docs), tmp_path / "cuda", CONFIG, cuda, progress=False)
    train_binarizer(TrainingData(queries, docs), tmp_path / "cpu", CONFIG, FAST, progress=False)
    test_queries, test_docs = synthetic_pairs(500, seed=11)
    on_cuda, on_cpu = (load_binarizer(tmp_path / name) for name in ("cuda", "cpu"))  # both load on the CPU
    assert recall_at_1(on_cuda, on_cuda, test_queries, test_docs) > recall_at_1(on_cpu, on_cpu, test_queries, test_docs) - 0.1
