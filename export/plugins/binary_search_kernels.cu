// rapid::BinarySearch CUDA kernels (self-contained, so CuPy/NVRTC can compile this file as is).
// Contract: runtimes/ops/bebr_spec.py. The per-element work (one query-document score, the cosine, the
// ranking key) is in __host__ __device__ functions, so a host build of this file runs the same logic.
//
// Two passes per chunk of queries:
//   bebr_score   [Qc, N] float32 cosines: one thread per (query, document), the query's code in shared memory
//   bebr_select  one block per query: radix select of the k-th largest 64-bit key (ordered cosine, then the
//                complement of the index, so the lower index ranks first on a tie: keys are unique), gather of
//                the k keys at or above it, and placement by rank (counting larger keys): exact and ordered.

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)  // nvcc, or NVRTC (CuPy)
#define BEBR_CUDA 1
#define BEBR_HD __host__ __device__ __forceinline__
#else
#define BEBR_HD inline
#endif

#define BEBR_MAX_K 3840          // TensorRT's TopK limit, respected here too
#define BEBR_MAX_WORDS 512       // 4 planes of 4096 bits
#define BEBR_SELECT_THREADS 1024

typedef unsigned long long bebr_key_t;

BEBR_HD int bebr_popcount(unsigned int word)
{
#ifdef __CUDA_ARCH__
    return __popc(word);
#else
    return __builtin_popcount(word);
#endif
}

//! S(q, d) = sum_ij 2^(u-i) 2^(u-j) (m - 2 popcount(q_i XOR d_j)), in signed integers.
BEBR_HD int bebr_sdc_score(const unsigned int* query, const unsigned int* document, int bits, int planes)
{
    int wordsPerPlane = bits / 32;
    int u = planes - 1;
    int total = 0;
    for (int i = 0; i < planes; ++i)
    {
        for (int j = 0; j < planes; ++j)
        {
            int differing = 0;
            for (int w = 0; w < wordsPerPlane; ++w)
            {
                differing += bebr_popcount(query[i * wordsPerPlane + w] ^ document[j * wordsPerPlane + w]);
            }
            total += (bits - 2 * differing) * (1 << (2 * u - i - j));
        }
    }
    return total;
}

//! float32(S) / (norm_q * norm_d), rounded to nearest at each step, the product first.
BEBR_HD float bebr_cosine(int score, float queryNorm, float docNorm)
{
#ifdef __CUDA_ARCH__
    return __fdiv_rn(__int2float_rn(score), __fmul_rn(queryNorm, docNorm));
#else
    float product = queryNorm * docNorm;
    return static_cast<float>(score) / product;
#endif
}

//! Descending key order = descending cosine, then ascending index.
BEBR_HD bebr_key_t bebr_key(float cosine, unsigned int index)
{
    unsigned int bits;
#ifdef __CUDA_ARCH__
    bits = __float_as_uint(cosine);
#else
    __builtin_memcpy(&bits, &cosine, sizeof(bits));
#endif
    unsigned int ordered = (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
    return (static_cast<bebr_key_t>(ordered) << 32) | static_cast<bebr_key_t>(0xffffffffu - index);
}

BEBR_HD unsigned int bebr_key_index(bebr_key_t key)
{
    return 0xffffffffu - static_cast<unsigned int>(key & 0xffffffffull);
}

#ifdef BEBR_CUDA

extern "C" __global__ void bebr_score(const unsigned int* queries, const float* queryNorms, const unsigned int* documents,
    const float* docNorms, int documentCount, int words, int bits, int planes, float* scores)
{
    __shared__ unsigned int query[BEBR_MAX_WORDS];
    int q = blockIdx.y;
    for (int w = threadIdx.x; w < words; w += blockDim.x)
    {
        query[w] = queries[static_cast<long long>(q) * words + w];
    }
    __syncthreads();
    long long d = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (d >= documentCount)
    {
        return;
    }
    int score = bebr_sdc_score(query, documents + d * words, bits, planes);
    scores[static_cast<long long>(q) * documentCount + d] = bebr_cosine(score, queryNorms[q], docNorms[d]);
}

extern "C" __global__ void bebr_select(const float* scores, int documentCount, int k, float* topScores,
    long long* topIndices)
{
    __shared__ unsigned int histogram[256];
    __shared__ bebr_key_t candidates[BEBR_MAX_K];
    __shared__ bebr_key_t prefix;
    __shared__ bebr_key_t prefixMask;
    __shared__ int remaining;
    __shared__ int gathered;
    int q = blockIdx.x;
    const float* row = scores + static_cast<long long>(q) * documentCount;
    if (threadIdx.x == 0)
    {
        prefix = 0;
        prefixMask = 0;
        remaining = k;
        gathered = 0;
    }
    for (int shift = 56; shift >= 0; shift -= 8)
    {
        for (int b = threadIdx.x; b < 256; b += blockDim.x)
        {
            histogram[b] = 0;
        }
        __syncthreads();
        for (int d = threadIdx.x; d < documentCount; d += blockDim.x)
        {
            bebr_key_t key = bebr_key(row[d], static_cast<unsigned int>(d));
            if ((key & prefixMask) == prefix)
            {
                atomicAdd(&histogram[(key >> shift) & 255u], 1u);
            }
        }
        __syncthreads();
        if (threadIdx.x == 0)
        {
            int above = 0;
            int digit = 255;
            for (; digit > 0 && above + static_cast<int>(histogram[digit]) < remaining; --digit)
            {
                above += static_cast<int>(histogram[digit]);
            }
            remaining -= above;
            prefix |= static_cast<bebr_key_t>(digit) << shift;
            prefixMask |= 255ull << shift;
        }
        __syncthreads();
    }
    bebr_key_t threshold = prefix;  // the k-th largest key
    for (int d = threadIdx.x; d < documentCount; d += blockDim.x)
    {
        bebr_key_t key = bebr_key(row[d], static_cast<unsigned int>(d));
        if (key >= threshold)
        {
            candidates[atomicAdd(&gathered, 1)] = key;
        }
    }
    __syncthreads();
    for (int s = threadIdx.x; s < k; s += blockDim.x)
    {
        bebr_key_t key = candidates[s];
        int rank = 0;
        for (int t = 0; t < k; ++t)
        {
            rank += candidates[t] > key;
        }
        unsigned int index = bebr_key_index(key);
        topScores[static_cast<long long>(q) * k + rank] = row[index];
        topIndices[static_cast<long long>(q) * k + rank] = static_cast<long long>(index);
    }
}

#endif // BEBR_CUDA
