// Test helper: a strict JSON reader (RFC 8259), enough to check that what rtcpp writes (StatsReport::to_json) parses
// and carries the values the typed objects have. Rejects trailing garbage, bad escapes, leading zeros, NaN.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtcpp::test {

struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object } type = Type::Null;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<JsonValue> items;  ///< array elements, or object values
    std::vector<std::string> keys; ///< object keys, parallel to items

    bool is_object() const { return type == Type::Object; }
    /// The member `key` of an object, or nullptr.
    const JsonValue* get(std::string_view key) const {
        for (size_t i = 0; i < keys.size(); ++i)
            if (keys[i] == key) return &items[i];
        return nullptr;
    }
};

class JsonReader {
public:
    static std::optional<JsonValue> parse(std::string_view text) {
        JsonReader r(text);
        JsonValue v;
        if (!r.value(v, 0)) return std::nullopt;
        r.ws();
        if (r.pos_ != text.size()) return std::nullopt;
        return v;
    }

private:
    explicit JsonReader(std::string_view t) : t_(t) {}

    void ws() {
        while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r')) ++pos_;
    }
    bool lit(std::string_view w) {
        if (t_.substr(pos_, w.size()) != w) return false;
        pos_ += w.size();
        return true;
    }
    bool value(JsonValue& v, int depth) {
        if (depth > 64) return false;
        ws();
        if (pos_ >= t_.size()) return false;
        const char c = t_[pos_];
        if (c == '{') return object(v, depth);
        if (c == '[') return array(v, depth);
        if (c == '"') {
            v.type = JsonValue::Type::String;
            return string(v.string);
        }
        if (lit("true")) {
            v.type = JsonValue::Type::Bool;
            v.boolean = true;
            return true;
        }
        if (lit("false")) {
            v.type = JsonValue::Type::Bool;
            return true;
        }
        if (lit("null")) return true;
        return number(v);
    }
    bool object(JsonValue& v, int depth) {
        v.type = JsonValue::Type::Object;
        ++pos_;
        ws();
        if (pos_ < t_.size() && t_[pos_] == '}') {
            ++pos_;
            return true;
        }
        while (true) {
            ws();
            std::string key;
            if (pos_ >= t_.size() || t_[pos_] != '"' || !string(key)) return false;
            ws();
            if (!lit(":")) return false;
            JsonValue item;
            if (!value(item, depth + 1)) return false;
            v.keys.push_back(std::move(key));
            v.items.push_back(std::move(item));
            ws();
            if (lit(",")) continue;
            return lit("}");
        }
    }
    bool array(JsonValue& v, int depth) {
        v.type = JsonValue::Type::Array;
        ++pos_;
        ws();
        if (lit("]")) return true;
        while (true) {
            JsonValue item;
            if (!value(item, depth + 1)) return false;
            v.items.push_back(std::move(item));
            ws();
            if (lit(",")) continue;
            return lit("]");
        }
    }
    bool string(std::string& out) {
        ++pos_; // opening quote
        while (pos_ < t_.size()) {
            const char c = t_[pos_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= t_.size()) return false;
            const char e = t_[pos_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                if (pos_ + 4 > t_.size()) return false;
                unsigned cp = 0;
                for (int i = 0; i < 4; ++i) {
                    const char h = t_[pos_++];
                    cp <<= 4;
                    if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
                    else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
                    else return false;
                }
                if (cp >= 0x80) return false; // enough for these tests: rtcpp escapes control characters only
                out += static_cast<char>(cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }
    bool number(JsonValue& v) {
        const size_t start = pos_;
        if (pos_ < t_.size() && t_[pos_] == '-') ++pos_;
        if (pos_ >= t_.size()) return false;
        if (t_[pos_] == '0') {
            ++pos_;
        } else if (t_[pos_] >= '1' && t_[pos_] <= '9') {
            while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
        } else {
            return false;
        }
        if (pos_ < t_.size() && t_[pos_] == '.') {
            ++pos_;
            const size_t digits = pos_;
            while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
            if (pos_ == digits) return false;
        }
        if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-')) ++pos_;
            const size_t digits = pos_;
            while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') ++pos_;
            if (pos_ == digits) return false;
        }
        v.type = JsonValue::Type::Number;
        v.number = std::strtod(std::string(t_.substr(start, pos_ - start)).c_str(), nullptr);
        return true;
    }

    std::string_view t_;
    size_t pos_ = 0;
};

} // namespace rtcpp::test
