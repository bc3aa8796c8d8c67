// The entry points of librapid_edge_plugins.so.
//
// Loading the library registers both creators with TensorRT's plugin registry (a static initializer), so a plain
// dlopen is enough: Polygraphy's plugin loading (ctypes), trtexec --staticPlugins, ONNX Runtime's TensorRT
// provider (trt_extra_plugin_lib_paths) and Triton (LD_PRELOAD). getCreators() serves IPluginRegistry::loadLibrary
// (trtexec --dynamicPlugins): it hands over the creators that loading did not register, so none is registered
// twice. Where the library is loaded without libnvinfer (the suite's header checks), getPluginRegistry is a weak
// symbol left unresolved: nothing registers on load and getCreators hands over both.
#include "plugin_creators.h"

#pragma weak getPluginRegistry

namespace
{
using nvinfer1::IPluginCreatorInterface;

constexpr int32_t kCreatorCount = 2;

IPluginCreatorInterface* const* allCreators()
{
    static IPluginCreatorInterface* const creators[kCreatorCount] = {rapid::rapidFeaturesCreator(), rapid::binarySearchCreator()};
    return creators;
}

//! The creators loading did not register (all of them without TensorRT's registry), for getCreators.
struct Unregistered
{
    IPluginCreatorInterface* creators[kCreatorCount] = {};
    int32_t count = 0;
};

Unregistered& unregistered()
{
    static Unregistered left = [] {
        Unregistered result;
        nvinfer1::IPluginRegistry* registry = &getPluginRegistry != nullptr ? getPluginRegistry() : nullptr;
        for (int32_t i = 0; i < kCreatorCount; ++i)
        {
            IPluginCreatorInterface* creator = allCreators()[i];
            if (registry == nullptr || !registry->registerCreator(*creator, ""))
            {
                result.creators[result.count++] = creator;
            }
        }
        return result;
    }();
    return left;
}

//! Registration when the library is loaded.
struct RegisterOnLoad
{
    RegisterOnLoad() { unregistered(); }
} const registerOnLoad;
} // namespace

extern "C" IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    Unregistered& left = unregistered();
    nbCreators = left.count;
    return left.creators;
}
