"""The RAPiD Edge SDK's public API."""
from runtimes.triton_runner import TritonRunner

from .features import available_methods, rapid_features
from .labelling import label_files
from .pipeline import PIPELINES, Pipeline
from .range_image import RangeImage, project
from .segmentation import Segmentation

__all__ = ["Pipeline", "label_files", "TritonRunner", "PIPELINES", "Segmentation", "rapid_features", "available_methods", "project", "RangeImage"]
