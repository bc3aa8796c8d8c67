// rapid::RapidFeatures CUDA kernels (self-contained, so CuPy/NVRTC can compile this file as is).
// Contract: runtimes/ops/rapid_spec.py. Arithmetic uses round-to-nearest intrinsics in the NumPy
// reference's order (no FMA contraction), so neighbour choices and values match it exactly. Each kernel's
// work for one pixel is a __host__ __device__ function; the kernels only map threads to pixels, so a host
// build of this file (compiled without __CUDACC__: IEEE float operations, a loop for the grid, plain
// read-modify-write for the atomics) runs the logic the GPU runs.
//
// Buffers, per batch item b and pixel p = row * W + col:
//   image  [B, 4, H, W]            x, y, z, reflectivity; zero where no return
//   d3     [B, H*W, k_max]         chosen 3-D distances, then (in place) sorted 4-D distances
//   refl   [B, H*W, k_max]         reflectivity of each chosen neighbour
//   count  [B, H*W]                neighbours chosen (k for the pixel's range, fewer if the window lacks them)
//   stats  [B, 5]                  r_min, r_max, d_min, d_max, scale as order-preserving unsigned keys
//   out    [B, k_max, H, W]

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)  // nvcc, or NVRTC (CuPy)
#define RAPID_CUDA 1
#define RAPID_HD __host__ __device__ __forceinline__
#else
#define RAPID_HD inline
#endif
#ifndef __CUDACC_RTC__  // the host side (a host build, or nvcc's host pass); NVRTC compiles device code only
#include <cmath>
#include <cstring>
#endif

#define RAPID_MAX_K 16
#define RAPID_STATS 5

RAPID_HD unsigned int rapid_float_bits(float value)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(value);
#else
    unsigned int bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
#endif
}

RAPID_HD float rapid_bits_float(unsigned int bits)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(bits);
#else
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
#endif
}

RAPID_HD float rapid_infinity()
{
    return rapid_bits_float(0x7f800000u);
}

