"""The evaluation protocol's simulated scenes: which seeds and frames are held out, fixed before any candidate
is compared (docs/model_card.md). Plain numbers: the CLI reads them for its flags without loading PyTorch."""
from __future__ import annotations

from sensors import Frame, LabelSet

#: seeds the default checkpoint never saw in training (it trains on seeds below 5000)
HELD_OUT_SEEDS = range(5000, 5010)
#: 90 more held-out frames (these seeds, HELD_OUT_FRAMES): a second check before weights are shipped
WIDER_CHECK_SEEDS = range(5010, 5040)
#: what nothing may be fitted on, training or calibration
EVALUATION_SEEDS = range(HELD_OUT_SEEDS.start, WIDER_CHECK_SEEDS.stop)
HELD_OUT_FRAMES = (0, 60, 120)


def require_labels(frame: Frame, purpose: str, label_set: LabelSet) -> None:
    """Scores count only against ground truth of the model's own label set."""
    if frame.labels is None or frame.label_set != label_set.name:
        raise ValueError(f"{purpose} needs frames with {label_set.name} labels (got {frame.label_set or 'none'})")
