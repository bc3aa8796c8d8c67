"""rapid::RapidFeatures in PyTorch: the portable form (standard ops) and the custom op that exports as one node."""
