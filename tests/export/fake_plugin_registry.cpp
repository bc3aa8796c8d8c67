// A stand-in for libnvinfer's plugin registry (TensorRT 11.1's IPluginRegistry), built as the libnvinfer.so that
// plugin_creators_check.cpp links: it records which creators register themselves, so the suite can see that loading
// librapid_edge_plugins.so registers both without TensorRT. Everything but registration is inert.
#include <NvInferRuntime.h>

#include <string>
#include <vector>

namespace
{
using namespace nvinfer1;

class RecordingRegistry final : public IPluginRegistry
{
public:
    void setErrorRecorder(IErrorRecorder* const) noexcept override {}
    IErrorRecorder* getErrorRecorder() const noexcept override { return nullptr; }
    bool isParentSearchEnabled() const override { return false; }
    void setParentSearchEnabled(bool const) override {}
    PluginLibraryHandle loadLibrary(AsciiChar const*) noexcept override { return nullptr; }
    void deregisterLibrary(PluginLibraryHandle) noexcept override {}

    bool registerCreator(IPluginCreatorInterface& creator, AsciiChar const* const) noexcept override
    {
        auto& named = static_cast<IPluginCreatorV3One&>(creator);
        std::string name = std::string(named.getPluginName()) + "/" + named.getPluginVersion();
        for (std::string const& known : names)
        {
            if (known == name)
            {
                return false;  // as TensorRT answers a second registration
            }
        }
        names.push_back(name);
        creators.push_back(&creator);
        return true;
    }

    IPluginCreatorInterface* const* getAllCreators(int32_t* const count) const noexcept override
    {
        *count = static_cast<int32_t>(creators.size());
        return creators.data();
    }
    IPluginCreatorInterface* getCreator(AsciiChar const*, AsciiChar const*, AsciiChar const*) noexcept override { return nullptr; }
    bool deregisterCreator(IPluginCreatorInterface const&) noexcept override { return false; }
    IPluginResource* acquirePluginResource(AsciiChar const*, IPluginResource*) noexcept override { return nullptr; }
    int32_t releasePluginResource(AsciiChar const*) noexcept override { return 0; }
    IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* const count) noexcept override
    {
        return getAllCreators(count);
    }

    std::vector<std::string> names;
    std::vector<IPluginCreatorInterface*> creators;
};

RecordingRegistry registry;
} // namespace

extern "C" IPluginRegistry* getPluginRegistry() noexcept
{
    return &registry;
}

//! The names ("Name/version") registered so far, joined by spaces, for the check program.
extern "C" char const* registeredCreators()
{
    static std::string joined;
    joined.clear();
    for (std::string const& name : registry.names)
    {
        joined += (joined.empty() ? "" : " ") + name;
    }
    return joined.c_str();
}
