"""The RAPiD Edge SDK's public API."""
from .features import available_methods, rapid_features
from .range_image import RangeImage, project

__all__ = ["rapid_features", "available_methods", "project", "RangeImage"]
