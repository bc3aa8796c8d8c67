// The per-element logic of the rapid::BinarySearch CUDA kernels (binary_search_kernels.cu, compiled here as
// host C++), run on files: each query's cosine against every document and the ranking keys, ordered as
// bebr_select orders them. usage: bebr_host_check QUERIES QUERY_NORMS DOCS DOC_NORMS Q N bits planes k OUT
// (OUT: per query, k records of float32 score + int64 index, as bebr_launch_check writes them)
#include "binary_search_kernels.cu"
#include "check_io.h"

#include <algorithm>
#include <cstdio>
#include <functional>

int main(int argc, char** argv)
{
    if (argc != 11)
    {
        std::fprintf(stderr, "expected 10 arguments, got %d\n", argc - 1);
        return 2;
    }
    int queries = std::atoi(argv[5]), documents = std::atoi(argv[6]);
    int bits = std::atoi(argv[7]), planes = std::atoi(argv[8]), k = std::atoi(argv[9]);
    int words = planes * bits / 32;
    auto queryCodes = readAll<unsigned int>(argv[1], static_cast<size_t>(queries) * words);
    auto queryNorms = readAll<float>(argv[2], queries);
    auto docCodes = readAll<unsigned int>(argv[3], static_cast<size_t>(documents) * words);
    auto docNorms = readAll<float>(argv[4], documents);
    FILE* out = std::fopen(argv[10], "wb");
    std::vector<bebr_key_t> keys(documents);
    for (int q = 0; q < queries; ++q)
    {
        std::vector<float> cosines(documents);
        for (int d = 0; d < documents; ++d)
        {
            int score = bebr_sdc_score(&queryCodes[static_cast<size_t>(q) * words], &docCodes[static_cast<size_t>(d) * words],
                bits, planes);
            cosines[d] = bebr_cosine(score, queryNorms[q], docNorms[d]);
            keys[d] = bebr_key(cosines[d], static_cast<unsigned int>(d));
        }
        std::partial_sort(keys.begin(), keys.begin() + k, keys.end(), std::greater<bebr_key_t>());
        for (int r = 0; r < k; ++r)
        {
            unsigned int index = bebr_key_index(keys[r]);
            long long index64 = index;
            std::fwrite(&cosines[index], sizeof(float), 1, out);
            std::fwrite(&index64, sizeof(long long), 1, out);
        }
    }
    std::fclose(out);
    return 0;
}
