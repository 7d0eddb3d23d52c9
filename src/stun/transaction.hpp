// Sans-IO STUN client transactions (RFC 8489 section 6.2) and a table of them keyed by transaction id.
//
// Over UDP a request is sent at 0, RTO, 3 RTO, 7 RTO, ... (Rc transmissions in all, the interval doubling), and
// the transaction times out Rm * RTO after the last one (39.5 s with RTO 500 ms, Rc 7, Rm 16). Over reliable
// transports it is sent once and times out after `reliable_timeout` (Ti, 39.5 s). Time only comes in as arguments.
//
// Use of the table:
//   table.start(now, id, bytes, tag, config);              // tag: the owner's context (e.g. which pair / server)
//   while (auto t = table.poll_transmit()) send(t->tag, t->bytes);   // first transmission and retransmissions
//   on a response: if (auto done = table.handle_response(now, msg)) ... done->tag, done->rtt
//   on timers: table.handle_timeout(now); while (auto tag = table.poll_timed_out()) ...
//   next wake-up: table.poll_timeout()
#pragma once

#include "stun/message.hpp"

#include <rtcpp/units.hpp>

#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace rtcpp::stun {

struct TransactionConfig {
    TimeDelta rto = TimeDelta::millis(500);
    int rc = 7;  ///< transmissions in all (UDP)
    int rm = 16; ///< final wait, in RTOs, after the last transmission (UDP)
    bool reliable = false;
    TimeDelta reliable_timeout = TimeDelta::millis(39500);
};

/// One outstanding request.
class ClientTransaction {
public:
    ClientTransaction(Timestamp now, const TransactionConfig& config);

    /// True when a (re)transmission is due: the caller sends the request bytes and calls on_sent(now).
    bool transmit_due() const { return transmit_due_; }
    void on_sent(Timestamp now);
    void handle_timeout(Timestamp now);
    /// When handle_timeout must be called next (plus_infinity once finished).
    Timestamp poll_timeout() const;

    bool timed_out() const { return timed_out_; }
    int transmissions() const { return transmissions_; }
    Timestamp first_sent() const { return first_sent_; }
    Timestamp last_sent() const { return last_sent_; }

private:
    TransactionConfig config_;
    TimeDelta interval_;
    Timestamp next_;
    Timestamp first_sent_ = Timestamp::minus_infinity();
    Timestamp last_sent_ = Timestamp::minus_infinity();
    int transmissions_ = 0;
    bool transmit_due_ = true;
    bool timed_out_ = false;
};

struct TransactionTransmit {
    uint64_t tag = 0;
    TransactionId id{};
    std::vector<uint8_t> bytes;
    bool retransmission = false;
};

struct TransactionDone {
    uint64_t tag = 0;
    /// From the last transmission of the request to the response (Karn's ambiguity accepted).
    TimeDelta rtt = TimeDelta::zero();
    int transmissions = 0;
};

class TransactionTable {
public:
    /// Starts a transaction; the first transmission is available from poll_transmit() right away.
    /// Replaces any transaction with the same id.
    void start(Timestamp now, const TransactionId& id, std::vector<uint8_t> request, uint64_t tag,
               const TransactionConfig& config = {});
    /// Matches a response (success or error) by transaction id. Returns the finished transaction, which is removed;
    /// nullopt for an unknown id (a stray or late response: drop it).
    std::optional<TransactionDone> handle_response(Timestamp now, const TransactionId& id);
    std::optional<TransactionDone> handle_response(Timestamp now, const Message& response) {
        return handle_response(now, response.transaction_id());
    }
    void handle_timeout(Timestamp now);
    /// Next (re)transmission to send now. Marks it sent at the `now` of the last handle_timeout/start.
    std::optional<TransactionTransmit> poll_transmit();
    /// Tag of a transaction that timed out (removed from the table).
    std::optional<uint64_t> poll_timed_out();
    Timestamp poll_timeout() const;

    bool contains(const TransactionId& id) const { return entries_.count(id) != 0; }
    std::optional<uint64_t> tag_of(const TransactionId& id) const;
    bool cancel(const TransactionId& id) { return entries_.erase(id) != 0; }
    /// Cancels every transaction carrying this tag.
    void cancel_tag(uint64_t tag);
    size_t size() const { return entries_.size(); }
    void clear();

private:
    struct Entry {
        ClientTransaction tx;
        std::vector<uint8_t> request;
        uint64_t tag;
    };
    std::map<TransactionId, Entry> entries_;
    std::deque<uint64_t> timed_out_;
    Timestamp now_ = Timestamp::zero();
};

} // namespace rtcpp::stun
