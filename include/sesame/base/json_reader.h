// Reading untrusted JSON (provider documents, JWT headers and claims) through jansson, bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct json_t;

namespace sesame::json {

class Members;

// A non-owning view of one JSON value inside a Document; valid while the
// Document lives. A missing member or out-of-range element is the empty view,
// on which every accessor answers "not that type", so lookups chain without
// checks: doc.root().get("keys").at(0).get("kty").string().
class Value {
 public:
  Value() = default;
  explicit Value(const json_t* j) : j_(j) {}

  // False for the empty view (a member that is absent); true for JSON null.
  bool exists() const { return j_ != nullptr; }
  bool isNull() const;
  bool isObject() const;
  bool isArray() const;
  bool isString() const;
  bool isInteger() const;
  bool isBool() const;

  // The exact bytes of a JSON string (valid UTF-8, no NUL: parse refuses both).
  std::optional<std::string_view> string() const;
  // A JSON integer only; 1.0 is not an integer.
  std::optional<int64_t> integer() const;
  // An RFC 7519 NumericDate: an integer, or a real floored to whole seconds
  // (1700000000.5 -> 1700000000); a real outside the int64 range is refused.
  std::optional<int64_t> seconds() const;
  std::optional<bool> boolean() const;

  // The member `key` of an object (exact bytes); the empty view when this is
  // not an object or has no such member.
  Value get(std::string_view key) const;
  // Elements of an array or members of an object; 0 for anything else.
  size_t size() const;
  // Element `i` of an array; the empty view when out of range or not an array.
  Value at(size_t i) const;

  // Iterates an object's members in document order (empty for non-objects):
  //   for (auto [key, value] : v.members()) ...
  Members members() const;

 private:
  const json_t* j_ = nullptr;
};

struct Member {
  std::string_view key;
  Value value;
};

class MemberIterator {
 public:
  MemberIterator(const json_t* object, void* iter) : object_(object), iter_(iter) {}
  Member operator*() const;
  MemberIterator& operator++();
  bool operator==(const MemberIterator& o) const { return iter_ == o.iter_; }

 private:
  const json_t* object_;
  void* iter_;
};

class Members {
 public:
  Members(MemberIterator b, MemberIterator e) : b_(b), e_(e) {}
  MemberIterator begin() const { return b_; }
  MemberIterator end() const { return e_; }

 private:
  MemberIterator b_, e_;
};

// Owns a parsed JSON tree (one jansson reference). Move-only.
class Document {
 public:
  explicit Document(json_t* owned) : j_(owned) {}
  Document(Document&& o) noexcept : j_(o.j_) { o.j_ = nullptr; }
  Document& operator=(Document&& o) noexcept;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  ~Document();

  Value root() const { return Value(j_); }

 private:
  json_t* j_;
};

struct Limits {
  // Text longer than this is refused before a byte is parsed.
  size_t max_bytes = 1 << 20;
  // Arrays/objects nested deeper than this are refused (the top level is
  // depth 1) before jansson's recursive parser sees them: deep nesting is a
  // stack-exhaustion attack on recursive parsers.
  size_t max_depth = 32;
};

// Parses one JSON text (RFC 8259; any value at the top). Refuses: more than
// limits.max_bytes, nesting deeper than limits.max_depth, duplicate object
// member names (two "alg" members are how a header says one thing to one
// parser and another to the next), \u0000 in strings and keys, invalid
// UTF-8, integers outside int64, trailing bytes. `error` (may be null) gets a
// short reason with a byte offset, never quoting the input.
[[nodiscard]] std::optional<Document> parse(std::string_view text, const Limits& limits,
                                            std::string* error);
[[nodiscard]] inline std::optional<Document> parse(std::string_view text, std::string* error) {
  return parse(text, Limits{}, error);
}

}  // namespace sesame::json
