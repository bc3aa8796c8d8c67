"""RAPiD-Seg checkpoints: its weights (sdk/checkpoint.py's files) with its config under "model" in config.json."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from sdk.checkpoint import CONFIG, WEIGHTS, save_weights
from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.models.rapid_seg_config import RapidSegConfig

#: the optimised (not averaged) weights of a run that keeps an EMA; model.safetensors then holds the EMA
TRAINING_WEIGHTS = "training_weights.safetensors"


def save_model(model: RapidSeg, folder: Path, extra: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_weights(model, folder / WEIGHTS)
    (folder / CONFIG).write_text(json.dumps({"model": json.loads(model.config.to_json()), **(extra or {})}, indent=2) + "\n")


def read_extras(folder: Path) -> dict:
    """What config.json records beside the model's config (training run, data, calibration)."""
    return {k: v for k, v in json.loads((Path(folder) / CONFIG).read_text()).items() if k != "model"}


def load_model(folder: Path, rapid_form: str = "input") -> RapidSeg:
    folder = Path(folder)
    for name in (WEIGHTS, CONFIG):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing (a checkpoint holds {WEIGHTS} and {CONFIG})")
    config = RapidSegConfig.from_json(json.dumps(json.loads((folder / CONFIG).read_text())["model"]))
    model = RapidSeg(config, rapid_form=rapid_form)
    state = load_file(str(folder / WEIGHTS))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder / WEIGHTS}: does not fit the config (missing {missing[:5]}, unexpected {unexpected[:5]})")
    return model.eval()


def average_checkpoints(folders: list[Path], out: Path) -> None:
    """A uniform average of checkpoints of one model (a "model soup" of one training trajectory): every
    floating tensor averaged, batch-norm statistics included; counters (num_batches_tracked) are the last
    checkpoint's, as are the recorded training settings, with the averaged folders beside them."""
    if len(folders) < 2:
        raise ValueError("averaging needs at least two checkpoints")
    models = [load_model(folder) for folder in folders]
    for folder, model in zip(folders[1:], models[1:]):
        if model.config != models[0].config:
            raise ValueError(f"{folder}: a different model config from {folders[0]}; only one model's weights average")
    average = models[-1]
    states = [model.state_dict() for model in models]
    with torch.no_grad():
        for name, tensor in average.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(torch.stack([state[name].double() for state in states]).mean(dim=0))
    # a calibration record would describe offsets of one input, not the average of theirs: calibrate afresh
    extras = {k: v for k, v in read_extras(folders[-1]).items() if k != "calibration"}
    save_model(average, out, {**extras, "averaged": [str(folder) for folder in folders]})
