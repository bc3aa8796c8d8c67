// The SDK's ONNX Runtime custom-op library: rapid::RapidFeatures and rapid::BinarySearch as native kernels.
//
// CPU kernels run the __host__ __device__ functions of the CUDA kernel files (compiled here as host C++), so each
// op's arithmetic has one definition; the pixels (RapidFeatures) or the query and document ranges
// (BinarySearch) are spread over ONNX Runtime's intra-op threads. Built with RAPID_ORT_CUDA (and linked with
// the launchers and the CUDA runtime), the library also registers both ops for ONNX Runtime's CUDA provider,
// launching the kernels the TensorRT plugins use on the stream ONNX Runtime gives the node.
//
// Compiled against ONNX Runtime's C API headers alone (no libonnxruntime link). The ops are declared as version
// kApiVersion structs and ask ONNX Runtime for that API, so one build loads in every ONNX Runtime from 1.18 on;
// every function pointer of OrtCustomOp is set, since some releases call the newer ones unconditionally.
#include "onnxruntime_c_api.h"

#include "binary_search_kernels.cu"
#include "binary_search_params.h"
#include "rapid_features_kernels.cu"
#include "rapid_params.h"

#ifdef RAPID_ORT_CUDA
#include "binary_search.h"
#include "rapid_features.h"
#endif

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace
{

//! ONNX Runtime 1.18: the oldest release the SDK supports (KernelContext_ParallelFor needs 17, the V2 kernel
//! callbacks 16).
constexpr uint32_t kApiVersion = 18;
constexpr char const* kDomain = "rapid";
constexpr char const* kCudaProvider = "CUDAExecutionProvider";

OrtApi const* api = nullptr;

OrtStatusPtr failure(std::string const& message)
{
    return api->CreateStatus(ORT_INVALID_ARGUMENT, message.c_str());
}

#define RAPID_ORT_RETURN_IF_ERROR(call)                                                                                \
    do                                                                                                                 \
    {                                                                                                                  \
        if (OrtStatusPtr status_ = (call))                                                                             \
            return status_;                                                                                            \
    } while (0)

// ---------------------------------------------------------------------------------------------------------------
// Tensors and attributes

struct Tensor
{
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    std::vector<int64_t> shape;
    void* data = nullptr;
};

OrtStatusPtr describe(OrtValue const* value, Tensor& tensor)
{
    OrtTensorTypeAndShapeInfo* info = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->GetTensorTypeAndShape(value, &info));
    size_t rank = 0;
    OrtStatusPtr status = api->GetTensorElementType(info, &tensor.type);
    if (status == nullptr)
        status = api->GetDimensionsCount(info, &rank);
    if (status == nullptr)
    {
        tensor.shape.resize(rank);
        status = api->GetDimensions(info, tensor.shape.data(), rank);
    }
    api->ReleaseTensorTypeAndShapeInfo(info);
    return status;
}

OrtStatusPtr input(OrtKernelContext* context, size_t index, Tensor& tensor)
{
    OrtValue const* value = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->KernelContext_GetInput(context, index, &value));
    RAPID_ORT_RETURN_IF_ERROR(describe(value, tensor));
    return api->GetTensorMutableData(const_cast<OrtValue*>(value), &tensor.data);
}

template <typename T>
OrtStatusPtr output(OrtKernelContext* context, size_t index, std::vector<int64_t> const& shape, T** data)
{
    OrtValue* value = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->KernelContext_GetOutput(context, index, shape.data(), shape.size(), &value));
    return api->GetTensorMutableData(value, reinterpret_cast<void**>(data));
}

