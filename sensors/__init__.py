"""Sources of frames: Velodyne and Ouster (pcap, live UDP), ROS 2 bags, KITTI/SemanticKITTI, nuScenes,
PCD/PLY, cameras, calibrated LiDAR + camera rigs, and the simulated LiDAR. Imports nothing of the SDK's other packages."""
from .frame import Frame
from .labels import LABEL_SETS, NUSCENES, SEMANTIC_KITTI, LabelSet
from .opener import open_source as open
from .rig import point_colours
from .source import Source, SourceError, SourceStats
from .writers import write_frame

__all__ = [
    "Frame", "Source", "SourceError", "SourceStats", "open", "write_frame", "point_colours",
    "LabelSet", "LABEL_SETS", "SEMANTIC_KITTI", "NUSCENES",
]
