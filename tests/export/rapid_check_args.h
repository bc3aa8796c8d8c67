// Command line of the RapidFeatures check programs: IN OUT B H W window kNear kMid kFar rangeNear rangeFar
// delta frozen rMin rMax dMin dMax scale (the order of launcher_arguments in test_rapid_cuda.py).
#pragma once

#include "rapid_params.h"

#include <cstdio>
#include <cstdlib>

struct RapidCheckArgs
{
    char const* in;
    char const* out;
    int batch, height, width;
    rapid::RapidParams params;
};

inline RapidCheckArgs parseRapidCheckArgs(int argc, char** argv)
{
    if (argc != 19)
    {
        std::fprintf(stderr, "expected 18 arguments, got %d\n", argc - 1);
        std::exit(2);
    }
    RapidCheckArgs a{argv[1], argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]), {}};
    rapid::RapidParams& p = a.params;
    p.window = std::atoi(argv[6]);
    p.kNear = std::atoi(argv[7]);
    p.kMid = std::atoi(argv[8]);
    p.kFar = std::atoi(argv[9]);
    p.rangeNear = std::strtof(argv[10], nullptr);
    p.rangeFar = std::strtof(argv[11], nullptr);
    p.delta = std::strtof(argv[12], nullptr);
    p.frozen = std::atoi(argv[13]);
    p.rMin = std::strtof(argv[14], nullptr);
    p.rMax = std::strtof(argv[15], nullptr);
    p.dMin = std::strtof(argv[16], nullptr);
    p.dMax = std::strtof(argv[17], nullptr);
    p.scale = std::strtof(argv[18], nullptr);
    return a;
}
