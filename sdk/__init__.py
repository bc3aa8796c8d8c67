"""The RAPiD Edge SDK's public API."""
from runtimes.triton_runner import TritonRunner

from sdk.segmentation.features import available_methods, rapid_features
from sdk.apps.labelling import label_files
from sdk.options import ModelOptions, PostprocessOptions, SearchOptions, StreamOptions
from sdk.pipeline import PIPELINES, Pipeline, PipelineRun
from sdk.segmentation.range_image import RangeImage, project
from sdk.segmentation.steps import Segmentation

__all__ = ["Pipeline", "PipelineRun", "ModelOptions", "StreamOptions", "PostprocessOptions", "SearchOptions", "label_files", "TritonRunner", "PIPELINES", "Segmentation", "rapid_features", "available_methods", "project", "RangeImage"]
__all__ += ["export_user_model"]


def __getattr__(name: str):
    """`sdk.export_user_model` needs PyTorch (the `[export]` extra): imported on first use, not with the SDK."""
    if name == "export_user_model":
        from sdk.segmentation.user_model import export_user_model

        return export_user_model
    raise AttributeError(f"module 'sdk' has no attribute {name!r}")
