"""Training and evaluation of the SDK's models (RAPiD-Seg): data, losses, trainer, checkpoints, metrics."""
from .checkpoint import load_model, save_model
from .data import Augmentation, KittiFrames, MixedFrames, SimFrames
from .calibration import add_logit_offsets, collect_logits, fit_class_offsets
from .evaluate import evaluate, predict, simulated_scenes
from runtimes.metrics import ConfusionMatrix
from .trainer import TrainConfig, Trainer

__all__ = ["Augmentation", "ConfusionMatrix", "KittiFrames", "MixedFrames", "SimFrames", "TrainConfig", "Trainer",
           "add_logit_offsets", "collect_logits", "evaluate", "fit_class_offsets", "load_model", "predict",
           "save_model", "simulated_scenes"]
