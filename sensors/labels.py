"""Label sets: SemanticKITTI's 19 training classes and nuScenes-lidarseg's 16, with their learning maps."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabelSet:
    """Training classes of a dataset (id 0 is ignore) and the map from raw dataset ids."""

    name: str
    class_names: tuple[str, ...]
    learning_map: dict[int, int]
    palette_rgb: tuple[tuple[int, int, int], ...]
    #: train id -> raw id used when writing files in the dataset's own format
    inverse_map: dict[int, int]

    @property
    def num_classes(self) -> int:
        """Classes a model predicts (ignore excluded)."""
        return len(self.class_names) - 1

    def to_train(self, raw: np.ndarray) -> np.ndarray:
        """Map raw dataset ids to training ids; unknown ids become ignore (0)."""
        lut = np.zeros(max(max(self.learning_map), int(raw.max(initial=0))) + 1, dtype=np.int32)
        for raw_id, train_id in self.learning_map.items():
            lut[raw_id] = train_id
        return lut[raw]

    def to_raw(self, train: np.ndarray) -> np.ndarray:
        lut = np.array([self.inverse_map[i] for i in range(len(self.class_names))], dtype=np.uint32)
        return lut[train]


SEMANTIC_KITTI = LabelSet(
    name="semantickitti",
    class_names=(
        "unlabeled", "car", "bicycle", "motorcycle", "truck", "other-vehicle", "person", "bicyclist",
        "motorcyclist", "road", "parking", "sidewalk", "other-ground", "building", "fence",
        "vegetation", "trunk", "terrain", "pole", "traffic-sign",
    ),
    # semantic-kitti.yaml's learning_map (moving classes fold onto their static class)
    learning_map={
        0: 0, 1: 0, 10: 1, 11: 2, 13: 5, 15: 3, 16: 5, 18: 4, 20: 5, 30: 6, 31: 7, 32: 8, 40: 9,
        44: 10, 48: 11, 49: 12, 50: 13, 51: 14, 52: 0, 60: 9, 70: 15, 71: 16, 72: 17, 80: 18, 81: 19,
        99: 0, 252: 1, 253: 7, 254: 6, 255: 8, 256: 5, 257: 5, 258: 4, 259: 5,
    },
    # semantic-kitti.yaml's color_map, converted from BGR to RGB
    palette_rgb=(
        (0, 0, 0), (100, 150, 245), (100, 230, 245), (30, 60, 150), (80, 30, 180), (0, 0, 255),
        (255, 30, 30), (255, 40, 200), (150, 30, 90), (255, 0, 255), (255, 150, 255), (75, 0, 75),
        (175, 0, 75), (255, 200, 0), (255, 120, 50), (0, 175, 0), (135, 60, 0), (150, 240, 80),
        (255, 240, 150), (255, 0, 0),
    ),
    inverse_map={
        0: 0, 1: 10, 2: 11, 3: 15, 4: 18, 5: 20, 6: 30, 7: 31, 8: 32, 9: 40, 10: 44, 11: 48,
        12: 49, 13: 50, 14: 51, 15: 70, 16: 71, 17: 72, 18: 80, 19: 81,
    },
)

NUSCENES = LabelSet(
    name="nuscenes",
    class_names=(
        "ignore", "barrier", "bicycle", "bus", "car", "construction_vehicle", "motorcycle",
        "pedestrian", "traffic_cone", "trailer", "truck", "driveable_surface", "other_flat",
        "sidewalk", "terrain", "manmade", "vegetation",
    ),
    # the nuScenes-lidarseg 32 -> 16 class challenge map
    learning_map={
        0: 0, 1: 0, 2: 7, 3: 7, 4: 7, 5: 0, 6: 7, 7: 0, 8: 0, 9: 1, 10: 0, 11: 0, 12: 8, 13: 0,
        14: 2, 15: 3, 16: 3, 17: 4, 18: 5, 19: 0, 20: 0, 21: 6, 22: 9, 23: 10, 24: 11, 25: 12,
        26: 13, 27: 14, 28: 15, 29: 0, 30: 16, 31: 0,
    },
    palette_rgb=(
        (0, 0, 0), (112, 128, 144), (220, 20, 60), (255, 127, 80), (255, 158, 0), (233, 150, 70),
        (255, 61, 99), (0, 0, 230), (47, 79, 79), (255, 140, 0), (255, 99, 71), (0, 207, 191),
        (175, 0, 75), (75, 0, 75), (112, 180, 60), (222, 184, 135), (0, 175, 0),
    ),
    inverse_map={
        0: 0, 1: 9, 2: 14, 3: 16, 4: 17, 5: 18, 6: 21, 7: 2, 8: 12, 9: 22, 10: 23, 11: 24, 12: 25,
        13: 26, 14: 27, 15: 28, 16: 30,
    },
)

LABEL_SETS = {s.name: s for s in (SEMANTIC_KITTI, NUSCENES)}
