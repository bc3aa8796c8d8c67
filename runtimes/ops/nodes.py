"""The custom nodes as ONNX graphs carry them: their domain and version, op types, and the BinarySearch node's
inputs and outputs; and the names of the dynamic axes of the SDK's graphs. The exporters, the ONNX schemas,
the native op library's loader and the runtimes read them here."""
from __future__ import annotations

DOMAIN = "rapid"
VERSION = 1
RAPID_FEATURES = "RapidFeatures"
BINARY_SEARCH = "BinarySearch"
SEARCH_INPUTS = ("query_codes", "query_norms", "doc_codes", "doc_norms")
SEARCH_OUTPUTS = ("scores", "indices")
#: dynamic axes: a segmentation graph's points, a binarizer's and BinarySearch's queries, BinarySearch's documents
POINTS, QUERIES, DOCUMENTS = "points", "queries", "documents"
#: the domain ONNX Runtime's TensorRT execution provider gives the creators in TensorRT's plugin registry: a plugin
#: node in it runs in TensorRT inside an ONNX Runtime session (`rapid-edge export --plugin-domain`)
TENSORRT_EP_DOMAIN = "trt.plugins"
PLUGIN_DOMAINS = (DOMAIN, TENSORRT_EP_DOMAIN)