std::string shapeText(std::vector<int64_t> const& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

//! Why `tensor` is not a `rank`-D tensor of `type`, or an empty string.
std::string mismatch(Tensor const& tensor, ONNXTensorElementDataType type, size_t rank, char const* expected)
{
    if (tensor.type == type && tensor.shape.size() == rank)
        return {};
    return std::string("expected ") + expected + ", got a rank-" + std::to_string(tensor.shape.size()) + " tensor "
        + shapeText(tensor.shape) + (tensor.type == type ? "" : " of another element type");
}

OrtStatusPtr attribute(OrtKernelInfo const* info, char const* op, char const* name, int& value)
{
    int64_t read = 0;
    if (OrtStatusPtr status = api->KernelInfoGetAttribute_int64(info, name, &read))
    {
        api->ReleaseStatus(status);
        return failure(std::string(op) + ": integer attribute '" + name + "' is missing");
    }
    if (read < INT_MIN || read > INT_MAX)
        return failure(std::string(op) + ": attribute '" + name + "' is out of range");
    value = static_cast<int>(read);
    return nullptr;
}

OrtStatusPtr attribute(OrtKernelInfo const* info, char const* op, char const* name, float& value)
{
    if (OrtStatusPtr status = api->KernelInfoGetAttribute_float(info, name, &value))
    {
        api->ReleaseStatus(status);
        return failure(std::string(op) + ": float attribute '" + name + "' is missing");
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// Kernels

struct Kernel
{
    virtual ~Kernel() = default;
    virtual OrtStatusPtr compute(OrtKernelContext* context) = 0;
};

//! A kernel of one node: its attributes, read when ONNX Runtime creates it.
template <typename Params>
class NodeKernel : public Kernel
{
public:
    explicit NodeKernel(Params const& params)
        : mParams(params)
    {
    }

protected:
    Params mParams;
};

constexpr char const* kRapidOp = "rapid::RapidFeatures";
constexpr char const* kSearchOp = "rapid::BinarySearch";

OrtStatusPtr readRapidParams(OrtKernelInfo const* info, rapid::RapidParams& p)
{
    struct
    {
        char const* name;
        int* value;
    } const integers[] = {{"window", &p.window}, {"k_near", &p.kNear}, {"k_mid", &p.kMid}, {"k_far", &p.kFar},
        {"frozen", &p.frozen}};
    for (auto const& field : integers)
        RAPID_ORT_RETURN_IF_ERROR(attribute(info, kRapidOp, field.name, *field.value));
    struct
    {
        char const* name;
        float* value;
    } const reals[] = {{"range_near", &p.rangeNear}, {"range_far", &p.rangeFar}, {"delta", &p.delta}};
    for (auto const& field : reals)
        RAPID_ORT_RETURN_IF_ERROR(attribute(info, kRapidOp, field.name, *field.value));
    if (p.frozen)
    {
        struct
        {
            char const* name;
            float* value;
        } const stats[] = {{"r_min", &p.rMin}, {"r_max", &p.rMax}, {"d_min", &p.dMin}, {"d_max", &p.dMax}, {"scale", &p.scale}};
        for (auto const& field : stats)
            RAPID_ORT_RETURN_IF_ERROR(attribute(info, kRapidOp, field.name, *field.value));
    }
    if (char const* problem = p.problem())
        return failure(std::string(kRapidOp) + ": " + problem);
    return nullptr;
}

//! The image input checked against the op: [B, 4, H, W] float32, the window narrower than W.
OrtStatusPtr rapidImage(OrtKernelContext* context, rapid::RapidParams const& p, Tensor& image)
{
    RAPID_ORT_RETURN_IF_ERROR(input(context, 0, image));
    std::string problem = mismatch(image, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, 4, "image float32 [B, 4, H, W]");
    if (problem.empty() && image.shape[1] != 4)
        problem = "image must have 4 channels (x, y, z, reflectivity), got " + shapeText(image.shape);
    if (problem.empty() && (image.shape[2] > INT_MAX || image.shape[3] > INT_MAX || image.shape[0] > INT_MAX))
        problem = "image " + shapeText(image.shape) + " is too large";
    if (problem.empty() && image.shape[3] > 0)
        if (char const* reason = p.problem(static_cast<int>(image.shape[3])))
            problem = reason;
    return problem.empty() ? nullptr : failure(std::string(kRapidOp) + ": " + problem);
}

//! One RapidFeatures call on the CPU: the launcher's four passes over chunks of pixels. Each chunk keeps the
//! frame statistics it sees (the kernels' atomic minima and maxima) in its own copy, merged between passes:
//! minima and maxima do not depend on the order, so the result equals the sequential one bit for bit.
class RapidFeaturesCpu final : public NodeKernel<rapid::RapidParams>
{
public:
    using NodeKernel::NodeKernel;

    OrtStatusPtr compute(OrtKernelContext* context) override
    {
        Tensor image;
        RAPID_ORT_RETURN_IF_ERROR(rapidImage(context, mParams, image));
        mBatch = static_cast<int>(image.shape[0]);
        mHeight = static_cast<int>(image.shape[2]);
        mWidth = static_cast<int>(image.shape[3]);
        mKMax = mParams.kMax();
        RAPID_ORT_RETURN_IF_ERROR(output(context, 0, {image.shape[0], mKMax, image.shape[2], image.shape[3]}, &mOut));
        mImage = static_cast<float const*>(image.data);
        mPixels = static_cast<long long>(mBatch) * mHeight * mWidth;
        if (mPixels == 0)
            return nullptr;
        mChunks = std::max<long long>(1, std::min<long long>(kMaxChunks, mPixels / kPixelsPerChunk));
        mPerChunk = (mPixels + mChunks - 1) / mChunks;
        size_t values = static_cast<size_t>(mPixels) * mKMax;
        mD3.resize(values);
        mRefl.resize(values);
        mCount.resize(static_cast<size_t>(mPixels));
        mStats.assign(static_cast<size_t>(mBatch) * RAPID_STATS, 0);
        mChunkStats.resize(static_cast<size_t>(mChunks) * mStats.size());
        for (long long chunk = 0; chunk < mChunks; ++chunk)
            for (int b = 0; b < mBatch; ++b)
                rapid_init_stats_item(chunkStats(chunk), b);
        RAPID_ORT_RETURN_IF_ERROR(run(context, Pass::kSelect));
        mergeStats(0, 4);  // r_min, r_max, d_min, d_max
        for (long long chunk = 0; chunk < mChunks; ++chunk)
            std::copy(mStats.begin(), mStats.end(), chunkStats(chunk));
        RAPID_ORT_RETURN_IF_ERROR(run(context, Pass::kDistance4));
        mergeStats(4, 5);  // scale
        return run(context, Pass::kNormalise);
    }

private:
    static constexpr long long kPixelsPerChunk = 4096;
    static constexpr long long kMaxChunks = 256;

    enum class Pass
    {
        kSelect,
        kDistance4,
        kNormalise
    };

    unsigned int* chunkStats(long long chunk) { return mChunkStats.data() + chunk * mStats.size(); }

    OrtStatusPtr run(OrtKernelContext* context, Pass pass)
    {
        mPass = pass;
        return api->KernelContext_ParallelFor(context, &RapidFeaturesCpu::chunkTask, static_cast<size_t>(mChunks), 0, this);
    }

    static void chunkTask(void* self, size_t chunk)
    {
        static_cast<RapidFeaturesCpu*>(self)->runChunk(static_cast<long long>(chunk));
    }

    void runChunk(long long chunk)
    {
        long long begin = chunk * mPerChunk, end = std::min(mPixels, begin + mPerChunk);
        rapid::RapidParams const& p = mParams;
        unsigned int* stats = chunkStats(chunk);
        for (long long i = begin; i < end; ++i)
        {
            switch (mPass)
            {
            case Pass::kSelect:
                rapid_select_pixel(i, mImage, mHeight, mWidth, p.window, p.kNear, p.kMid, p.kFar, p.rangeNear, p.rangeFar,
                    mKMax, mD3.data(), mRefl.data(), mCount.data(), stats);
                break;
            case Pass::kDistance4:
                rapid_distance4_pixel(i, mImage, mHeight, mWidth, mKMax, p.frozen, p.rMin, p.rMax, p.dMin, p.dMax,
                    mD3.data(), mRefl.data(), mCount.data(), stats);
                break;
            case Pass::kNormalise:
                rapid_normalise_pixel(i, mHeight, mWidth, mKMax, p.frozen, p.scale, p.delta, mD3.data(), mCount.data(),
                    mStats.data(), mOut);
                break;
            }
        }
    }

    //! Statistics [first, last) of every batch item, from the chunks' copies: minima at even positions
    //! (r_min, d_min), maxima at odd ones and for the scale.
    void mergeStats(int first, int last)
    {
        for (int b = 0; b < mBatch; ++b)
        {
            for (int s = first; s < last; ++s)
            {
                bool minimum = s == 0 || s == 2;
                unsigned int merged = chunkStats(0)[b * RAPID_STATS + s];
                for (long long chunk = 1; chunk < mChunks; ++chunk)
                {
                    unsigned int value = chunkStats(chunk)[b * RAPID_STATS + s];
                    merged = minimum ? std::min(merged, value) : std::max(merged, value);
                }
                mStats[b * RAPID_STATS + s] = merged;
            }
        }
    }

    // one call's state, kept between calls so the buffers are reused (Serialised: one call at a time)
    int mBatch = 0, mHeight = 0, mWidth = 0, mKMax = 0;
    long long mPixels = 0, mChunks = 0, mPerChunk = 0;
    float const* mImage = nullptr;
    float* mOut = nullptr;
    Pass mPass = Pass::kSelect;
    std::vector<float> mD3, mRefl;
    std::vector<int> mCount;
    std::vector<unsigned int> mStats, mChunkStats;
};

OrtStatusPtr readSearchParams(OrtKernelInfo const* info, rapid::BinarySearchParams& p)
{
    RAPID_ORT_RETURN_IF_ERROR(attribute(info, kSearchOp, "bits", p.bits));
    RAPID_ORT_RETURN_IF_ERROR(attribute(info, kSearchOp, "planes", p.planes));
    RAPID_ORT_RETURN_IF_ERROR(attribute(info, kSearchOp, "k", p.k));
    if (char const* problem = p.problem())
        return failure(std::string(kSearchOp) + ": " + problem);
    return nullptr;
}

struct SearchInputs
{
    Tensor queries, queryNorms, documents, documentNorms;
    int64_t queryCount = 0, documentCount = 0;
};

//! The four inputs checked against the layout and k: codes int32 [Q, W] and [N, W], norms float32 [Q] and [N].
OrtStatusPtr searchInputs(OrtKernelContext* context, rapid::BinarySearchParams const& p, SearchInputs& in)
{
    RAPID_ORT_RETURN_IF_ERROR(input(context, 0, in.queries));
    RAPID_ORT_RETURN_IF_ERROR(input(context, 1, in.queryNorms));
    RAPID_ORT_RETURN_IF_ERROR(input(context, 2, in.documents));
    RAPID_ORT_RETURN_IF_ERROR(input(context, 3, in.documentNorms));
    std::string words = std::to_string(p.words());
    std::string problem = mismatch(in.queries, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, 2, ("query codes int32 [Q, " + words + "]").c_str());
    if (problem.empty())
        problem = mismatch(in.documents, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, 2, ("document codes int32 [N, " + words + "]").c_str());
    if (problem.empty() && (in.queries.shape[1] != p.words() || in.documents.shape[1] != p.words()))
        problem = "codes of " + std::to_string(p.planes) + " planes of " + std::to_string(p.bits) + " bits have " + words
            + " words, got query codes " + shapeText(in.queries.shape) + " and document codes " + shapeText(in.documents.shape);
    if (problem.empty())
    {
        in.queryCount = in.queries.shape[0];
        in.documentCount = in.documents.shape[0];
        problem = mismatch(in.queryNorms, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, 1, "query norms float32 [Q]");
    }
    if (problem.empty())
        problem = mismatch(in.documentNorms, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, 1, "document norms float32 [N]");
    if (problem.empty() && (in.queryNorms.shape[0] != in.queryCount || in.documentNorms.shape[0] != in.documentCount))
        problem = "one norm per code: " + shapeText(in.queryNorms.shape) + " query norms for " + std::to_string(in.queryCount)
            + " queries, " + shapeText(in.documentNorms.shape) + " document norms for " + std::to_string(in.documentCount)
            + " documents";
    if (problem.empty() && in.documentCount > UINT32_MAX - 1)
        problem = "more than 2^32 - 1 documents";
    if (problem.empty() && p.k > in.documentCount)
        problem = "k = " + std::to_string(p.k) + " is larger than the index (" + std::to_string(in.documentCount) + " documents)";
    return problem.empty() ? nullptr : failure(std::string(kSearchOp) + ": " + problem);
}

//! The two outputs, [Q, k] scores and indices.
OrtStatusPtr searchOutputs(OrtKernelContext* context, SearchInputs const& in, int k, float** scores, int64_t** indices)
{
    RAPID_ORT_RETURN_IF_ERROR(output(context, 0, {in.queryCount, k}, scores));
    return output(context, 1, {in.queryCount, k}, indices);
}

//! Norms must be finite and positive (bebr_spec.check_norms): the cosine divides by them.
OrtStatusPtr checkNorms(Tensor const& norms, int64_t count, char const* what)
{
    auto const* values = static_cast<float const*>(norms.data);
    for (int64_t i = 0; i < count; ++i)
        if (!(std::isfinite(values[i]) && values[i] > 0.0F))
            return failure(std::string(kSearchOp) + ": every " + what + " must be finite and positive (entry "
                + std::to_string(i) + " is " + std::to_string(values[i]) + ")");
    return nullptr;
}

//! One BinarySearch call on the CPU. Tasks are (query, range of documents): each keeps the top k of its range
//! as a heap of the kernels' 64-bit keys (ordered cosine, then the complement of the index: unique, so ties go
//! to the lower index); a second pass merges each query's ranges. The scores written are the kernels' cosines
//! of the winners.
class BinarySearchCpu final : public NodeKernel<rapid::BinarySearchParams>
{
public:
    using NodeKernel::NodeKernel;

    OrtStatusPtr compute(OrtKernelContext* context) override
    {
        SearchInputs in;
        RAPID_ORT_RETURN_IF_ERROR(searchInputs(context, mParams, in));
        RAPID_ORT_RETURN_IF_ERROR(checkNorms(in.queryNorms, in.queryCount, "query norm"));
        RAPID_ORT_RETURN_IF_ERROR(checkNorms(in.documentNorms, in.documentCount, "document norm"));
        int64_t k = mParams.k;
        RAPID_ORT_RETURN_IF_ERROR(searchOutputs(context, in, mParams.k, &mScores, &mIndices));
        if (in.queryCount == 0)
            return nullptr;
        mQueries = static_cast<unsigned int const*>(in.queries.data);
        mQueryNorms = static_cast<float const*>(in.queryNorms.data);
        mDocuments = static_cast<unsigned int const*>(in.documents.data);
        mDocumentNorms = static_cast<float const*>(in.documentNorms.data);
        mDocumentCount = in.documentCount;
        // ranges of at least kDocumentsPerRange documents (and 4k, so a range's heap stays small beside it)
        long long perRange = std::max<long long>(kDocumentsPerRange, 4 * k);
        mRanges = std::max<long long>(1, std::min<long long>(kMaxRanges, mDocumentCount / perRange));
        mPerRange = (mDocumentCount + mRanges - 1) / mRanges;
        mKeys.resize(static_cast<size_t>(in.queryCount * mRanges * k));
        mFilled.resize(static_cast<size_t>(in.queryCount * mRanges));
        RAPID_ORT_RETURN_IF_ERROR(api->KernelContext_ParallelFor(context, &BinarySearchCpu::rangeTask,
            static_cast<size_t>(in.queryCount * mRanges), 0, this));
        return api->KernelContext_ParallelFor(context, &BinarySearchCpu::mergeTask, static_cast<size_t>(in.queryCount), 0, this);
    }

private:
    static constexpr long long kDocumentsPerRange = 16384;
    static constexpr long long kMaxRanges = 64;

    unsigned int const* query(long long q) const { return mQueries + q * mParams.words(); }

    float cosine(long long q, long long d) const
    {
        int score = bebr_sdc_score(query(q), mDocuments + d * mParams.words(), mParams.bits, mParams.planes);
        return bebr_cosine(score, mQueryNorms[q], mDocumentNorms[d]);
    }

    static void rangeTask(void* self, size_t task)
    {
        static_cast<BinarySearchCpu*>(self)->searchRange(static_cast<long long>(task));
    }

    void searchRange(long long task)
    {
        long long q = task / mRanges, range = task % mRanges;
        long long begin = range * mPerRange, end = std::min(mDocumentCount, begin + mPerRange);
        bebr_key_t* heap = mKeys.data() + task * mParams.k;  // a min-heap: heap[0] is the weakest kept
        size_t size = 0, k = static_cast<size_t>(mParams.k);
        for (long long d = begin; d < end; ++d)
        {
            bebr_key_t key = bebr_key(cosine(q, d), static_cast<unsigned int>(d));
            if (size < k)
            {
                heap[size++] = key;
                std::push_heap(heap, heap + size, std::greater<bebr_key_t>());
            }
            else if (key > heap[0])
            {
                std::pop_heap(heap, heap + size, std::greater<bebr_key_t>());
                heap[size - 1] = key;
                std::push_heap(heap, heap + size, std::greater<bebr_key_t>());
            }
        }
        mFilled[task] = size;
    }

    static void mergeTask(void* self, size_t q)
    {
        static_cast<BinarySearchCpu*>(self)->mergeQuery(static_cast<long long>(q));
    }

    void mergeQuery(long long q)
    {
        long long k = mParams.k;
        std::vector<bebr_key_t> keys;
        keys.reserve(static_cast<size_t>(mRanges * k));
        for (long long range = 0; range < mRanges; ++range)
        {
            bebr_key_t const* kept = mKeys.data() + (q * mRanges + range) * k;
            keys.insert(keys.end(), kept, kept + mFilled[q * mRanges + range]);
        }
        std::partial_sort(keys.begin(), keys.begin() + k, keys.end(), std::greater<bebr_key_t>());
        for (long long rank = 0; rank < k; ++rank)
        {
            unsigned int index = bebr_key_index(keys[rank]);
            mScores[q * k + rank] = cosine(q, index);
            mIndices[q * k + rank] = index;
        }
    }

    unsigned int const* mQueries = nullptr;
    float const* mQueryNorms = nullptr;
    unsigned int const* mDocuments = nullptr;
    float const* mDocumentNorms = nullptr;
    long long mDocumentCount = 0, mRanges = 0, mPerRange = 0;
    float* mScores = nullptr;
    int64_t* mIndices = nullptr;
    std::vector<bebr_key_t> mKeys;
    std::vector<size_t> mFilled;
};

#ifdef RAPID_ORT_CUDA
//! A CUDA runtime status as an ONNX Runtime one.
OrtStatusPtr cudaFailure(char const* op, cudaError_t error)
{
    return error == cudaSuccess ? nullptr
                                : api->CreateStatus(ORT_EP_FAIL, (std::string(op) + ": " + cudaGetErrorString(error)).c_str());
}

//! Scratch memory on the node's stream, freed in stream order.
class StreamWorkspace
{
public:
    StreamWorkspace(size_t bytes, cudaStream_t stream)
        : mStream(stream)
    {
        mError = bytes ? cudaMallocAsync(&mPointer, bytes, stream) : cudaSuccess;
    }
    ~StreamWorkspace()
    {
        if (mPointer != nullptr)
            cudaFreeAsync(mPointer, mStream);
    }
    StreamWorkspace(StreamWorkspace const&) = delete;
    StreamWorkspace& operator=(StreamWorkspace const&) = delete;

    void* get() const { return mPointer; }
    cudaError_t error() const { return mError; }

private:
    void* mPointer = nullptr;
    cudaStream_t mStream;
    cudaError_t mError;
};

OrtStatusPtr computeStream(OrtKernelContext* context, cudaStream_t& stream)
{
    void* raw = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->KernelContext_GetGPUComputeStream(context, &raw));
    stream = static_cast<cudaStream_t>(raw);
    return nullptr;
}

class RapidFeaturesCuda final : public NodeKernel<rapid::RapidParams>
{
public:
    using NodeKernel::NodeKernel;

    OrtStatusPtr compute(OrtKernelContext* context) override
    {
        Tensor image;
        RAPID_ORT_RETURN_IF_ERROR(rapidImage(context, mParams, image));
        float* out = nullptr;
        RAPID_ORT_RETURN_IF_ERROR(output(context, 0, {image.shape[0], mParams.kMax(), image.shape[2], image.shape[3]}, &out));
        int batch = static_cast<int>(image.shape[0]), height = static_cast<int>(image.shape[2]);
        int width = static_cast<int>(image.shape[3]);
        if (static_cast<long long>(batch) * height * width == 0)
            return nullptr;
        cudaStream_t stream = nullptr;
        RAPID_ORT_RETURN_IF_ERROR(computeStream(context, stream));
        StreamWorkspace workspace(rapid::rapidFeaturesWorkspaceSize(batch, height, width, mParams.kMax()), stream);
        RAPID_ORT_RETURN_IF_ERROR(cudaFailure(kRapidOp, workspace.error()));
        return cudaFailure(kRapidOp, static_cast<cudaError_t>(rapid::rapidFeaturesEnqueue(
            static_cast<float const*>(image.data), out, workspace.get(), batch, height, width, mParams, stream)));
    }
};

class BinarySearchCuda final : public NodeKernel<rapid::BinarySearchParams>
{
public:
    using NodeKernel::NodeKernel;

    OrtStatusPtr compute(OrtKernelContext* context) override
    {
        SearchInputs in;
        RAPID_ORT_RETURN_IF_ERROR(searchInputs(context, mParams, in));
        float* scores = nullptr;
        int64_t* indices = nullptr;
        RAPID_ORT_RETURN_IF_ERROR(searchOutputs(context, in, mParams.k, &scores, &indices));
        if (in.queryCount == 0)
            return nullptr;
        if (in.queryCount > INT_MAX || in.documentCount > INT_MAX)
            return failure(std::string(kSearchOp) + ": the CUDA kernels take at most 2^31 - 1 queries and documents");
        int queries = static_cast<int>(in.queryCount), documents = static_cast<int>(in.documentCount);
        cudaStream_t stream = nullptr;
        RAPID_ORT_RETURN_IF_ERROR(computeStream(context, stream));
        StreamWorkspace workspace(rapid::binarySearchWorkspaceSize(queries, documents), stream);
        RAPID_ORT_RETURN_IF_ERROR(cudaFailure(kSearchOp, workspace.error()));
        return cudaFailure(kSearchOp, static_cast<cudaError_t>(rapid::binarySearchEnqueue(
            static_cast<int32_t const*>(in.queries.data), static_cast<float const*>(in.queryNorms.data),
            static_cast<int32_t const*>(in.documents.data), static_cast<float const*>(in.documentNorms.data), scores,
            indices, workspace.get(), queries, documents, mParams, stream)));
    }
};
#endif // RAPID_ORT_CUDA

//! A kernel that ONNX Runtime may call from several threads at once (concurrent Run calls on one session):
//! the wrapped kernel keeps one call's state, so calls take turns.
class Serialised final : public Kernel
{
public:
    explicit Serialised(Kernel* kernel)
        : mKernel(kernel)
    {
    }
    ~Serialised() override { delete mKernel; }
    Serialised(Serialised const&) = delete;
    Serialised& operator=(Serialised const&) = delete;

    OrtStatusPtr compute(OrtKernelContext* context) override
    {
        std::lock_guard<std::mutex> lock(mMutex);
        return mKernel->compute(context);
    }

private:
    Kernel* mKernel;
    std::mutex mMutex;
};

// ---------------------------------------------------------------------------------------------------------------
// Shape inference: outputs' element types and shapes from the inputs' and the attributes

OrtStatusPtr integerAttribute(OrtShapeInferContext* context, char const* op, char const* name, int64_t& value)
{
    OrtOpAttr const* attr = nullptr;
    size_t written = 0;
    OrtStatusPtr status = api->ShapeInferContext_GetAttribute(context, name, &attr);
    if (status == nullptr && attr != nullptr)
        status = api->ReadOpAttr(attr, ORT_OP_ATTR_INT, &value, sizeof(value), &written);
    else if (status == nullptr)
        return failure(std::string(op) + ": integer attribute '" + name + "' is missing");
    if (status == nullptr)
        return nullptr;
    api->ReleaseStatus(status);
    return failure(std::string(op) + ": integer attribute '" + name + "' is missing");
}

struct InferredDims
{
    std::vector<int64_t> dims;
    std::vector<char const*> names;
};

//! Input `index`'s dimensions and their symbolic names (none when its rank is unknown). The context owns the
//! description it hands out (and so the names): it is not released here.
OrtStatusPtr inputDims(OrtShapeInferContext* context, size_t index, InferredDims& out)
{
    OrtTensorTypeAndShapeInfo* info = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->ShapeInferContext_GetInputTypeShape(context, index, &info));
    size_t rank = 0;
    RAPID_ORT_RETURN_IF_ERROR(api->GetDimensionsCount(info, &rank));
    out.dims.resize(rank);
    out.names.resize(rank);
    RAPID_ORT_RETURN_IF_ERROR(api->GetDimensions(info, out.dims.data(), rank));
    return api->GetSymbolicDimensions(info, out.names.data(), rank);
}

OrtStatusPtr setOutput(OrtShapeInferContext* context, size_t index, ONNXTensorElementDataType type, InferredDims const& shape)
{
    OrtTensorTypeAndShapeInfo* info = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->CreateTensorTypeAndShapeInfo(&info));
    OrtStatusPtr status = api->SetTensorElementType(info, type);
    if (status == nullptr)
        status = api->SetDimensions(info, shape.dims.data(), shape.dims.size());
    if (status == nullptr)
        status = api->SetSymbolicDimensions(info, const_cast<char const**>(shape.names.data()), shape.names.size());
    if (status == nullptr)
        status = api->ShapeInferContext_SetOutputTypeShape(context, index, info);
    api->ReleaseTensorTypeAndShapeInfo(info);
    return status;
}

