// The creators of the SDK's plugins, gathered by getCreators() in plugin_library.cpp.
#pragma once

#include <NvInferRuntime.h>

namespace rapid
{
nvinfer1::IPluginCreatorInterface* rapidFeaturesCreator();
nvinfer1::IPluginCreatorInterface* binarySearchCreator();
} // namespace rapid
