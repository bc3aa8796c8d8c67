// The attributes of one rapid::RapidFeatures node (runtimes/ops/rapid_spec.py), without CUDA headers so
// host-only programs can use them.
#pragma once

namespace rapid
{

struct RapidParams
{
    int window = 10;
    int kNear = 10;
    int kMid = 7;
    int kFar = 5;
    float rangeNear = 20.0F;
    float rangeFar = 35.0F;
    float delta = 0.9F;
    int frozen = 0;  // 1: the statistics below are constants, not measured per frame
    float rMin = 0.0F;
    float rMax = 0.0F;
    float dMin = 0.0F;
    float dMax = 0.0F;
    float scale = 0.0F;

    int kMax() const { return kNear > kMid ? (kNear > kFar ? kNear : kFar) : (kMid > kFar ? kMid : kFar); }
};

} // namespace rapid
