// The entry point TensorRT's IPluginRegistry::loadLibrary() (trtexec --dynamicPlugins) calls: every creator
// of librapid_edge_plugins.so.
#include "plugin_creators.h"

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    static nvinfer1::IPluginCreatorInterface* const creators[] = {rapid::rapidFeaturesCreator(), rapid::binarySearchCreator()};
    nbCreators = static_cast<int32_t>(sizeof(creators) / sizeof(creators[0]));
    return creators;
}
