// Loads librapid_edge_plugins.so without TensorRT's runtime, calls its getCreators() and prints every
// creator's name, version, namespace and fields as JSON lines, for the suite to compare with the ONNX
// schemas. Linked with fake_plugin_registry.cpp as its libnvinfer, it first prints what loading the library
// registered ({"registered_on_load": "Name/version ..."}). usage: plugin_creators_check LIBRARY
#include <NvInferRuntime.h>

#include <cstdio>
#include <cstring>
#include <dlfcn.h>

using GetCreators = nvinfer1::IPluginCreatorInterface* const* (*) (int32_t&);

char const* typeName(nvinfer1::PluginFieldType type)
{
    switch (type)
    {
    case nvinfer1::PluginFieldType::kINT32: return "INT32";
    case nvinfer1::PluginFieldType::kFLOAT32: return "FLOAT32";
    default: return "OTHER";
    }
}

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
    using Registered = char const* (*) ();
    if (auto registered = reinterpret_cast<Registered>(dlsym(RTLD_DEFAULT, "registeredCreators")))
    {
        std::printf("{\"registered_on_load\": \"%s\"}\n", registered());  // before anything of the library runs
    }
    auto getCreators = reinterpret_cast<GetCreators>(dlsym(library, "getCreators"));
    if (getCreators == nullptr)
    {
        std::fprintf(stderr, "no getCreators symbol\n");
        return 1;
    }
    int32_t count = 0;
    nvinfer1::IPluginCreatorInterface* const* creators = getCreators(count);
    for (int32_t i = 0; i < count; ++i)
    {
        nvinfer1::InterfaceInfo info = creators[i]->getInterfaceInfo();
        if (std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") != 0)
        {
            std::printf("{\"kind\": \"%s\"}\n", info.kind);
            continue;
        }
        auto* creator = static_cast<nvinfer1::IPluginCreatorV3One*>(creators[i]);
        nvinfer1::PluginFieldCollection const* fields = creator->getFieldNames();
        std::printf("{\"kind\": \"%s\", \"name\": \"%s\", \"version\": \"%s\", \"namespace\": \"%s\", \"fields\": [", info.kind,
            creator->getPluginName(), creator->getPluginVersion(), creator->getPluginNamespace());
        for (int32_t f = 0; f < fields->nbFields; ++f)
        {
            std::printf("%s[\"%s\", \"%s\", %d]", f ? ", " : "", fields->fields[f].name, typeName(fields->fields[f].type),
                fields->fields[f].length);
        }
        std::printf("]}\n");
    }
    return 0;
}
