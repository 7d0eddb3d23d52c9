// Splits the congestion controller's target across what a session sends: audio first, then each video stream, a
// simulcast stream's layers lowest first (as libwebrtc's BitrateAllocator and SimulcastRateAllocator do).
//
// A simulcast layer is switched on only once the layers below it have their target rates and its own minimum fits
// as well; a layer that is off needs `hysteresis` more than its minimum to come back, so a target that hovers at a
// threshold does not toggle the top layer every process interval. The lowest active layer of a stream, and every
// audio stream, always get at least their minimum: suspending those is the application's choice, not the
// allocator's. Lower layers stop at their target; the highest layer that is on takes the rest up to its maximum,
// and what is left after that passes to the next video stream.
//
// Sans-IO and clock-free: allocate() is a function of its inputs and of which layers were on the last time.
#pragma once

#include <rtcpp/units.hpp>

#include <cstddef>
#include <vector>

namespace rtcpp::cc {

struct AllocationLayer {
    DataRate min = DataRate::kbps(30);
    DataRate target = DataRate::kbps(150); ///< lower layers stop here; the top one goes on to max
    DataRate max = DataRate::kbps(200);
    bool active = true;                    ///< the application's switch (W3C encoding `active`)
};

struct AllocationStream {
    bool audio = false;
    std::vector<AllocationLayer> layers;   ///< lowest first; one for a stream without simulcast
};

/// libwebrtc's bounds for simulcast layer `index` of `count` (lowest first), by the resolution such a layer usually
/// has: the top layer 1280x720 (600-2500 kbps), the one below 640x360 (150/500/700), the rest 320x180 (30/150/200).
AllocationLayer default_simulcast_layer(size_t index, size_t count);
/// A single video stream: 30 kbps up to whatever the target allows.
AllocationLayer default_video_layer();
/// An Opus stream: 6 kbps up to 64 kbps.
AllocationLayer default_audio_layer();

class BitrateAllocator {
public:
    explicit BitrateAllocator(double hysteresis = 0.15) : hysteresis_(hysteresis) {}

    /// The rate of every layer of every stream (same shape as `streams`); zero: the layer is off. Remembers which
    /// layers are on for the next call's hysteresis; the shape may change between calls (a new transceiver).
    std::vector<std::vector<DataRate>> allocate(DataRate total, const std::vector<AllocationStream>& streams);

private:
    bool was_on(size_t stream, size_t layer) const;

    double hysteresis_;
    std::vector<std::vector<bool>> on_;
};

} // namespace rtcpp::cc
