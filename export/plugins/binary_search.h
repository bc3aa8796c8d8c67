// Host entry points of the rapid::BinarySearch CUDA kernels (used by the TensorRT plugin).
#pragma once

#include "binary_search_params.h"

#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace rapid
{

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
