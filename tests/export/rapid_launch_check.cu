// Runs the plugin's host launcher (rapidFeaturesEnqueue) outside TensorRT: the same workspace carving and
// launch order the plugin's enqueue uses, checked from Python against the NumPy reference.
// usage: rapid_launch_check IN OUT B H W window kNear kMid kFar rangeNear rangeFar delta frozen rMin rMax dMin dMax scale
#include "check_io.h"
#include "rapid_check_args.h"
#include "rapid_features.h"

#include <cstdio>
#include <vector>

int main(int argc, char** argv)
{
    RapidCheckArgs a = parseRapidCheckArgs(argc, argv);
    rapid::RapidParams const& p = a.params;
    size_t pixels = static_cast<size_t>(a.batch) * a.height * a.width;
    std::vector<float> image = readAll<float>(a.in, pixels * 4), out(pixels * p.kMax());
    float *dImage = nullptr, *dOut = nullptr;
    void* workspace = nullptr;
    cudaMalloc(&dImage, image.size() * sizeof(float));
    cudaMalloc(&dOut, out.size() * sizeof(float));
    cudaMalloc(&workspace, rapid::rapidFeaturesWorkspaceSize(a.batch, a.height, a.width, p.kMax()));
    cudaMemcpy(dImage, image.data(), image.size() * sizeof(float), cudaMemcpyHostToDevice);
    int status = rapid::rapidFeaturesEnqueue(dImage, dOut, workspace, a.batch, a.height, a.width, p, nullptr);
    cudaError_t sync = cudaDeviceSynchronize();
    if (status != 0 || sync != cudaSuccess)
    {
        std::fprintf(stderr, "enqueue: %s; synchronize: %s\n", cudaGetErrorString(static_cast<cudaError_t>(status)),
            cudaGetErrorString(sync));
        return 1;
    }
    cudaMemcpy(out.data(), dOut, out.size() * sizeof(float), cudaMemcpyDeviceToHost);
    FILE* result = std::fopen(a.out, "wb");
    std::fwrite(out.data(), sizeof(float), out.size(), result);
    std::fclose(result);
    cudaFree(dImage);
    cudaFree(dOut);
    cudaFree(workspace);
    return 0;
}
