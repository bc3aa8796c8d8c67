"""Training and evaluation of the SDK's models (RAPiD-Seg): data, losses, trainer, checkpoints, metrics."""
from sdk.segmentation.training.checkpoint import load_model, save_model
from sdk.segmentation.training.data import Augmentation, KittiFrames, MixedFrames, SimFrames
from sdk.segmentation.training.calibration import add_logit_offsets, collect_logits, fit_class_offsets
from sdk.segmentation.training.evaluate import evaluate, predict, simulated_scenes
from runtimes.metrics import ConfusionMatrix
from sdk.segmentation.training.config import TrainConfig
from sdk.segmentation.training.trainer import Trainer

__all__ = ["Augmentation", "ConfusionMatrix", "KittiFrames", "MixedFrames", "SimFrames", "TrainConfig", "Trainer",
           "add_logit_offsets", "collect_logits", "evaluate", "fit_class_offsets", "load_model", "predict",
           "save_model", "simulated_scenes"]
