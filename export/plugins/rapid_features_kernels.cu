// rapid::RapidFeatures CUDA kernels (device code only, so CuPy/NVRTC can compile this file as is).
// Contract: runtimes/ops/rapid_spec.py. Arithmetic uses round-to-nearest intrinsics in the NumPy
// reference's order (no FMA contraction), so neighbour choices and values match it exactly.
//
// Buffers, per batch item b and pixel p = row * W + col:
//   image  [B, 4, H, W]            x, y, z, reflectivity; zero where no return
//   d3     [B, H*W, k_max]         chosen 3-D distances, then (in place) sorted 4-D distances
//   refl   [B, H*W, k_max]         reflectivity of each chosen neighbour
//   count  [B, H*W]                neighbours chosen (k for the pixel's range, fewer if the window lacks them)
//   stats  [B, 5]                  r_min, r_max, d_min, d_max, scale as order-preserving unsigned keys
//   out    [B, k_max, H, W]

#define RAPID_MAX_K 16
#define RAPID_STATS 5
#define RAPID_INFINITY __int_as_float(0x7f800000)

__device__ __forceinline__ unsigned int rapid_key(float value)
{
    // order-preserving map float -> unsigned, so atomicMin/atomicMax order floats correctly
    unsigned int bits = __float_as_uint(value);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ float rapid_value(unsigned int key)
{
    unsigned int bits = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
    return __uint_as_float(bits);
}

__device__ __forceinline__ float rapid_norm3(float x, float y, float z)
{
    return __fsqrt_rn(__fadd_rn(__fadd_rn(__fmul_rn(x, x), __fmul_rn(y, y)), __fmul_rn(z, z)));
}

__device__ __forceinline__ bool rapid_valid(const float* frame, int plane, int pixel)
{
    float x = frame[pixel], y = frame[plane + pixel], z = frame[2 * plane + pixel], r = frame[3 * plane + pixel];
    if (!(isfinite(x) && isfinite(y) && isfinite(z) && isfinite(r))) return false;
    return x != 0.0f || y != 0.0f || z != 0.0f;
}

__device__ __forceinline__ float rapid_g(float r, float r_min, float d_min, float ratio)
{
    return __fadd_rn(d_min, __fmul_rn(__fsub_rn(r, r_min), ratio));
}

extern "C" __global__ void rapid_init_stats(unsigned int* stats, int batch)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= batch) return;
    unsigned int* s = stats + b * RAPID_STATS;
    s[0] = rapid_key(RAPID_INFINITY);   // r_min
    s[1] = rapid_key(-RAPID_INFINITY);  // r_max
    s[2] = rapid_key(RAPID_INFINITY);   // d_min
    s[3] = rapid_key(-RAPID_INFINITY);  // d_max
    s[4] = rapid_key(-RAPID_INFINITY);  // scale
}

extern "C" __global__ void rapid_select(const float* image, int batch, int height, int width, int window,
    int k_near, int k_mid, int k_far, float range_near, float range_far, int k_max,
    float* d3, float* refl, int* count, unsigned int* stats)
{
    long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int plane = height * width;
    if (index >= (long long)batch * plane) return;
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
            float d = rapid_norm3(__fsub_rn(frame[other], x), __fsub_rn(frame[plane + other], y),
                                  __fsub_rn(frame[2 * plane + other], z));
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
    atomicMin(s + 0, rapid_key(centre_refl));
    atomicMax(s + 1, rapid_key(centre_refl));
    if (chosen > 0) {
        atomicMin(s + 2, rapid_key(best_d[0]));
        atomicMax(s + 3, rapid_key(best_d[chosen - 1]));
    }
}

extern "C" __global__ void rapid_distance4(const float* image, int batch, int height, int width, int k_max,
    int frozen, float r_min_c, float r_max_c, float d_min_c, float d_max_c,
    float* d3, const float* refl, const int* count, unsigned int* stats)
{
    long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int plane = height * width;
    if (index >= (long long)batch * plane) return;
    int n = count[index];
    if (n == 0) return;
    int b = (int)(index / plane), pixel = (int)(index % plane);
    unsigned int* s = stats + b * RAPID_STATS;
    float r_min = frozen ? r_min_c : rapid_value(s[0]);
    float r_max = frozen ? r_max_c : rapid_value(s[1]);
    float d_min = frozen ? d_min_c : rapid_value(s[2]);
    float d_max = frozen ? d_max_c : rapid_value(s[3]);
    float span = __fsub_rn(r_max, r_min);
    float ratio = span > 0.0f ? __fdiv_rn(__fsub_rn(d_max, d_min), span) : 0.0f;
    float g_centre = rapid_g(image[(long long)b * 4 * plane + 3 * plane + pixel], r_min, d_min, ratio);
    float sorted[RAPID_MAX_K];
    for (int slot = 0; slot < n; ++slot) {
        float gap = __fsub_rn(g_centre, rapid_g(refl[index * k_max + slot], r_min, d_min, ratio));
        float a = d3[index * k_max + slot];
        float d = __fsqrt_rn(__fadd_rn(__fmul_rn(a, a), __fmul_rn(gap, gap)));
        int position = slot;
        while (position > 0 && sorted[position - 1] > d) {
            sorted[position] = sorted[position - 1];
            --position;
        }
        sorted[position] = d;
    }
    for (int slot = 0; slot < n; ++slot) d3[index * k_max + slot] = sorted[slot];
    if (!frozen) atomicMax(s + 4, rapid_key(sorted[n - 1]));
}

extern "C" __global__ void rapid_normalise(const float* image, int batch, int height, int width, int k_max,
    int frozen, float scale_c, float delta, const float* d4, const int* count, const unsigned int* stats, float* out)
{
    long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    int plane = height * width;
    if (index >= (long long)batch * plane) return;
    int b = (int)(index / plane), pixel = (int)(index % plane);
    float* target = out + (long long)b * k_max * plane + pixel;
    int n = count[index];
    float scale = frozen ? scale_c : rapid_value(stats[b * RAPID_STATS + 4]);
    float largest_in_range = -RAPID_INFINITY;
    for (int slot = 0; slot < n; ++slot) {
        float value = __fdiv_rn(d4[index * k_max + slot], scale);
        if (value <= delta && value > largest_in_range) largest_in_range = value;
    }
    for (int slot = 0; slot < k_max; ++slot) {
        float result = 1.0f;  // nothing near: invalid pixel, no neighbour, or none within delta
        if (largest_in_range != -RAPID_INFINITY) {
            float value = slot < n ? __fdiv_rn(d4[index * k_max + slot], scale) : RAPID_INFINITY;
            result = value <= delta ? value : largest_in_range;
        }
        target[(long long)slot * plane] = result;
    }
}
