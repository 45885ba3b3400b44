// Request IDs: the X-Request-Id one exchange is known by in the access log,
// upstream and in the response, kept from the client when well-formed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sesame/http/header_list.h"

namespace sesame::proxy {

// A request ID held without allocation (an Exchange is built per request).
class RequestId {
 public:
  static constexpr size_t kMaxLength = 128;

  [[nodiscard]] std::string_view view() const { return {data_.data(), size_}; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  void clear() { size_ = 0; }
  // `value` must pass validRequestId (or be a generated ID).
  void assign(std::string_view value);

 private:
  std::array<char, kMaxLength> data_;
  size_t size_ = 0;
};

// 1..128 characters of [A-Za-z0-9._:-]: enough for UUIDs, W3C trace IDs and
// our own IDs, and nothing that could split a log line or a header
// (no space, quote, comma, control byte).
[[nodiscard]] bool validRequestId(std::string_view value);

// Generates IDs of 32 lower-case hex digits: a random 64-bit prefix drawn
// once per source (one per worker and start) followed by a 64-bit counter.
// IDs are unique, not secret: generating one costs no system call and no
// CSPRNG output, and nothing may use them for authentication.
class RequestIdSource {
 public:
  static constexpr size_t kLength = 32;

  RequestIdSource();
  void next(RequestId& out);

 private:
  std::array<char, 16> prefix_;
  uint64_t counter_ = 0;
};

// The client's X-Request-Id when it sent exactly one and it is valid;
// otherwise a new one from `source` (several fields are ambiguous).
void chooseRequestId(const http::HeaderList& headers, RequestIdSource& source, RequestId& out);

}  // namespace sesame::proxy
