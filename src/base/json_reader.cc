#include "sesame/base/json_reader.h"

#include <jansson.h>

#include <cmath>

namespace sesame::json {

bool Value::isNull() const {
  return j_ != nullptr && json_is_null(j_);
}
bool Value::isObject() const {
  return j_ != nullptr && json_is_object(j_);
}
bool Value::isArray() const {
  return j_ != nullptr && json_is_array(j_);
}
bool Value::isString() const {
  return j_ != nullptr && json_is_string(j_);
}
bool Value::isInteger() const {
  return j_ != nullptr && json_is_integer(j_);
}
bool Value::isBool() const {
  return j_ != nullptr && json_is_boolean(j_);
}

std::optional<std::string_view> Value::string() const {
  if (!isString()) return std::nullopt;
  return std::string_view(json_string_value(j_), json_string_length(j_));
}

std::optional<int64_t> Value::integer() const {
  if (!isInteger()) return std::nullopt;
  return static_cast<int64_t>(json_integer_value(j_));
}

std::optional<int64_t> Value::seconds() const {
  if (isInteger()) return integer();
  if (j_ == nullptr || !json_is_real(j_)) return std::nullopt;
  const double d = std::floor(json_real_value(j_));
  // 2^63 is exactly representable; anything at or above it (or NaN, which
  // fails both comparisons) does not fit.
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return std::nullopt;
  return static_cast<int64_t>(d);
}

std::optional<bool> Value::boolean() const {
  if (!isBool()) return std::nullopt;
  return json_is_true(j_);
}

Value Value::get(std::string_view key) const {
  if (!isObject()) return Value();
  return Value(json_object_getn(j_, key.data(), key.size()));
}

size_t Value::size() const {
  if (isArray()) return json_array_size(j_);
  if (isObject()) return json_object_size(j_);
  return 0;
}

Value Value::at(size_t i) const {
  if (!isArray()) return Value();
  return Value(json_array_get(j_, i));
}

Members Value::members() const {
  if (!isObject()) return Members({nullptr, nullptr}, {nullptr, nullptr});
  // jansson's iteration API takes a non-const object but does not modify it.
  json_t* object = const_cast<json_t*>(j_);
  return Members({j_, json_object_iter(object)}, {j_, nullptr});
}

Member MemberIterator::operator*() const {
  return Member{std::string_view(json_object_iter_key(iter_), json_object_iter_key_len(iter_)),
                Value(json_object_iter_value(iter_))};
}

MemberIterator& MemberIterator::operator++() {
  iter_ = json_object_iter_next(const_cast<json_t*>(object_), iter_);
  return *this;
}

Document& Document::operator=(Document&& o) noexcept {
  if (this != &o) {
    json_decref(j_);
    j_ = o.j_;
    o.j_ = nullptr;
  }
  return *this;
}

Document::~Document() {
  json_decref(j_);
}

namespace {

// The deepest array/object nesting in `text`, counted without parsing:
// brackets inside strings (escapes honoured) do not count. Stops counting
// once `limit` is passed. Malformed text is left for the parser to refuse.
bool deeperThan(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// jansson's own messages quote the input ("invalid token near 'xyz'"), so
// only the error code and the position are reported.
std::string reason(const json_error_t& e) {
  std::string what;
  switch (json_error_code(&e)) {
    case json_error_invalid_utf8:
      what = "invalid UTF-8";
      break;
    case json_error_premature_end_of_input:
      what = "truncated JSON";
      break;
    case json_error_end_of_input_expected:
      what = "trailing bytes after the JSON value";
      break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
      what = "NUL character in a string";
      break;
    case json_error_duplicate_key:
      what = "duplicate object member";
      break;
    case json_error_numeric_overflow:
      what = "number out of range";
      break;
    case json_error_stack_overflow:
      what = "nesting too deep";
      break;
    case json_error_out_of_memory:
      what = "out of memory";
      break;
    default:
      what = "invalid JSON";
      break;
  }
  return what + " at byte " + std::to_string(e.position);
}

}  // namespace

std::optional<Document> parse(std::string_view text, const Limits& limits, std::string* error) {
  if (text.size() > limits.max_bytes) {
    if (error) *error = "JSON text longer than " + std::to_string(limits.max_bytes) + " bytes";
    return std::nullopt;
  }
  if (deeperThan(text, limits.max_depth)) {
    if (error) *error = "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels";
    return std::nullopt;
  }
  json_error_t e;
  // No JSON_ALLOW_NUL: "\u0000" is refused, so a string's bytes never hide
  // a terminator from C code downstream.
  json_t* j = json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
  if (j == nullptr) {
    if (error) *error = reason(e);
    return std::nullopt;
  }
  return Document(j);
}

}  // namespace sesame::json
