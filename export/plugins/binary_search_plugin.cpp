// TensorRT IPluginV3 wrapper of rapid::BinarySearch (TensorRT 10 and 11).
//
// The ONNX parser maps a node BinarySearch (domain rapid) to the creator named "BinarySearch", version "1",
// empty namespace; the node's INT attributes bits, planes and k arrive as kINT32 fields. Inputs: query codes
// int32 [Q, W], query norms float [Q], document codes int32 [N, W], document norms float [N]; outputs:
// scores float [Q, k] and indices int64 [Q, k]. k is at most 3840, TensorRT's own TopK limit.
#include "binary_search.h"
#include "plugin_creators.h"
#include "plugin_fields.h"

#include <NvInferRuntime.h>

#include <cstring>

using namespace nvinfer1;

namespace rapid
{
namespace
{
constexpr char const* kName = "BinarySearch";
constexpr char const* kVersion = "1";

constexpr FieldSpec kFields[] = {
    {"bits", PluginFieldType::kINT32}, {"planes", PluginFieldType::kINT32}, {"k", PluginFieldType::kINT32}};
constexpr int kFieldCount = sizeof(kFields) / sizeof(kFields[0]);
constexpr int kInputs = 4;
constexpr int kOutputs = 2;
constexpr DataType kInputTypes[kInputs] = {DataType::kINT32, DataType::kFLOAT, DataType::kINT32, DataType::kFLOAT};
constexpr DataType kOutputTypes[kOutputs] = {DataType::kFLOAT, DataType::kINT64};

//! Ranks of each input: codes are matrices, norms vectors.
constexpr int kInputRanks[kInputs] = {2, 1, 2, 1};
} // namespace

struct BinarySearchTraits
{
    static constexpr char const* kName = rapid::kName;
    static constexpr char const* kVersion = rapid::kVersion;
    static constexpr FieldSpec const* kFields = rapid::kFields;
    static constexpr int kFieldCount = rapid::kFieldCount;
    using Params = BinarySearchParams;
    using Plugin = class BinarySearchPlugin;

    //! Where each field of kFields lives in the parameters.
    static void addresses(Params& p, void** out)
    {
        void* fields[] = {&p.bits, &p.planes, &p.k};
        std::memcpy(out, fields, sizeof(fields));
    }

    static bool valid(Params const& p) { return p.valid(); }
};

class BinarySearchPlugin : public FieldPlugin<BinarySearchTraits>
{
public:
    using FieldPlugin::FieldPlugin;

    // IPluginV3OneBuild
    int32_t configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* /*out*/,
        int32_t nbOutputs) noexcept override
    {
        if (nbInputs != kInputs || nbOutputs != kOutputs)
        {
            return 1;
        }
        for (int i = 0; i < kInputs; ++i)
        {
            if (in[i].desc.dims.nbDims != kInputRanks[i])
            {
                return 1;
            }
        }
        return in[0].desc.dims.d[1] == mParams.words() && in[2].desc.dims.d[1] == mParams.words() ? 0 : 1;
    }

    int32_t getOutputDataTypes(DataType* outputTypes, int32_t nbOutputs, DataType const* /*inputTypes*/,
        int32_t /*nbInputs*/) const noexcept override
    {
        if (nbOutputs != kOutputs)
        {
            return 1;
        }
        outputTypes[0] = kOutputTypes[0];
        outputTypes[1] = kOutputTypes[1];
        return 0;
    }

    int32_t getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const* /*shapeInputs*/,
        int32_t /*nbShapeInputs*/, DimsExprs* outputs, int32_t nbOutputs, IExprBuilder& exprBuilder) noexcept override
    {
        if (nbInputs != kInputs || nbOutputs != kOutputs || inputs[0].nbDims != 2)
        {
            return 1;
        }
        for (int o = 0; o < kOutputs; ++o)
        {
            outputs[o].nbDims = 2;
            outputs[o].d[0] = inputs[0].d[0];
            outputs[o].d[1] = exprBuilder.constant(mParams.k);
        }
        return 0;
    }

    bool supportsFormatCombination(
        int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t /*nbInputs*/, int32_t /*nbOutputs*/) noexcept override
    {
        DataType expected = pos < kInputs ? kInputTypes[pos] : kOutputTypes[pos - kInputs];
        return inOut[pos].desc.type == expected && inOut[pos].desc.format == TensorFormat::kLINEAR;
    }

    int32_t getNbOutputs() const noexcept override { return kOutputs; }

    size_t getWorkspaceSize(DynamicPluginTensorDesc const* inputs, int32_t /*nbInputs*/,
        DynamicPluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept override
    {
        return binarySearchWorkspaceSize(static_cast<int>(inputs[0].max.d[0]), static_cast<int>(inputs[2].max.d[0]));
    }

    // IPluginV3OneRuntime
    int32_t onShapeChange(PluginTensorDesc const* in, int32_t /*nbInputs*/, PluginTensorDesc const* /*out*/,
        int32_t /*nbOutputs*/) noexcept override
    {
        // the index must hold at least k documents; the codes must have this layout's width
        return in[2].dims.d[0] >= mParams.k && in[0].dims.d[1] == mParams.words() ? 0 : 1;
    }

    int32_t enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* /*outputDesc*/, void const* const* inputs,
        void* const* outputs, void* workspace, cudaStream_t stream) noexcept override
    {
        return binarySearchEnqueue(static_cast<int32_t const*>(inputs[0]), static_cast<float const*>(inputs[1]),
            static_cast<int32_t const*>(inputs[2]), static_cast<float const*>(inputs[3]), static_cast<float*>(outputs[0]),
            static_cast<int64_t*>(outputs[1]), workspace, static_cast<int>(inputDesc[0].dims.d[0]),
            static_cast<int>(inputDesc[2].dims.d[0]), mParams, stream);
    }
};

IPluginCreatorInterface* binarySearchCreator()
{
    static FieldPluginCreator<BinarySearchTraits> creator;
    return &creator;
}

} // namespace rapid
