// Plugin fields shared by the SDK's TensorRT plugins: every field is one 4-byte INT32 or FLOAT32 value,
// named as the ONNX node's attribute (the parser passes INT attributes as kINT32, FLOAT as kFLOAT32).
#pragma once

#include <NvInferRuntime.h>

#include <cstring>
#include <vector>

namespace rapid
{

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

    nvinfer1::PluginFieldCollection const* collection() const { return &mCollection; }

private:
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

} // namespace rapid
