// Runs the plugin's host launcher (rapidFeaturesEnqueue) outside TensorRT: the same workspace carving and
// launch order the plugin's enqueue uses, checked from Python against the NumPy reference.
// usage: rapid_launch_check IN OUT B H W window kNear kMid kFar rangeNear rangeFar delta frozen rMin rMax dMin dMax scale
#include "rapid_features.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 19)
    {
        std::fprintf(stderr, "expected 18 arguments, got %d\n", argc - 1);
        return 2;
    }
    int batch = std::atoi(argv[3]), height = std::atoi(argv[4]), width = std::atoi(argv[5]);
    rapid::RapidParams p;
    p.window = std::atoi(argv[6]);
    p.kNear = std::atoi(argv[7]);
    p.kMid = std::atoi(argv[8]);
    p.kFar = std::atoi(argv[9]);
    p.rangeNear = std::strtof(argv[10], nullptr);
    p.rangeFar = std::strtof(argv[11], nullptr);
    p.delta = std::strtof(argv[12], nullptr);
    p.frozen = std::atoi(argv[13]);
    p.rMin = std::strtof(argv[14], nullptr);
    p.rMax = std::strtof(argv[15], nullptr);
    p.dMin = std::strtof(argv[16], nullptr);
    p.dMax = std::strtof(argv[17], nullptr);
    p.scale = std::strtof(argv[18], nullptr);
    size_t pixels = static_cast<size_t>(batch) * height * width;
    std::vector<float> image(pixels * 4), out(pixels * p.kMax());
    FILE* in = std::fopen(argv[1], "rb");
    if (!in || std::fread(image.data(), sizeof(float), image.size(), in) != image.size())
    {
        std::fprintf(stderr, "cannot read %zu floats from %s\n", image.size(), argv[1]);
        return 2;
    }
    std::fclose(in);
    float *dImage = nullptr, *dOut = nullptr;
    void* workspace = nullptr;
    cudaMalloc(&dImage, image.size() * sizeof(float));
    cudaMalloc(&dOut, out.size() * sizeof(float));
    cudaMalloc(&workspace, rapid::rapidFeaturesWorkspaceSize(batch, height, width, p.kMax()));
    cudaMemcpy(dImage, image.data(), image.size() * sizeof(float), cudaMemcpyHostToDevice);
    int status = rapid::rapidFeaturesEnqueue(dImage, dOut, workspace, batch, height, width, p, nullptr);
    cudaError_t sync = cudaDeviceSynchronize();
    if (status != 0 || sync != cudaSuccess)
    {
        std::fprintf(stderr, "enqueue: %s; synchronize: %s\n", cudaGetErrorString(static_cast<cudaError_t>(status)),
            cudaGetErrorString(sync));
        return 1;
    }
    cudaMemcpy(out.data(), dOut, out.size() * sizeof(float), cudaMemcpyDeviceToHost);
    FILE* result = std::fopen(argv[2], "wb");
    std::fwrite(out.data(), sizeof(float), out.size(), result);
    std::fclose(result);
    cudaFree(dImage);
    cudaFree(dOut);
    cudaFree(workspace);
    return 0;
}
