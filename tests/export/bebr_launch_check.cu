// Runs the plugin's host launcher (binarySearchEnqueue) outside TensorRT, on a GPU or on the CPU under HIP-CPU:
// the same workspace and launch order the plugin's enqueue uses.
// usage: bebr_launch_check QUERIES QUERY_NORMS DOCS DOC_NORMS Q N bits planes k OUT
// (OUT: per query, k records of float32 score + int64 index)
#include "binary_search.h"
#include "check_io.h"

#include <cstdio>
#include <cuda_runtime_api.h>

template <typename T>
T* onDevice(std::vector<T> const& values)
{
    T* device = nullptr;
    cudaMalloc(&device, values.size() * sizeof(T));
    cudaMemcpy(device, values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice);
    return device;
}

int main(int argc, char** argv)
{
    if (argc != 11)
    {
        std::fprintf(stderr, "expected 10 arguments, got %d\n", argc - 1);
        return 2;
    }
    int queries = std::atoi(argv[5]), documents = std::atoi(argv[6]);
    rapid::BinarySearchParams p;
    p.bits = std::atoi(argv[7]);
    p.planes = std::atoi(argv[8]);
    p.k = std::atoi(argv[9]);
    int32_t* queryCodes = onDevice(readAll<int32_t>(argv[1], static_cast<size_t>(queries) * p.words()));
    float* queryNorms = onDevice(readAll<float>(argv[2], queries));
    int32_t* docCodes = onDevice(readAll<int32_t>(argv[3], static_cast<size_t>(documents) * p.words()));
    float* docNorms = onDevice(readAll<float>(argv[4], documents));
    size_t results = static_cast<size_t>(queries) * p.k;
    float* scores = nullptr;
    int64_t* indices = nullptr;
    void* workspace = nullptr;
    cudaMalloc(&scores, results * sizeof(float));
    cudaMalloc(&indices, results * sizeof(int64_t));
    cudaMalloc(&workspace, rapid::binarySearchWorkspaceSize(queries, documents));
    int status = rapid::binarySearchEnqueue(queryCodes, queryNorms, docCodes, docNorms, scores, indices, workspace, queries,
        documents, p, nullptr);
    cudaError_t sync = cudaDeviceSynchronize();
    if (status != 0 || sync != cudaSuccess)
    {
        std::fprintf(stderr, "enqueue: %s; synchronize: %s\n", cudaGetErrorString(static_cast<cudaError_t>(status)),
            cudaGetErrorString(sync));
        return 1;
    }
    std::vector<float> hostScores(results);
    std::vector<int64_t> hostIndices(results);
    cudaMemcpy(hostScores.data(), scores, results * sizeof(float), cudaMemcpyDeviceToHost);
    cudaMemcpy(hostIndices.data(), indices, results * sizeof(int64_t), cudaMemcpyDeviceToHost);
    FILE* out = std::fopen(argv[10], "wb");
    for (size_t r = 0; r < results; ++r)
    {
        std::fwrite(&hostScores[r], sizeof(float), 1, out);
        std::fwrite(&hostIndices[r], sizeof(int64_t), 1, out);
    }
    std::fclose(out);
    return 0;
}
