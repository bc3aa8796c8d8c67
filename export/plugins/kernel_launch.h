// One launch macro for the launchers: CUDA's kernel<<<grid, block, shared, stream>>>(args) under nvcc, and
// HIP's hipLaunchKernelGGL under HIP-CPU, which runs the same kernels on the CPU (the launch syntax is not C++).
#pragma once

#include <cuda_runtime_api.h>  // under HIP-CPU, the build's mapping of it, which defines __HIP_CPU_RT__

#ifdef __HIP_CPU_RT__
#define RAPID_LAUNCH(kernel, grid, block, shared, stream, ...) \
    hipLaunchKernelGGL(kernel, dim3(grid), dim3(block), shared, stream, __VA_ARGS__)
#else
#define RAPID_LAUNCH(kernel, grid, block, shared, stream, ...) kernel<<<grid, block, shared, stream>>>(__VA_ARGS__)
#endif
