"""CUDA kernels and the TensorRT plugin library of the SDK's custom ops (sources, build, loading)."""
