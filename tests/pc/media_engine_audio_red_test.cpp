// Audio RED receive in the MediaEngine (Chromium's red/48000/2 over Opus): redundant blocks fill frames lost before
// a packet, a late original of a filled frame is not delivered twice, malformed RED is dropped and counted.
#include "pc/media_fixture.hpp"
#include "rtp/red.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace rtcpp;
using namespace rtcpp::pc;

namespace {

std::vector<uint8_t> opus(int n) {
    std::vector<uint8_t> f(40 + n % 7, static_cast<uint8_t>(n));
    f[0] = 0x78;
    f[1] = static_cast<uint8_t>(n);
    return f;
}

struct AudioRed {
    MediaFixture f;
    uint8_t red_pt = 0;
    rtp::AudioRedEncoder enc{0, 2};
    std::vector<std::vector<uint8_t>> packets;  // by frame number

    AudioRed() {
        // The fixture negotiated the default audio codecs: Opus and RED over it.
        red_pt = 63;
        enc = rtp::AudioRedEncoder(f.opus_pt, 2);
        for (int n = 0; n < 20; ++n) {
            rtp::RtpHeader h;
            h.payload_type = red_pt;
            h.ssrc = 4242;
            h.sequence_number = static_cast<uint16_t>(65530 + n);
            h.timestamp = static_cast<uint32_t>(n * 960);
            packets.push_back(rtp::build_rtp_packet(h, enc.encode(h.timestamp, opus(n))));
        }
    }
    std::vector<int> frames() const {
        std::vector<int> out;
        for (const auto& e : f.events)
            if (auto* m = std::get_if<event::MediaFrame>(&e)) {
                CHECK(m->data == opus(m->data.at(1)));
                CHECK(m->rtp_timestamp == static_cast<uint32_t>(m->data.at(1) * 960));
                out.push_back(m->data.at(1));
            }
        return out;
    }
};

} // namespace

TEST_CASE("media engine audio red: frames lost before a RED packet come from its redundancy, in order, once") {
    AudioRed a;
    Timestamp now = Timestamp::millis(1);
    for (int n = 0; n < 20; ++n) {
        // Lose 3, 7 and 8 (two in a row: distance 2 covers them), and 14..16 (three: one stays lost).
        if (n == 3 || n == 7 || n == 8 || (n >= 14 && n <= 16)) continue;
        a.f.engine->handle_rtp(now, a.packets[static_cast<size_t>(n)]);
        now = now + TimeDelta::millis(20);
    }
    // A late original of a filled frame, and a duplicate: neither delivered again.
    a.f.engine->handle_rtp(now, a.packets[7]);
    a.f.engine->handle_rtp(now, a.packets[9]);
    const auto got = a.frames();
    std::vector<int> expected;
    for (int n = 0; n < 20; ++n)
        if (n != 14) expected.push_back(n);
    std::string g;
    for (int n : got) g += std::to_string(n) + " ";
    INFO("got " << g);
    CHECK(got == expected);
    CHECK(a.f.engine->stats().at(0).fec_packets_recovered == 5);
}

TEST_CASE("media engine audio red: malformed RED is dropped and counted; what follows still decodes") {
    AudioRed a;
    Timestamp now = Timestamp::millis(1);
    a.f.engine->handle_rtp(now, a.packets[0]);
    Random rng(5);
    for (int i = 0; i < 500; ++i) {
        rtp::RtpHeader h;
        h.payload_type = a.red_pt;
        h.ssrc = 4242;
        h.sequence_number = static_cast<uint16_t>(100 + i);
        // Timestamps far from the stream's: the receiver resynchronizes when the real ones come back.
        h.timestamp = 960u * static_cast<uint32_t>(1000 + rng.uniform(100));
        std::vector<uint8_t> body(rng.uniform(64));
        rng.fill(body);
        if (!body.empty()) body[0] |= 0x80;  // claims a redundant block first
        a.f.engine->handle_rtp(now, rtp::build_rtp_packet(h, body));
    }
    CHECK(a.f.engine->dropped() > 0);
    // The stream goes on: later packets decode, and fill what was lost before them.
    for (int n = 1; n < 20; ++n)
        if (n != 10) a.f.engine->handle_rtp(now, a.packets[static_cast<size_t>(n)]);
    const auto got = a.frames();
    CHECK(got.size() >= 19);
    CHECK(std::set<int>(got.begin(), got.end()).size() == got.size());
    CHECK(std::set<int>(got.begin(), got.end()).count(10) == 1);
}
