// A FIFO queue in one growable ring buffer: what std::deque is used for on the per-packet paths, without its
// allocation churn. libstdc++'s deque frees a block each time pop_front() leaves one and allocates a new block each
// time push_back() enters one, so a queue that only ever holds a few packets still allocates once every few
// packets. Here the storage grows (doubling) to the largest size the queue has had and then stays: a steady state
// allocates nothing.
//
// Popped slots are reset to T{} at once, so a queue of buffers keeps no buffer alive after handing it out.
// T must be default-constructible and move-assignable.
#pragma once

#include <cassert>
#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace rtcpp {

template <class T>
class RingQueue {
public:
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    /// Slots allocated (the high-water mark, rounded up to a power of two).
    size_t capacity() const { return slots_.size(); }

    T& front() { return slots_[head_]; }
    const T& front() const { return slots_[head_]; }
    T& back() { return (*this)[size_ - 1]; }
    const T& back() const { return (*this)[size_ - 1]; }
    T& operator[](size_t i) { return slots_[(head_ + i) & mask()]; }
    const T& operator[](size_t i) const { return slots_[(head_ + i) & mask()]; }

    void push_back(T&& v) {
        grow_for(size_ + 1);
        slots_[(head_ + size_) & mask()] = std::move(v);
        ++size_;
    }
    void push_back(const T& v) {
        grow_for(size_ + 1);
        slots_[(head_ + size_) & mask()] = v;
        ++size_;
    }
    /// Builds T{args...} (braces: aggregates such as Transmit work; note a vector's list constructor wins).
    template <class... A>
    T& emplace_back(A&&... args) {
        grow_for(size_ + 1);
        T& slot = slots_[(head_ + size_) & mask()];
        slot = T{std::forward<A>(args)...};
        ++size_;
        return slot;
    }
    void pop_front() {
        assert(size_ > 0);
        slots_[head_] = T{};
        head_ = (head_ + 1) & mask();
        --size_;
    }
    void pop_back() {
        assert(size_ > 0);
        back() = T{};
        --size_;
    }
    /// Grows with default-constructed elements or shrinks from the back.
    void resize(size_t n) {
        grow_for(n);
        while (size_ > n) pop_back();
        size_ = n; // the slots beyond the old size are already T{}
    }
    /// Allocates room for `n` elements now (a queue whose bound is known grows no more later).
    void reserve(size_t n) { grow_for(n); }
    /// Keeps the storage.
    void clear() {
        while (size_ > 0) pop_front();
        head_ = 0;
    }

    template <class Q, class V>
    class Iter {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = V*;
        using reference = V&;
        Iter() = default;
        Iter(Q* q, size_t i) : q_(q), i_(i) {}
        reference operator*() const { return (*q_)[i_]; }
        pointer operator->() const { return &(*q_)[i_]; }
        Iter& operator++() {
            ++i_;
            return *this;
        }
        Iter operator++(int) {
            Iter old = *this;
            ++i_;
            return old;
        }
        bool operator==(const Iter& o) const { return i_ == o.i_; }
        bool operator!=(const Iter& o) const { return i_ != o.i_; }

    private:
        Q* q_ = nullptr;
        size_t i_ = 0;
    };
    using iterator = Iter<RingQueue, T>;
    using const_iterator = Iter<const RingQueue, const T>;
    iterator begin() { return {this, 0}; }
    iterator end() { return {this, size_}; }
    const_iterator begin() const { return {this, 0}; }
    const_iterator end() const { return {this, size_}; }

private:
    size_t mask() const { return slots_.size() - 1; }
    void grow_for(size_t n) {
        if (n <= slots_.size()) return;
        size_t cap = slots_.empty() ? 8 : slots_.size();
        while (cap < n) cap *= 2;
        std::vector<T> next(cap);
        for (size_t i = 0; i < size_; ++i) next[i] = std::move((*this)[i]);
        slots_.swap(next);
        head_ = 0;
    }

    std::vector<T> slots_; // size is 0 or a power of two
    size_t head_ = 0;
    size_t size_ = 0;
};

} // namespace rtcpp
