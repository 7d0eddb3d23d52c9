#include "stun/transaction.hpp"

#include <algorithm>

namespace rtcpp::stun {

ClientTransaction::ClientTransaction(Timestamp now, const TransactionConfig& config)
    : config_(config), interval_(config.rto), next_(now) {
    if (config_.rc < 1) config_.rc = 1;
}

void ClientTransaction::on_sent(Timestamp now) {
    transmit_due_ = false;
    if (transmissions_ == 0) first_sent_ = now;
    last_sent_ = now;
    ++transmissions_;
    if (config_.reliable) {
        next_ = now + config_.reliable_timeout;
    } else if (transmissions_ >= config_.rc) {
        next_ = now + config_.rto * config_.rm;
    } else {
        next_ = now + interval_;
        interval_ = interval_ * 2;
    }
}

void ClientTransaction::handle_timeout(Timestamp now) {
    if (timed_out_ || transmit_due_ || now < next_) return;
    if (config_.reliable || transmissions_ >= config_.rc) {
        timed_out_ = true;
        return;
    }
    transmit_due_ = true;
}

Timestamp ClientTransaction::poll_timeout() const {
    if (timed_out_) return Timestamp::plus_infinity();
    if (transmit_due_) return next_;
    return next_;
}

void TransactionTable::start(Timestamp now, const TransactionId& id, std::vector<uint8_t> request, uint64_t tag,
                             const TransactionConfig& config) {
    if (now > now_) now_ = now;
    entries_.insert_or_assign(id, Entry{ClientTransaction(now, config), std::move(request), tag});
}

std::optional<TransactionDone> TransactionTable::handle_response(Timestamp now, const TransactionId& id) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.tx.transmissions() == 0) return std::nullopt;
    TransactionDone done{it->second.tag, now - it->second.tx.last_sent(), it->second.tx.transmissions()};
    if (done.rtt < TimeDelta::zero()) done.rtt = TimeDelta::zero();
    entries_.erase(it);
    return done;
}

void TransactionTable::handle_timeout(Timestamp now) {
    if (now > now_) now_ = now;
    for (auto it = entries_.begin(); it != entries_.end();) {
        it->second.tx.handle_timeout(now_);
        if (it->second.tx.timed_out()) {
            timed_out_.push_back(it->second.tag);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
}

std::optional<TransactionTransmit> TransactionTable::poll_transmit() {
    for (auto& [id, e] : entries_) {
        if (!e.tx.transmit_due()) continue;
        TransactionTransmit t{e.tag, id, e.request, e.tx.transmissions() > 0};
        e.tx.on_sent(now_);
        return t;
    }
    return std::nullopt;
}

std::optional<uint64_t> TransactionTable::poll_timed_out() {
    if (timed_out_.empty()) return std::nullopt;
    auto t = timed_out_.front();
    timed_out_.pop_front();
    return t;
}

Timestamp TransactionTable::poll_timeout() const {
    Timestamp t = Timestamp::plus_infinity();
    for (const auto& [id, e] : entries_) t = std::min(t, e.tx.poll_timeout());
    return t;
}

std::optional<uint64_t> TransactionTable::tag_of(const TransactionId& id) const {
    auto it = entries_.find(id);
    if (it == entries_.end()) return std::nullopt;
    return it->second.tag;
}

void TransactionTable::cancel_tag(uint64_t tag) {
    std::erase_if(entries_, [tag](const auto& kv) { return kv.second.tag == tag; });
}

void TransactionTable::clear() {
    entries_.clear();
    timed_out_.clear();
}

} // namespace rtcpp::stun
