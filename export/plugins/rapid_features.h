// Host entry points of the rapid::RapidFeatures CUDA kernels (used by the TensorRT plugin).
#pragma once

#include <cstddef>
#include <cuda_runtime_api.h>

namespace rapid
{

struct RapidParams
{
    int window = 10;
    int kNear = 10;
    int kMid = 7;
    int kFar = 5;
    float rangeNear = 20.0F;
    float rangeFar = 35.0F;
    float delta = 0.9F;
    int frozen = 0;  // 1: the statistics below are constants, not measured per frame
    float rMin = 0.0F;
    float rMax = 0.0F;
    float dMin = 0.0F;
    float dMax = 0.0F;
    float scale = 0.0F;

    int kMax() const { return kNear > kMid ? (kNear > kFar ? kNear : kFar) : (kMid > kFar ? kMid : kFar); }
};

//! Bytes of scratch memory one call needs for this input size.
size_t rapidFeaturesWorkspaceSize(int batch, int height, int width, int kMax);

//! image [B, 4, H, W] -> out [B, k_max, H, W] on `stream`. Returns a cudaError_t (0 on success).
int rapidFeaturesEnqueue(float const* image, float* out, void* workspace, int batch, int height, int width,
    RapidParams const& params, cudaStream_t stream);

} // namespace rapid
