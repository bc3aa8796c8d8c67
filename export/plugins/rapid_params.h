// The attributes of one rapid::RapidFeatures node (runtimes/ops/rapid_spec.py), without CUDA headers so
// host-only programs can use them.
#pragma once

namespace rapid
{

struct RapidParams
{
    //! The largest k the kernels keep per pixel (RAPID_MAX_K of rapid_features_kernels.cu; the launcher asserts it).
    static constexpr int kLargestK = 16;

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

    //! Why these attributes cannot run (the rules of RapidConfig in rapid_spec.py), or nullptr.
    char const* problem() const
    {
        if (window < 1) return "window must be >= 1";
        if (kNear < 1 || kMid < 1 || kFar < 1) return "k_near, k_mid and k_far must be >= 1";
        if (kMax() > kLargestK) return "k_max must be <= 16";
        if (kMax() > 2 * window) return "k_max exceeds the 2 * window candidates of a pixel";
        if (!(rangeNear > 0.0F && rangeNear <= rangeFar)) return "range_near and range_far must satisfy 0 < near <= far";
        if (!(delta > 0.0F && delta <= 1.0F)) return "delta must lie in (0, 1]";
        return nullptr;
    }

    //! Why an image `width` columns wide cannot be processed with these attributes, or nullptr.
    char const* problem(int width) const
    {
        char const* reason = problem();
        return reason != nullptr ? reason : (window >= width ? "window must be smaller than the image width" : nullptr);
    }
};

} // namespace rapid
