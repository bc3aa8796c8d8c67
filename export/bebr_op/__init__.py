"""rapid::BinarySearch in PyTorch: the portable form (standard ops) and the custom op that exports as one node."""
