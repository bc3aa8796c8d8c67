// Host launcher of the rapid::BinarySearch kernels: scores a chunk of queries, then selects each one's top k.
#include "binary_search.h"
#include "kernel_launch.h"
#include "binary_search_kernels.cu"

namespace rapid
{
namespace
{
constexpr int kScoreThreads = 256;
} // namespace

size_t binarySearchWorkspaceSize(int queries, int documents)
{
    int chunk = queries < kBinarySearchQueryChunk ? queries : kBinarySearchQueryChunk;
    return static_cast<size_t>(chunk) * static_cast<size_t>(documents) * sizeof(float);
}

int binarySearchEnqueue(int32_t const* queryCodes, float const* queryNorms, int32_t const* docCodes, float const* docNorms,
    float* scores, int64_t* indices, void* workspace, int queries, int documents, BinarySearchParams const& p,
    cudaStream_t stream)
{
    if (!p.valid() || p.k > documents || p.words() > BEBR_MAX_WORDS)
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    auto* cosines = static_cast<float*>(workspace);
    auto const* documentWords = reinterpret_cast<unsigned int const*>(docCodes);
    for (int first = 0; first < queries; first += kBinarySearchQueryChunk)
    {
        int chunk = queries - first < kBinarySearchQueryChunk ? queries - first : kBinarySearchQueryChunk;
        dim3 grid((documents + kScoreThreads - 1) / kScoreThreads, chunk);
        RAPID_LAUNCH(bebr_score, grid, kScoreThreads, 0, stream,
            reinterpret_cast<unsigned int const*>(queryCodes) + static_cast<size_t>(first) * p.words(), queryNorms + first,
            documentWords, docNorms, documents, p.words(), p.bits, p.planes, cosines);
        RAPID_LAUNCH(bebr_select, chunk, BEBR_SELECT_THREADS, 0, stream, cosines, documents, p.k,
            scores + static_cast<size_t>(first) * p.k, reinterpret_cast<long long*>(indices) + static_cast<size_t>(first) * p.k);
    }
    return static_cast<int>(cudaGetLastError());
}

} // namespace rapid