//! [B, 4, H, W] -> [B, k_max, H, W].
OrtStatusPtr inferRapidShape(OrtShapeInferContext* context)
{
    int64_t k[3] = {};
    char const* names[] = {"k_near", "k_mid", "k_far"};
    for (int i = 0; i < 3; ++i)
        RAPID_ORT_RETURN_IF_ERROR(integerAttribute(context, kRapidOp, names[i], k[i]));
    InferredDims shape;
    OrtStatusPtr status = inputDims(context, 0, shape);
    bool known = status == nullptr && !shape.dims.empty();  // rank 0: the graph records no shape to infer from
    if (known && shape.dims.size() != 4)
        status = failure(std::string(kRapidOp) + ": image must be [B, 4, H, W], got rank " + std::to_string(shape.dims.size()));
    if (known && status == nullptr)
    {
        shape.dims[1] = std::max({k[0], k[1], k[2]});
        shape.names[1] = "";
        status = setOutput(context, 0, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, shape);
    }
    return status;
}

//! query codes [Q, W] -> scores float32 [Q, k], indices int64 [Q, k].
OrtStatusPtr inferSearchShape(OrtShapeInferContext* context)
{
    int64_t k = 0;
    RAPID_ORT_RETURN_IF_ERROR(integerAttribute(context, kSearchOp, "k", k));
    InferredDims queries;
    OrtStatusPtr status = inputDims(context, 0, queries);
    bool known = status == nullptr && !queries.dims.empty();
    if (known && queries.dims.size() != 2)
        status = failure(std::string(kSearchOp) + ": query codes must be [Q, W], got rank " + std::to_string(queries.dims.size()));
    if (known && status == nullptr)
    {
        InferredDims out{{queries.dims[0], k}, {queries.names[0], ""}};
        status = setOutput(context, 0, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, out);
        if (status == nullptr)
            status = setOutput(context, 1, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, out);
    }
    return status;
}

