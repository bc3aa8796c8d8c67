"""Simulated LiDAR over procedural streets (open3d raycasting): the SDK's embedded default source."""
from .beams import SENSORS, BeamTable, beam_table
from .lidar import SimOptions, SimulatedLidar

__all__ = ["SENSORS", "BeamTable", "beam_table", "SimOptions", "SimulatedLidar"]
