"""Model definitions (PyTorch): the shipped RAPiD-Seg and its parts."""
