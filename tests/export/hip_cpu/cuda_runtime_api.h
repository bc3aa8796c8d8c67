// The CUDA runtime names the SDK's launchers and check programs use, mapped onto HIP-CPU (../shared/hip-cpu),
// which runs the kernels on the CPU: grids, blocks, __shared__ memory, barriers and atomics included. Found
// before CUDA's own header by the HIP-CPU build (-I of this folder), with __CUDACC__ and __CUDA_ARCH__
// defined so that the kernel files compile their kernels and device branches, atomics included.
#pragma once

#include <hip/hip_runtime.h>

#include <cmath>
#include <cstring>

using cudaError_t = hipError_t;
using cudaStream_t = hipStream_t;
using cudaMemcpyKind = hipMemcpyKind;
constexpr cudaError_t cudaSuccess = hipSuccess;
constexpr cudaError_t cudaErrorInvalidValue = hipErrorInvalidValue;
constexpr cudaMemcpyKind cudaMemcpyHostToDevice = hipMemcpyHostToDevice;
constexpr cudaMemcpyKind cudaMemcpyDeviceToHost = hipMemcpyDeviceToHost;

template <typename T>
inline cudaError_t cudaMalloc(T** pointer, size_t bytes)
{
    return hipMalloc(reinterpret_cast<void**>(pointer), bytes);
}

inline cudaError_t cudaFree(void* pointer) { return hipFree(pointer); }
inline cudaError_t cudaMemcpy(void* to, void const* from, size_t bytes, cudaMemcpyKind kind)
{
    return hipMemcpy(to, from, bytes, kind);
}
inline cudaError_t cudaDeviceSynchronize() { return hipDeviceSynchronize(); }
inline cudaError_t cudaGetLastError() { return hipGetLastError(); }
inline char const* cudaGetErrorString(cudaError_t error) { return hipGetErrorString(error); }

// The round-to-nearest intrinsics HIP-CPU lacks: IEEE single precision rounds to nearest, and the build passes
// -ffp-contract=off so nothing is fused into an FMA.
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __int2float_rn(int a) { return static_cast<float>(a); }

inline unsigned int __float_as_uint(float value)
{
    unsigned int bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
}

inline float __uint_as_float(unsigned int bits)
{
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
}

using std::isfinite;