// ---------------------------------------------------------------------------------------------------------------
// The OrtCustomOp structs

struct NativeOp : OrtCustomOp
{
    char const* name;
    char const* provider;  // nullptr: ONNX Runtime's CPU provider
    std::vector<ONNXTensorElementDataType> inputs, outputs;
    OrtStatusPtr (*create)(OrtKernelInfo const* info, Kernel** kernel);
    OrtStatusPtr (*inferShape)(OrtShapeInferContext* context);
};

NativeOp const& self(OrtCustomOp const* op)
{
    return *static_cast<NativeOp const*>(op);
}

template <typename Params, OrtStatusPtr (*read)(OrtKernelInfo const*, Params&), typename K>
OrtStatusPtr createKernel(OrtKernelInfo const* info, Kernel** kernel)
{
    Params params;
    RAPID_ORT_RETURN_IF_ERROR(read(info, params));
    *kernel = new Serialised(new K(params));
    return nullptr;
}

OrtStatusPtr ORT_API_CALL createKernelV2(OrtCustomOp const* op, OrtApi const*, OrtKernelInfo const* info, void** kernel)
{
    Kernel* created = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(self(op).create(info, &created));
    *kernel = created;
    return nullptr;
}

//! The pre-1.16 callbacks: ONNX Runtime uses the V2 ones for ops of this version, and these have no way to
//! report an error, so they are here because every pointer must be set.
void* ORT_API_CALL createKernelV1(OrtCustomOp const* op, OrtApi const* ortApi, OrtKernelInfo const* info)
{
    void* kernel = nullptr;
    if (OrtStatusPtr status = createKernelV2(op, ortApi, info, &kernel))
        api->ReleaseStatus(status);
    return kernel;
}

