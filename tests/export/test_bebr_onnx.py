"""rapid::BinarySearch in PyTorch and ONNX: the portable form (standard ops, TensorRT-importable) and the
custom node, each against the NumPy reference, in eager PyTorch and in ONNX Runtime."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from export.bebr_op.custom_op import binary_search_plugin
from export.bebr_op.onnx_export import export_binary_search
from export.bebr_op.torch_impl import binary_search_torch, decode_levels
from export.graph_checks import tensorrt_problems
from runtimes.ops.bebr_reference import binary_search_reference
from runtimes.ops.bebr_spec import MAX_K, CodeError, CodeLayout, code_norms, decoded_levels, pack_signs
from runtimes.native_ops import session_options

LAYOUT = CodeLayout(96, 3)
K = 20
PLUGIN_NODE = frozenset({("rapid", "BinarySearch")})


def feed(layout: CodeLayout, documents: int = 400, queries: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    docs = pack_signs(rng.standard_normal((documents, layout.planes, layout.bits)), layout)
    docs[40:55] = docs[3]  # ties
    query_codes = pack_signs(rng.standard_normal((queries, layout.planes, layout.bits)), layout)
    query_codes[0] = docs[3]
    return {"query_codes": query_codes, "query_norms": code_norms(query_codes, layout),
            "doc_codes": docs, "doc_norms": code_norms(docs, layout)}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bebr")
    return {form: (folder / f"{form}.onnx", export_binary_search(folder / f"{form}.onnx", form, LAYOUT, K))
            for form in ("portable", "plugin")}


@pytest.mark.parametrize("layout", [LAYOUT, CodeLayout(512, 2), CodeLayout(64, 1)], ids=str)
def test_decoding_in_torch_matches_the_spec(layout):
    codes = feed(layout)["doc_codes"]
    np.testing.assert_array_equal(decode_levels(torch.from_numpy(codes), layout).numpy(), decoded_levels(codes, layout))


@pytest.mark.parametrize("function", [binary_search_torch, binary_search_plugin], ids=["portable", "plugin"])
def test_eager_pytorch_forms_match_the_reference(function):
    arrays = feed(LAYOUT)
    scores, indices = function(*(torch.from_numpy(v) for v in arrays.values()), LAYOUT, K)
    expected_scores, expected_indices = binary_search_reference(*arrays.values(), LAYOUT, K)
    np.testing.assert_array_equal(indices.numpy(), expected_indices)
    np.testing.assert_array_equal(scores.numpy(), expected_scores)


def test_portable_form_uses_only_tensorrt_importable_ops(models):
    _, model = models["portable"]
    assert tensorrt_problems(model) == []
    assert all(node.domain in ("", "ai.onnx") for node in model.graph.node)
    assert not {"BitShift", "BitwiseAnd", "Mod"} & {node.op_type for node in model.graph.node}


def test_plugin_form_is_one_registered_custom_node(models):
    _, model = models["plugin"]
    (node,) = model.graph.node
    assert (node.domain, node.op_type) == ("rapid", "BinarySearch")
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attributes == {"bits": LAYOUT.bits, "planes": LAYOUT.planes, "k": K}
    assert tensorrt_problems(model) and not tensorrt_problems(model, allowed_custom=PLUGIN_NODE)
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize("form", ["portable", "plugin"])
@pytest.mark.parametrize("seed, documents, queries", [(0, 400, 5), (1, 64, 1), (2, 3000, 17)])
def test_onnxruntime_runs_each_form_like_the_reference(models, form, seed, documents, queries):
    path, _ = models[form]
    session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    arrays = feed(LAYOUT, documents, queries, seed)
    scores, indices = session.run(None, arrays)
    expected_scores, expected_indices = binary_search_reference(*arrays.values(), LAYOUT, K)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(scores, expected_scores)


def test_k_above_tensorrt_topk_limit_is_refused(tmp_path):
    with pytest.raises(CodeError, match=str(MAX_K)):
        export_binary_search(tmp_path / "x.onnx", "portable", LAYOUT, MAX_K + 1)
