// Loads librapid_edge_plugins.so with a plain dlopen, as Polygraphy, trtexec --staticPlugins, ONNX Runtime's TensorRT
// provider and Triton's LD_PRELOAD do, in a process whose libnvinfer is fake_plugin_registry.cpp; prints as JSON the
// creators the library registered on loading and how many getCreators() still hands to IPluginRegistry::loadLibrary.
// usage: plugin_registration_check LIBRARY
#include <NvInferRuntime.h>

#include <cstdio>
#include <dlfcn.h>
#include <string>

extern "C" char const* registeredCreators();

int main(int argc, char** argv)
{
    if (argc != 2)
    {
        std::fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
        return 2;
    }
    void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
    {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    std::string onLoad = registeredCreators();  // before anything of the library is called
    using GetCreators = nvinfer1::IPluginCreatorInterface* const* (*) (int32_t&);
    auto getCreators = reinterpret_cast<GetCreators>(dlsym(library, "getCreators"));
    if (getCreators == nullptr)
    {
        std::fprintf(stderr, "no getCreators symbol\n");
        return 1;
    }
    int32_t left = -1;
    getCreators(left);
    std::printf("{\"registered\": \"%s\", \"left_for_load_library\": %d}\n", onLoad.c_str(), left);
    return 0;
}
