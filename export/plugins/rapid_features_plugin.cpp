// TensorRT IPluginV3 wrapper of rapid::RapidFeatures (TensorRT 10 and 11).
//
// The ONNX parser maps a node RapidFeatures (domain rapid) to the creator named "RapidFeatures",
// version "1", empty namespace, and passes the node's attributes as plugin fields (INT -> kINT32,
// FLOAT -> kFLOAT32). The library exports its creators through getCreators(), so
// IPluginRegistry::loadLibrary() (trt.get_plugin_registry().load_library in Python) registers them.
#include "plugin_creators.h"
#include "plugin_fields.h"
#include "rapid_features.h"

#include <NvInferRuntime.h>

#include <cstring>

using namespace nvinfer1;

namespace rapid
{
namespace
{
constexpr char const* kName = "RapidFeatures";
constexpr char const* kVersion = "1";

// the fields, in one place, for parsing, advertising and serialising
constexpr FieldSpec kFields[] = {
    {"window", PluginFieldType::kINT32}, {"k_near", PluginFieldType::kINT32}, {"k_mid", PluginFieldType::kINT32},
    {"k_far", PluginFieldType::kINT32}, {"range_near", PluginFieldType::kFLOAT32},
    {"range_far", PluginFieldType::kFLOAT32}, {"delta", PluginFieldType::kFLOAT32},
    {"frozen", PluginFieldType::kINT32}, {"r_min", PluginFieldType::kFLOAT32}, {"r_max", PluginFieldType::kFLOAT32},
    {"d_min", PluginFieldType::kFLOAT32}, {"d_max", PluginFieldType::kFLOAT32}, {"scale", PluginFieldType::kFLOAT32},
};
constexpr int kFieldCount = sizeof(kFields) / sizeof(kFields[0]);

} // namespace

struct RapidFeaturesTraits
{
    static constexpr char const* kName = rapid::kName;
    static constexpr char const* kVersion = rapid::kVersion;
    static constexpr FieldSpec const* kFields = rapid::kFields;
    static constexpr int kFieldCount = rapid::kFieldCount;
    using Params = RapidParams;
    using Plugin = class RapidFeaturesPlugin;

    //! Where each field of kFields lives in the parameters.
    static void addresses(Params& p, void** out)
    {
        void* fields[] = {&p.window, &p.kNear, &p.kMid, &p.kFar, &p.rangeNear, &p.rangeFar, &p.delta, &p.frozen, &p.rMin, &p.rMax,
            &p.dMin, &p.dMax, &p.scale};
        std::memcpy(out, fields, sizeof(fields));
    }

    static bool valid(Params const& p) { return p.problem() == nullptr; }
};

class RapidFeaturesPlugin : public FieldPlugin<RapidFeaturesTraits>
{
public:
    using FieldPlugin::FieldPlugin;

    // IPluginV3OneBuild
    int32_t configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* /*out*/,
        int32_t nbOutputs) noexcept override
    {
        return nbInputs == 1 && nbOutputs == 1 && in[0].desc.dims.nbDims == 4 ? 0 : 1;
    }

    int32_t getOutputDataTypes(DataType* outputTypes, int32_t /*nbOutputs*/, DataType const* /*inputTypes*/,
        int32_t /*nbInputs*/) const noexcept override
    {
        outputTypes[0] = DataType::kFLOAT;
        return 0;
    }

    int32_t getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const* /*shapeInputs*/,
        int32_t /*nbShapeInputs*/, DimsExprs* outputs, int32_t /*nbOutputs*/, IExprBuilder& exprBuilder) noexcept override
    {
        if (nbInputs != 1 || inputs[0].nbDims != 4)
        {
            return 1;
        }
        outputs[0].nbDims = 4;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = exprBuilder.constant(mParams.kMax());
        outputs[0].d[2] = inputs[0].d[2];
        outputs[0].d[3] = inputs[0].d[3];
        return 0;
    }

    bool supportsFormatCombination(
        int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t /*nbInputs*/, int32_t /*nbOutputs*/) noexcept override
    {
        return inOut[pos].desc.type == DataType::kFLOAT && inOut[pos].desc.format == TensorFormat::kLINEAR;
    }

    int32_t getNbOutputs() const noexcept override { return 1; }

    size_t getWorkspaceSize(DynamicPluginTensorDesc const* inputs, int32_t /*nbInputs*/,
        DynamicPluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept override
    {
        Dims const& dims = inputs[0].max;
        return rapidFeaturesWorkspaceSize(static_cast<int>(dims.d[0]), static_cast<int>(dims.d[2]),
            static_cast<int>(dims.d[3]), mParams.kMax());
    }

    // IPluginV3OneRuntime
    int32_t onShapeChange(PluginTensorDesc const* in, int32_t /*nbInputs*/, PluginTensorDesc const* /*out*/,
        int32_t /*nbOutputs*/) noexcept override
    {
        return in[0].dims.nbDims == 4 && in[0].dims.d[1] == 4 ? 0 : 1;
    }

    int32_t enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* /*outputDesc*/, void const* const* inputs,
        void* const* outputs, void* workspace, cudaStream_t stream) noexcept override
    {
        Dims const& dims = inputDesc[0].dims;
        return rapidFeaturesEnqueue(static_cast<float const*>(inputs[0]), static_cast<float*>(outputs[0]), workspace,
            static_cast<int>(dims.d[0]), static_cast<int>(dims.d[2]), static_cast<int>(dims.d[3]), mParams, stream);
    }
};

IPluginCreatorInterface* rapidFeaturesCreator()
{
    static FieldPluginCreator<RapidFeaturesTraits> creator;
    return &creator;
}

} // namespace rapid
