// The attributes of one rapid::BinarySearch node (runtimes/ops/bebr_spec.py), without CUDA headers so
// host-only programs can use them.
#pragma once

namespace rapid
{

struct BinarySearchParams
{
    int bits = 512;   // m, bits per plane
    int planes = 2;   // u + 1
    int k = 10;

    int words() const { return planes * bits / 32; }
    //! The layouts and k the kernels take (runtimes/ops/bebr_spec.py: MAX_PLANES, MAX_BITS, MAX_K).
    bool valid() const { return problem() == nullptr; }

    //! Why this layout or k cannot be searched, or nullptr.
    char const* problem() const
    {
        if (planes < 1 || planes > 4) return "planes must lie in 1..4";
        if (bits <= 0 || bits % 32 != 0 || bits > 4096) return "bits must be a positive multiple of 32 up to 4096";
        if (k < 1 || k > 3840) return "k must lie in 1..3840 (TensorRT's TopK limit)";
        return nullptr;
    }
};

} // namespace rapid
