"""Training and evaluation of the SDK's models (RAPiD-Seg): data, losses, trainer, checkpoints, metrics."""