OrtStatusPtr ORT_API_CALL computeV2(void* kernel, OrtKernelContext* context)
{
    return static_cast<Kernel*>(kernel)->compute(context);
}

void ORT_API_CALL computeV1(void* kernel, OrtKernelContext* context)
{
    if (OrtStatusPtr status = computeV2(kernel, context))
        api->ReleaseStatus(status);
}

void ORT_API_CALL destroyKernel(void* kernel)
{
    delete static_cast<Kernel*>(kernel);
}

OrtStatusPtr ORT_API_CALL inferShape(OrtCustomOp const* op, OrtShapeInferContext* context)
{
    return self(op).inferShape(context);
}

size_t ORT_API_CALL noPairs(int** first, int** second)
{
    *first = nullptr;
    *second = nullptr;
    return 0;
}

void ORT_API_CALL releasePairs(int*, int*) {}

NativeOp makeOp(char const* name, char const* provider, std::vector<ONNXTensorElementDataType> inputs,
    std::vector<ONNXTensorElementDataType> outputs, OrtStatusPtr (*create)(OrtKernelInfo const*, Kernel**),
    OrtStatusPtr (*infer)(OrtShapeInferContext*))
{
    NativeOp op{};
    op.version = kApiVersion;
    op.name = name;
    op.provider = provider;
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.create = create;
    op.inferShape = infer;
    op.CreateKernel = createKernelV1;
    op.GetName = [](OrtCustomOp const* o) { return self(o).name; };
    op.GetExecutionProviderType = [](OrtCustomOp const* o) { return self(o).provider; };
    op.GetInputType = [](OrtCustomOp const* o, size_t i) { return self(o).inputs.at(i); };
    op.GetInputTypeCount = [](OrtCustomOp const* o) { return self(o).inputs.size(); };
    op.GetOutputType = [](OrtCustomOp const* o, size_t i) { return self(o).outputs.at(i); };
    op.GetOutputTypeCount = [](OrtCustomOp const* o) { return self(o).outputs.size(); };
    op.KernelCompute = computeV1;
    op.KernelDestroy = destroyKernel;
    op.GetInputCharacteristic = [](OrtCustomOp const*, size_t) { return INPUT_OUTPUT_REQUIRED; };
    op.GetOutputCharacteristic = [](OrtCustomOp const*, size_t) { return INPUT_OUTPUT_REQUIRED; };
    op.GetInputMemoryType = [](OrtCustomOp const*, size_t) { return OrtMemTypeDefault; };
    op.GetVariadicInputMinArity = [](OrtCustomOp const*) { return 1; };
    op.GetVariadicInputHomogeneity = [](OrtCustomOp const*) { return 1; };
    op.GetVariadicOutputMinArity = [](OrtCustomOp const*) { return 1; };
    op.GetVariadicOutputHomogeneity = [](OrtCustomOp const*) { return 1; };
    op.CreateKernelV2 = createKernelV2;
    op.KernelComputeV2 = computeV2;
    op.InferOutputShapeFn = inferShape;
    op.GetStartVersion = [](OrtCustomOp const*) { return 1; };
    op.GetEndVersion = [](OrtCustomOp const*) { return INT_MAX; };
    op.GetMayInplace = noPairs;
    op.ReleaseMayInplace = releasePairs;
    op.GetAliasMap = noPairs;
    op.ReleaseAliasMap = releasePairs;
    return op;
}

