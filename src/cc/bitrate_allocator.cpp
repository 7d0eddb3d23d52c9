#include "cc/bitrate_allocator.hpp"

#include <algorithm>

namespace rtcpp::cc {

AllocationLayer default_simulcast_layer(size_t index, size_t count) {
    const size_t from_top = count - 1 - std::min(index, count - 1);
    if (from_top == 0) return {DataRate::kbps(600), DataRate::kbps(2500), DataRate::kbps(2500), true};
    if (from_top == 1) return {DataRate::kbps(150), DataRate::kbps(500), DataRate::kbps(700), true};
    return {DataRate::kbps(30), DataRate::kbps(150), DataRate::kbps(200), true};
}

AllocationLayer default_video_layer() {
    return {DataRate::kbps(30), DataRate::infinity(), DataRate::infinity(), true};
}

AllocationLayer default_audio_layer() {
    return {DataRate::kbps(6), DataRate::kbps(64), DataRate::kbps(64), true};
}

bool BitrateAllocator::was_on(size_t stream, size_t layer) const {
    return stream < on_.size() && layer < on_[stream].size() && on_[stream][layer];
}

namespace {

DataRate clamp_rate(DataRate v, DataRate lo, DataRate hi) { return std::max(lo, std::min(v, hi)); }

DataRate take(DataRate& left, DataRate amount) {
    left = amount >= left ? DataRate::zero() : left - amount;
    return amount;
}

} // namespace

std::vector<std::vector<DataRate>> BitrateAllocator::allocate(DataRate total, const std::vector<AllocationStream>& streams) {
    std::vector<std::vector<DataRate>> out(streams.size());
    std::vector<std::vector<bool>> on(streams.size());
    for (size_t s = 0; s < streams.size(); ++s) {
        out[s].assign(streams[s].layers.size(), DataRate::zero());
        on[s].assign(streams[s].layers.size(), false);
    }
    DataRate left = std::max(total, DataRate::zero());

    // Audio first: cheap, and what a call can least do without.
    for (size_t s = 0; s < streams.size(); ++s) {
        if (!streams[s].audio) continue;
        for (size_t l = 0; l < streams[s].layers.size(); ++l) {
            const AllocationLayer& layer = streams[s].layers[l];
            if (!layer.active) continue;
            out[s][l] = take(left, clamp_rate(left, layer.min, layer.max));
            on[s][l] = true;
        }
    }

    size_t video_streams = 0;
    for (const auto& st : streams) video_streams += st.audio ? 0 : 1;
    for (size_t s = 0; s < streams.size(); ++s) {
        const AllocationStream& st = streams[s];
        if (st.audio) continue;
        // An even share of what is left; what this stream does not use passes on to the ones after it.
        DataRate budget = video_streams > 1 ? DataRate::bps(left.bps() / static_cast<int64_t>(video_streams)) : left;
        --video_streams;
        const DataRate budget_at_start = budget;

        // Which layers are on: the lowest active one always; each next one once the layers below have their targets
        // and its minimum (with hysteresis when it was off) fits too.
        std::vector<size_t> layers_on;
        DataRate committed = DataRate::zero();
        for (size_t l = 0; l < st.layers.size(); ++l) {
            const AllocationLayer& layer = st.layers[l];
            if (!layer.active) continue;
            if (!layers_on.empty()) {
                const DataRate below = committed + st.layers[layers_on.back()].target;
                const DataRate need = was_on(s, l) ? layer.min : layer.min * (1.0 + hysteresis_);
                if (below >= budget || budget - below < need) break;
                committed = below;
            }
            layers_on.push_back(l);
        }
        for (size_t i = 0; i < layers_on.size(); ++i) {
            const size_t l = layers_on[i];
            const AllocationLayer& layer = st.layers[l];
            const bool top = i + 1 == layers_on.size();
            out[s][l] = take(budget, clamp_rate(budget, layer.min, top ? layer.max : layer.target));
            on[s][l] = true;
        }
        const DataRate used = budget_at_start >= budget ? budget_at_start - budget : DataRate::zero();
        take(left, used);
    }
    on_ = std::move(on);
    return out;
}

} // namespace rtcpp::cc
