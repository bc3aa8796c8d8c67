// Host entry points of the rapid::RapidFeatures CUDA kernels (used by the TensorRT plugin).
#pragma once

#include "rapid_params.h"

#include <cstddef>
#include <cuda_runtime_api.h>

namespace rapid
{

//! Bytes of scratch memory one call needs for this input size.
size_t rapidFeaturesWorkspaceSize(int batch, int height, int width, int kMax);

//! image [B, 4, H, W] -> out [B, k_max, H, W] on `stream`. Returns a cudaError_t (0 on success).
int rapidFeaturesEnqueue(float const* image, float* out, void* workspace, int batch, int height, int width,
    RapidParams const& params, cudaStream_t stream);

} // namespace rapid
