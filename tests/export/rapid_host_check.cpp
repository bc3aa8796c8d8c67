// The rapid::RapidFeatures kernels' per-pixel logic (rapid_features_kernels.cu, compiled here as host C++)
// run on a file in the launcher's order: statistics, then every pixel through each pass in turn (the grid as
// a loop; the atomics as plain read-modify-write). Writes out [B, k_max, H, W] float32 like the launcher.
// usage: rapid_host_check IN OUT B H W window kNear kMid kFar rangeNear rangeFar delta frozen rMin rMax dMin dMax scale
#include "check_io.h"
#include "rapid_check_args.h"
#include "rapid_features_kernels.cu"

#include <cstdio>
#include <vector>

int main(int argc, char** argv)
{
    RapidCheckArgs a = parseRapidCheckArgs(argc, argv);
    rapid::RapidParams const& p = a.params;
    int kMax = p.kMax();
    long long pixels = static_cast<long long>(a.batch) * a.height * a.width;
    std::vector<float> image = readAll<float>(a.in, static_cast<size_t>(pixels) * 4);
    std::vector<float> d3(static_cast<size_t>(pixels) * kMax), refl(d3.size()), out(d3.size());
    std::vector<int> count(static_cast<size_t>(pixels));
    std::vector<unsigned int> stats(static_cast<size_t>(a.batch) * RAPID_STATS);
    for (int b = 0; b < a.batch; ++b)
    {
        rapid_init_stats_item(stats.data(), b);
    }
    for (long long i = 0; i < pixels; ++i)
    {
        rapid_select_pixel(i, image.data(), a.height, a.width, p.window, p.kNear, p.kMid, p.kFar, p.rangeNear,
            p.rangeFar, kMax, d3.data(), refl.data(), count.data(), stats.data());
    }
    for (long long i = 0; i < pixels; ++i)
    {
        rapid_distance4_pixel(i, image.data(), a.height, a.width, kMax, p.frozen, p.rMin, p.rMax, p.dMin, p.dMax,
            d3.data(), refl.data(), count.data(), stats.data());
    }
    for (long long i = 0; i < pixels; ++i)
    {
        rapid_normalise_pixel(i, a.height, a.width, kMax, p.frozen, p.scale, p.delta, d3.data(), count.data(),
            stats.data(), out.data());
    }
    FILE* result = std::fopen(a.out, "wb");
    std::fwrite(out.data(), sizeof(float), out.size(), result);
    std::fclose(result);
    return 0;
}
