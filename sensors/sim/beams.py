"""Beam tables of the simulated sensors: real elevation angles, not an idealised fan.

HDL-64E and VLP-16 come from the calibration files velodyne-decoder bundles (the ROS driver's
tables); the Ouster OS-0-128 table is a factory calibration published with ouster-sdk's test data
(BSD-3-Clause, Ouster Inc.).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import yaml


@dataclass(frozen=True)
class BeamTable:
    name: str
    sensor: str
    elevations_deg: tuple[float, ...]  # ascending: ring 0 is the lowest beam
    columns: int
    rate_hz: float
    max_range: float
    min_range: float
    range_noise: float  # metres, one sigma
    mount_height: float  # metres above the road

    @property
    def rings(self) -> int:
        return len(self.elevations_deg)


def _velodyne_decoder_elevations(calibration_file: str) -> tuple[float, ...]:
    from importlib.resources import files

    text = (files("velodyne_decoder") / "calibrations" / calibration_file).read_text()
    lasers = yaml.safe_load(text)["lasers"]
    return tuple(sorted(float(np.degrees(laser["vert_correction"])) for laser in lasers))


OS0_128_ELEVATIONS = (
    45.75, 44.7, 43.93, 43.47, 42.72, 41.68, 40.94, 40.46, 39.7, 38.69, 37.95, 37.47, 36.71, 35.72, 35, 34.51,
    33.74, 32.78, 32.06, 31.56, 30.8, 29.85, 29.13, 28.62, 27.86, 26.93, 26.23, 25.7, 24.93, 24.03, 23.33, 22.79,
    22.03, 21.16, 20.46, 19.91, 19.13, 18.3, 17.6, 17.04, 16.27, 15.45, 14.76, 14.19, 13.41, 12.62, 11.94, 11.34,
    10.55, 9.81, 9.13, 8.51, 7.71, 6.99, 6.31, 5.68, 4.87, 4.17, 3.5, 2.86, 2.06, 1.37, 0.71, 0.04, -0.77, -1.43,
    -2.09, -2.77, -3.6, -4.23, -4.9, -5.6, -6.43, -7.05, -7.71, -8.43, -9.24, -9.85, -10.51, -11.28, -12.07,
    -12.65, -13.34, -14.1, -14.91, -15.48, -16.16, -16.95, -17.77, -18.32, -18.99, -19.8, -20.62, -21.17, -21.84,
    -22.68, -23.5, -24.02, -24.7, -25.56, -26.39, -26.9, -27.57, -28.46, -29.29, -29.78, -30.47, -31.36, -32.21,
    -32.68, -33.37, -34.29, -35.14, -35.6, -36.29, -37.24, -38.11, -38.55, -39.24, -40.21, -41.08, -41.51, -42.23,
    -43.22, -44.09, -44.52, -45.24, -46.26,
)


@cache
def beam_table(name: str) -> BeamTable:
    key = name.lower().replace("-", "").replace("_", "")
    if key == "hdl64e":
        return BeamTable("hdl64e", "HDL-64E", _velodyne_decoder_elevations("HDL-64E_S2.1-sztaki.yml"),
                         2048, 10.0, 120.0, 0.9, 0.02, 1.73)
    if key == "vlp16":
        return BeamTable("vlp16", "VLP-16", _velodyne_decoder_elevations("VLP-16.yml"),
                         1800, 10.0, 100.0, 0.4, 0.03, 1.8)
    if key in ("os128", "os0128"):
        return BeamTable("os128", "OS-0-128", tuple(sorted(OS0_128_ELEVATIONS)), 1024, 10.0, 75.0, 0.3, 0.015, 1.8)
    raise ValueError(f"unknown simulated sensor {name!r}; choose hdl64e, vlp16 or os128")


SENSORS = ("hdl64e", "vlp16", "os128")
