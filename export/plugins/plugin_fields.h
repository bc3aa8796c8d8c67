// Plugin fields shared by the SDK's TensorRT plugins: every field is one 4-byte INT32 or FLOAT32 value,
// named as the ONNX node's attribute (the parser passes INT attributes as kINT32, FLOAT as kFLOAT32).
#pragma once

#include <NvInferRuntime.h>

#include <cstring>
#include <new>
#include <vector>

namespace rapid
{

//! The SDK's plugins register without a namespace: the ONNX parser looks creators up by node name alone.
constexpr char const* kPluginNamespace = "";

struct FieldSpec
{
    char const* name;
    nvinfer1::PluginFieldType type;
};

//! Copies the known fields of `fc` (by name) to `addresses`, leaving defaults for absent ones; false on a
//! field of the wrong type or length.
inline bool readFields(nvinfer1::PluginFieldCollection const* fc, FieldSpec const* specs, void* const* addresses, int count)
{
    for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
    {
        nvinfer1::PluginField const& field = fc->fields[i];
        for (int j = 0; j < count; ++j)
        {
            if (std::strcmp(field.name, specs[j].name) != 0)
            {
                continue;
            }
            if (field.type != specs[j].type || field.length != 1)
            {
                return false;
            }
            std::memcpy(addresses[j], field.data, 4);
        }
    }
    return true;
}

//! A field collection whose values point at `addresses` (null: a creator's list of field names).
class FieldList
{
public:
    FieldList(FieldSpec const* specs, void const* const* addresses, int count)
    {
        for (int i = 0; i < count; ++i)
        {
            mFields.emplace_back(specs[i].name, addresses ? addresses[i] : nullptr, specs[i].type, 1);
        }
        mCollection.nbFields = static_cast<int32_t>(mFields.size());
        mCollection.fields = mFields.data();
    }

    FieldList(FieldList const&) = delete;
    FieldList& operator=(FieldList const&) = delete;

    //! Points the fields' values at `addresses` (one per field, in the table's order).
    void point(void* const* addresses)
    {
        for (size_t i = 0; i < mFields.size(); ++i)
        {
            mFields[i].data = addresses[i];
        }
    }

    nvinfer1::PluginFieldCollection const* collection() const { return &mCollection; }

private:
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

//! What every plugin of the SDK shares: its parameters (one FieldSpec table over a parameter struct, the
//! serialised fields pointing into it), its names, and the capability plumbing of IPluginV3. A plugin
//! derives from FieldPlugin<Traits> and implements the build and runtime methods. Traits gives: kName,
//! kVersion, kFields, kFieldCount, Params, Plugin (the derived class, constructed from Params),
//! static void addresses(Params&, void** out) and static bool valid(Params const&).
template <typename Traits>
class FieldPlugin : public nvinfer1::IPluginV3,
                    public nvinfer1::IPluginV3OneCore,
                    public nvinfer1::IPluginV3OneBuild,
                    public nvinfer1::IPluginV3OneRuntime
{
public:
    explicit FieldPlugin(typename Traits::Params const& params)
        : mParams(params)
        , mSerialized(Traits::kFields, nullptr, Traits::kFieldCount)
    {
        Traits::addresses(mParams, mAddresses);
        mSerialized.point(mAddresses);
    }

    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override
    {
        switch (type)
        {
        case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
        case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
        case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
        }
        return nullptr;
    }

    nvinfer1::IPluginV3* clone() noexcept override { return new (std::nothrow) typename Traits::Plugin(mParams); }
    char const* getPluginName() const noexcept override { return Traits::kName; }
    char const* getPluginVersion() const noexcept override { return Traits::kVersion; }
    char const* getPluginNamespace() const noexcept override { return kPluginNamespace; }
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept override { return clone(); }
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override { return mSerialized.collection(); }

protected:
    typename Traits::Params mParams;

private:
    void* mAddresses[Traits::kFieldCount];
    FieldList mSerialized;
};

//! The creator of a FieldPlugin (same Traits).
template <typename Traits>
class FieldPluginCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    FieldPluginCreator()
        : mFields(Traits::kFields, nullptr, Traits::kFieldCount)
    {
    }

    char const* getPluginName() const noexcept override { return Traits::kName; }
    char const* getPluginVersion() const noexcept override { return Traits::kVersion; }
    char const* getPluginNamespace() const noexcept override { return kPluginNamespace; }
    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override { return mFields.collection(); }

    nvinfer1::IPluginV3* createPlugin(char const* /*name*/, nvinfer1::PluginFieldCollection const* fc,
        nvinfer1::TensorRTPhase /*phase*/) noexcept override
    {
        typename Traits::Params params;
        void* addresses[Traits::kFieldCount];
        Traits::addresses(params, addresses);
        if (!readFields(fc, Traits::kFields, addresses, Traits::kFieldCount) || !Traits::valid(params))
        {
            return nullptr;
        }
        return new (std::nothrow) typename Traits::Plugin(params);
    }

private:
    FieldList mFields;
};

} // namespace rapid
