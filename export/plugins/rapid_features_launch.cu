// Host launcher of the rapid::RapidFeatures kernels: carves the workspace and runs the four passes.
#include "kernel_launch.h"
#include "rapid_features.h"
#include "rapid_features_kernels.cu"

static_assert(rapid::RapidParams::kLargestK == RAPID_MAX_K, "rapid_params.h and the kernels disagree on k_max");

namespace rapid
{
namespace
{
constexpr int kThreads = 256;
constexpr size_t kAlignment = 256;

size_t aligned(size_t bytes)
{
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

struct Workspace
{
    float* d3;
    float* refl;
    int* count;
    unsigned int* stats;
};

Workspace carve(void* base, int batch, int height, int width, int kMax)
{
    size_t pixels = static_cast<size_t>(batch) * height * width;
    char* cursor = static_cast<char*>(base);
    Workspace w{};
    w.d3 = reinterpret_cast<float*>(cursor);
    cursor += aligned(pixels * kMax * sizeof(float));
    w.refl = reinterpret_cast<float*>(cursor);
    cursor += aligned(pixels * kMax * sizeof(float));
    w.count = reinterpret_cast<int*>(cursor);
    cursor += aligned(pixels * sizeof(int));
    w.stats = reinterpret_cast<unsigned int*>(cursor);
    return w;
}
} // namespace

size_t rapidFeaturesWorkspaceSize(int batch, int height, int width, int kMax)
{
    size_t pixels = static_cast<size_t>(batch) * height * width;
    return 2 * aligned(pixels * kMax * sizeof(float)) + aligned(pixels * sizeof(int))
        + aligned(static_cast<size_t>(batch) * RAPID_STATS * sizeof(unsigned int));
}

int rapidFeaturesEnqueue(float const* image, float* out, void* workspace, int batch, int height, int width,
    RapidParams const& p, cudaStream_t stream)
{
    if (p.problem(width) != nullptr)
    {
        return static_cast<int>(cudaErrorInvalidValue);
    }
    int kMax = p.kMax();
    Workspace w = carve(workspace, batch, height, width, kMax);
    long long pixels = static_cast<long long>(batch) * height * width;
    unsigned int blocks = static_cast<unsigned int>((pixels + kThreads - 1) / kThreads);
    RAPID_LAUNCH(rapid_init_stats, (batch + kThreads - 1) / kThreads, kThreads, 0, stream, w.stats, batch);
    RAPID_LAUNCH(rapid_select, blocks, kThreads, 0, stream, image, batch, height, width, p.window, p.kNear, p.kMid,
        p.kFar, p.rangeNear, p.rangeFar, kMax, w.d3, w.refl, w.count, w.stats);
    RAPID_LAUNCH(rapid_distance4, blocks, kThreads, 0, stream, image, batch, height, width, kMax, p.frozen, p.rMin,
        p.rMax, p.dMin, p.dMax, w.d3, w.refl, w.count, w.stats);
    RAPID_LAUNCH(rapid_normalise, blocks, kThreads, 0, stream, batch, height, width, kMax, p.frozen, p.scale,
        p.delta, w.d3, w.count, w.stats, out);
    return static_cast<int>(cudaGetLastError());
}

} // namespace rapid
