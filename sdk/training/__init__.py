"""Training and evaluation of the SDK's models (RAPiD-Seg): data, losses, trainer, checkpoints, metrics."""
from .checkpoint import load_model, save_model
from .data import Augmentation, KittiFrames, MixedFrames, SimFrames
from .evaluate import evaluate, held_out_sim, predict
from runtimes.metrics import ConfusionMatrix
from .trainer import TrainConfig, Trainer

__all__ = ["Augmentation", "ConfusionMatrix", "KittiFrames", "MixedFrames", "SimFrames", "TrainConfig", "Trainer",
           "evaluate", "held_out_sim", "load_model", "predict", "save_model"]