// IEEE single precision, rounded to nearest, never contracted into an FMA (the host build passes
// -ffp-contract=off; the device uses the _rn intrinsics, which are never contracted)
RAPID_HD float rapid_add(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

RAPID_HD float rapid_sub(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

RAPID_HD float rapid_mul(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

RAPID_HD float rapid_div(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fdiv_rn(a, b);
#else
    return a / b;
#endif
}

RAPID_HD float rapid_sqrt(float a)
{
#ifdef __CUDA_ARCH__
    return __fsqrt_rn(a);
#else
    return std::sqrt(a);
#endif
}

RAPID_HD bool rapid_finite(float a)
{
#ifdef __CUDA_ARCH__
    return isfinite(a);
#else
    return std::isfinite(a);
#endif
}

// the host build runs one pixel at a time, so a read-modify-write stands in for the atomic
RAPID_HD void rapid_atomic_min(unsigned int* address, unsigned int value)
{
#ifdef __CUDA_ARCH__
    atomicMin(address, value);
#else
    if (value < *address) *address = value;
#endif
}

RAPID_HD void rapid_atomic_max(unsigned int* address, unsigned int value)
{
#ifdef __CUDA_ARCH__
    atomicMax(address, value);
#else
    if (value > *address) *address = value;
#endif
}

RAPID_HD unsigned int rapid_key(float value)
{
    // order-preserving map float -> unsigned, so atomicMin/atomicMax order floats correctly
    unsigned int bits = rapid_float_bits(value);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

RAPID_HD float rapid_value(unsigned int key)
{
    unsigned int bits = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
    return rapid_bits_float(bits);
}

RAPID_HD float rapid_norm3(float x, float y, float z)
{
    return rapid_sqrt(rapid_add(rapid_add(rapid_mul(x, x), rapid_mul(y, y)), rapid_mul(z, z)));
}

RAPID_HD bool rapid_valid(const float* frame, int plane, int pixel)
{
    float x = frame[pixel], y = frame[plane + pixel], z = frame[2 * plane + pixel], r = frame[3 * plane + pixel];
    if (!(rapid_finite(x) && rapid_finite(y) && rapid_finite(z) && rapid_finite(r))) return false;
    return x != 0.0f || y != 0.0f || z != 0.0f;
}

RAPID_HD float rapid_g(float r, float r_min, float d_min, float ratio)
{
    return rapid_add(d_min, rapid_mul(rapid_sub(r, r_min), ratio));
}

//! Statistics of batch item b before any pixel is seen.
RAPID_HD void rapid_init_stats_item(unsigned int* stats, int b)
{
    unsigned int* s = stats + b * RAPID_STATS;
    s[0] = rapid_key(rapid_infinity());   // r_min
    s[1] = rapid_key(-rapid_infinity());  // r_max
    s[2] = rapid_key(rapid_infinity());   // d_min
    s[3] = rapid_key(-rapid_infinity());  // d_max
    s[4] = rapid_key(-rapid_infinity());  // scale
}

//! Pass 1, one pixel (index over B*H*W): its nearest k_max valid neighbours in the row window by 3-D
//! distance, their reflectivities, how many its range asks for, and the frame's statistics.
RAPID_HD void rapid_select_pixel(long long index, const float* image, int height, int width, int window,
    int k_near, int k_mid, int k_far, float range_near, float range_far, int k_max,
    float* d3, float* refl, int* count, unsigned int* stats)
{
    int plane = height * width;
    int b = (int)(index / plane), pixel = (int)(index % plane);
    int row = pixel / width, col = pixel % width;
    const float* frame = image + (long long)b * 4 * plane;
    count[index] = 0;
    if (!rapid_valid(frame, plane, pixel)) return;

    float x = frame[pixel], y = frame[plane + pixel], z = frame[2 * plane + pixel];
    float range = rapid_norm3(x, y, z);
    int k = range < range_near ? k_near : (range < range_far ? k_mid : k_far);
    float best_d[RAPID_MAX_K], best_r[RAPID_MAX_K];
    int filled = 0;
    for (int step = 1; step <= window; ++step) {
        for (int sign = -1; sign <= 1; sign += 2) {  // nearest column first: -1, +1, -2, +2, ...
            int other_col = col + sign * step;
            other_col += other_col < 0 ? width : (other_col >= width ? -width : 0);
            int other = row * width + other_col;
            if (!rapid_valid(frame, plane, other)) continue;
            float d = rapid_norm3(rapid_sub(frame[other], x), rapid_sub(frame[plane + other], y),
                                  rapid_sub(frame[2 * plane + other], z));
            if (filled == k_max && d >= best_d[k_max - 1]) continue;
            int slot = filled < k_max ? filled : k_max - 1;
            while (slot > 0 && best_d[slot - 1] > d) {  // strict: ties keep the earlier candidate
                best_d[slot] = best_d[slot - 1];
                best_r[slot] = best_r[slot - 1];
                --slot;
            }
            best_d[slot] = d;
            best_r[slot] = frame[3 * plane + other];
            if (filled < k_max) ++filled;
        }
    }
    for (int slot = 0; slot < filled; ++slot) {
        d3[index * k_max + slot] = best_d[slot];
        refl[index * k_max + slot] = best_r[slot];
    }
    int chosen = filled < k ? filled : k;
    count[index] = chosen;
    unsigned int* s = stats + b * RAPID_STATS;
    float centre_refl = frame[3 * plane + pixel];
    rapid_atomic_min(s + 0, rapid_key(centre_refl));
    rapid_atomic_max(s + 1, rapid_key(centre_refl));
    if (chosen > 0) {
        rapid_atomic_min(s + 2, rapid_key(best_d[0]));
        rapid_atomic_max(s + 3, rapid_key(best_d[chosen - 1]));
    }
}

//! Pass 2, one pixel: 4-D distances (3-D distance and the reflectivity gap mapped onto the distance
//! scale), sorted in place, and the frame's largest as its scale.
RAPID_HD void rapid_distance4_pixel(long long index, const float* image, int height, int width, int k_max,
    int frozen, float r_min_c, float r_max_c, float d_min_c, float d_max_c,
    float* d3, const float* refl, const int* count, unsigned int* stats)
{
    int n = count[index];
    if (n == 0) return;
    int plane = height * width;
    int b = (int)(index / plane), pixel = (int)(index % plane);
    unsigned int* s = stats + b * RAPID_STATS;
    float r_min = frozen ? r_min_c : rapid_value(s[0]);
    float r_max = frozen ? r_max_c : rapid_value(s[1]);
    float d_min = frozen ? d_min_c : rapid_value(s[2]);
    float d_max = frozen ? d_max_c : rapid_value(s[3]);
    float span = rapid_sub(r_max, r_min);
    float ratio = span > 0.0f ? rapid_div(rapid_sub(d_max, d_min), span) : 0.0f;
    float g_centre = rapid_g(image[(long long)b * 4 * plane + 3 * plane + pixel], r_min, d_min, ratio);
    float d4[RAPID_MAX_K];
    for (int slot = 0; slot < n; ++slot) {
        float gap = rapid_sub(g_centre, rapid_g(refl[index * k_max + slot], r_min, d_min, ratio));
        float a = d3[index * k_max + slot];
        d4[slot] = rapid_sqrt(rapid_add(rapid_mul(a, a), rapid_mul(gap, gap)));
    }
    // ascending by rank: the number of values below (or equal and earlier); no data-dependent branch
    float largest = -rapid_infinity();
    for (int slot = 0; slot < n; ++slot) {
        int rank = 0;
        for (int other = 0; other < n; ++other)
            rank += (d4[other] < d4[slot]) | ((d4[other] == d4[slot]) & (other < slot));
        d3[index * k_max + rank] = d4[slot];
        largest = d4[slot] > largest ? d4[slot] : largest;
    }
    if (!frozen) rapid_atomic_max(s + 4, rapid_key(largest));
}

//! Pass 3, one pixel: distances over the scale; beyond delta (or missing) they repeat the largest within.
RAPID_HD void rapid_normalise_pixel(long long index, int height, int width, int k_max, int frozen, float scale_c,
    float delta, const float* d4, const int* count, const unsigned int* stats, float* out)
{
    int plane = height * width;
    int b = (int)(index / plane), pixel = (int)(index % plane);
    float* target = out + (long long)b * k_max * plane + pixel;
    int n = count[index];
    float scale = frozen ? scale_c : rapid_value(stats[b * RAPID_STATS + 4]);
    float largest_in_range = -rapid_infinity();
    for (int slot = 0; slot < n; ++slot) {
        float value = rapid_div(d4[index * k_max + slot], scale);
        if (value <= delta && value > largest_in_range) largest_in_range = value;
    }
    for (int slot = 0; slot < k_max; ++slot) {
        float result = 1.0f;  // nothing near: invalid pixel, no neighbour, or none within delta
        if (largest_in_range != -rapid_infinity()) {
            float value = slot < n ? rapid_div(d4[index * k_max + slot], scale) : rapid_infinity();
            result = value <= delta ? value : largest_in_range;
        }
        target[(long long)slot * plane] = result;
    }
}

#ifdef RAPID_CUDA
// The kernels: one thread per batch item (statistics) or per pixel.

__device__ __forceinline__ long long rapid_thread_index()
{
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

extern "C" __global__ void rapid_init_stats(unsigned int* stats, int batch)
{
    long long b = rapid_thread_index();
    if (b < batch) rapid_init_stats_item(stats, (int)b);
}

extern "C" __global__ void rapid_select(const float* image, int batch, int height, int width, int window,
    int k_near, int k_mid, int k_far, float range_near, float range_far, int k_max,
    float* d3, float* refl, int* count, unsigned int* stats)
{
    long long index = rapid_thread_index();
    if (index < (long long)batch * height * width)
        rapid_select_pixel(index, image, height, width, window, k_near, k_mid, k_far, range_near, range_far, k_max,
                           d3, refl, count, stats);
}

extern "C" __global__ void rapid_distance4(const float* image, int batch, int height, int width, int k_max,
    int frozen, float r_min_c, float r_max_c, float d_min_c, float d_max_c,
    float* d3, const float* refl, const int* count, unsigned int* stats)
{
    long long index = rapid_thread_index();
    if (index < (long long)batch * height * width)
        rapid_distance4_pixel(index, image, height, width, k_max, frozen, r_min_c, r_max_c, d_min_c, d_max_c,
                              d3, refl, count, stats);
}

extern "C" __global__ void rapid_normalise(int batch, int height, int width, int k_max,
    int frozen, float scale_c, float delta, const float* d4, const int* count, const unsigned int* stats, float* out)
{
    long long index = rapid_thread_index();
    if (index < (long long)batch * height * width)
        rapid_normalise_pixel(index, height, width, k_max, frozen, scale_c, delta, d4, count, stats, out);
}
#endif
