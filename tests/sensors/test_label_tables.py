"""The label tables every output is drawn and written with: each class its own colour (other-vehicle had
traffic-sign's red), each training id one raw id that maps back to it."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from sensors.labels import LABEL_SETS


@pytest.mark.parametrize("label_set", LABEL_SETS.values(), ids=list(LABEL_SETS))
def test_every_class_has_its_own_colour(label_set):
    assert len(label_set.palette_rgb) == len(label_set.class_names)
    for (a, colour_a), (b, colour_b) in itertools.combinations(zip(label_set.class_names, label_set.palette_rgb), 2):
        assert colour_a != colour_b, f"{label_set.name}: {a} and {b} share {colour_a}"


@pytest.mark.parametrize("label_set", LABEL_SETS.values(), ids=list(LABEL_SETS))
def test_raw_ids_map_back_to_their_training_ids(label_set):
    train = np.arange(len(label_set.class_names))
    np.testing.assert_array_equal(label_set.to_train(label_set.to_raw(train)), train)