constexpr ONNXTensorElementDataType kFloat = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ONNXTensorElementDataType kInt32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ONNXTensorElementDataType kInt64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

template <typename RapidKernel, typename SearchKernel>
void addOps(std::vector<NativeOp>& ops, char const* provider)
{
    ops.push_back(makeOp("RapidFeatures", provider, {kFloat}, {kFloat},
        createKernel<rapid::RapidParams, readRapidParams, RapidKernel>, inferRapidShape));
    ops.push_back(makeOp("BinarySearch", provider, {kInt32, kFloat, kInt32, kFloat}, {kFloat, kInt64},
        createKernel<rapid::BinarySearchParams, readSearchParams, SearchKernel>, inferSearchShape));
}

std::vector<NativeOp> const& nativeOps()
{
    static std::vector<NativeOp> const ops = [] {
        std::vector<NativeOp> made;
        addOps<RapidFeaturesCpu, BinarySearchCpu>(made, nullptr);
#ifdef RAPID_ORT_CUDA
        addOps<RapidFeaturesCuda, BinarySearchCuda>(made, kCudaProvider);
#endif
        return made;
    }();
    return ops;
}

} // namespace

//! Called by SessionOptions.register_custom_ops_library: adds domain `rapid` with the ops to the options. The
//! domains stay alive for the life of the process (sessions made from the options refer to them).
extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(
    OrtSessionOptions* options, OrtApiBase const* base)
{
    OrtApi const* found = base->GetApi(kApiVersion);
    if (found == nullptr)
    {
        std::string message = std::string("the SDK's native op library needs ONNX Runtime 1.18 or newer; this is ")
            + base->GetVersionString();
        return base->GetApi(1)->CreateStatus(ORT_FAIL, message.c_str());
    }
    api = found;
    static std::mutex domainsMutex;
    static std::vector<OrtCustomOpDomain*> domains;
    std::lock_guard<std::mutex> lock(domainsMutex);
    OrtCustomOpDomain* domain = nullptr;
    RAPID_ORT_RETURN_IF_ERROR(api->CreateCustomOpDomain(kDomain, &domain));
    domains.push_back(domain);
    for (NativeOp const& op : nativeOps())
        RAPID_ORT_RETURN_IF_ERROR(api->CustomOpDomain_Add(domain, &op));
    return api->AddCustomOpDomain(options, domain);
}
