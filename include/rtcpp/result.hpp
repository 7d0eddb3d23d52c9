// Errors are values. Result<T> holds either a T or an Error that says what went wrong, where, and in words.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rtcpp {

/// W3C DOMException names where one fits, so errors map one to one onto what browser APIs report.
enum class ErrorCategory {
    InvalidStateError,
    InvalidAccessError,
    InvalidModificationError,
    InvalidCharacterError,
    SyntaxError,
    TypeError,
    RangeError,
    NotSupportedError,
    OperationError,
    NetworkError,
    DataError,
    TimeoutError,
    SecurityError,
};

std::string_view to_string(ErrorCategory c);

/// What went wrong: the category, the layer that noticed it ("sdp", "ice", "dtls", ...), and a message for humans.
struct Error {
    ErrorCategory category = ErrorCategory::OperationError;
    std::string layer;
    std::string message;

    /// "layer: Category: message"
    std::string to_string() const;
    bool operator==(const Error&) const = default;
};

inline Error make_error(ErrorCategory category, std::string_view layer, std::string message) {
    return Error{category, std::string(layer), std::move(message)};
}

/// Either a value or an Error. Never throws; accessing the wrong alternative is a programming error (asserts).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return *std::get_if<0>(&v_); }
    const T& value() const& { assert(ok()); return *std::get_if<0>(&v_); }
    T&& value() && { assert(ok()); return std::move(*std::get_if<0>(&v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { assert(!ok()); return *std::get_if<1>(&v_); }

    template <class U>
    T value_or(U&& fallback) const& { return ok() ? value() : static_cast<T>(std::forward<U>(fallback)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)) {}

    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { assert(!ok()); return *error_; }

private:
    std::optional<Error> error_;
};

} // namespace rtcpp
