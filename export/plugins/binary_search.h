// Host entry points of the rapid::BinarySearch CUDA kernels (used by the TensorRT plugin).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace rapid
{

struct BinarySearchParams
{
    int bits = 512;   // m, bits per plane
    int planes = 2;   // u + 1
    int k = 10;

    int words() const { return planes * bits / 32; }
    //! The layouts and k the kernels take (runtimes/ops/bebr_spec.py: MAX_PLANES, MAX_BITS, MAX_K).
    bool valid() const { return planes >= 1 && planes <= 4 && bits > 0 && bits % 32 == 0 && bits <= 4096 && k >= 1 && k <= 3840; }
};

//! Queries scored per pass: the workspace holds this many rows of N cosines.
constexpr int kBinarySearchQueryChunk = 32;

//! Bytes of scratch memory one call needs.
size_t binarySearchWorkspaceSize(int queries, int documents);

//! query codes [Q, W] + norms [Q], document codes [N, W] + norms [N] -> top-k scores [Q, k] and indices
//! [Q, k] on `stream`. Returns a cudaError_t (0 on success; cudaErrorInvalidValue when k > N or the
//! layout is unsupported).
int binarySearchEnqueue(int32_t const* queryCodes, float const* queryNorms, int32_t const* docCodes, float const* docNorms,
    float* scores, int64_t* indices, void* workspace, int queries, int documents, BinarySearchParams const& params,
    cudaStream_t stream);

} // namespace rapid
