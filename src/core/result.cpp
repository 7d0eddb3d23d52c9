#include "rtcpp/result.hpp"

namespace rtcpp {

std::string_view to_string(ErrorCategory c) {
    switch (c) {
    case ErrorCategory::InvalidStateError: return "InvalidStateError";
    case ErrorCategory::InvalidAccessError: return "InvalidAccessError";
    case ErrorCategory::InvalidModificationError: return "InvalidModificationError";
    case ErrorCategory::InvalidCharacterError: return "InvalidCharacterError";
    case ErrorCategory::SyntaxError: return "SyntaxError";
    case ErrorCategory::TypeError: return "TypeError";
    case ErrorCategory::RangeError: return "RangeError";
    case ErrorCategory::NotSupportedError: return "NotSupportedError";
    case ErrorCategory::OperationError: return "OperationError";
    case ErrorCategory::NetworkError: return "NetworkError";
    case ErrorCategory::DataError: return "DataError";
    case ErrorCategory::TimeoutError: return "TimeoutError";
    case ErrorCategory::SecurityError: return "SecurityError";
    }
    return "UnknownError";
}

std::string Error::to_string() const {
    std::string s;
    if (!layer.empty()) {
        s += layer;
        s += ": ";
    }
    s += rtcpp::to_string(category);
    s += ": ";
    s += message;
    return s;
}

} // namespace rtcpp
