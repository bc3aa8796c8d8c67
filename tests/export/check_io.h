// File input of the suite's small check programs.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <vector>

template <typename T>
std::vector<T> readAll(char const* path, size_t count)
{
    std::vector<T> values(count);
    FILE* file = std::fopen(path, "rb");
    if (file == nullptr || std::fread(values.data(), sizeof(T), count, file) != count)
    {
        std::fprintf(stderr, "cannot read %zu values from %s\n", count, path);
        std::exit(1);
    }
    std::fclose(file);
    return values;
}
