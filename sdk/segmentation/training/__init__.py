"""Training and evaluation of RAPiD-Seg: data (data.py), losses, the trainer (trainer.py, its settings in
config.py), checkpoints, calibration and evaluation. Nothing is imported here: sample making needs no
PyTorch, and the CLI lists its commands without loading it."""
