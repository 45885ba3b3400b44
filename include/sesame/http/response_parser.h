// Strict HTTP/1.x response-head parser for upstream responses; pure. An
// ambiguous response (RFC 9112 §6.3) is an error that the proxy turns into 502.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sesame/http/body_decoder.h"
#include "sesame/http/header_list.h"

namespace sesame::http {

struct ResponseHead {
  int version_minor = 1;
  int status = 0;
  std::string reason;
  HeaderList headers;  // all fields, in order
  // kNone (also for "Content-Length: 0"), kLength, kChunked or kUntilClose.
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;  // set when body is kLength
  // The upstream connection may be reused after this response: false for
  // Connection: close, HTTP/1.0 without keep-alive, or kUntilClose.
  bool keep_alive = true;
};

class ResponseParser {
 public:
  enum class Status { kNeedMore, kComplete, kError };

  explicit ResponseParser(size_t max_head_bytes = 65536, size_t max_fields = 200);

  // `request_method` decides framing: HEAD responses and 2xx to CONNECT have
  // no body; 1xx, 204 and 304 have none either (RFC 9112 §6.3). Same
  // incremental contract as RequestParser::parse, but no empty lines are
  // skipped before the status line. Errors (all mean 502): a bad status
  // line, version other than 1.0/1.1, status outside 100..599, a bad field
  // line, a head over max_head_bytes or max_fields, both Content-Length and
  // Transfer-Encoding, an invalid or repeated Content-Length, any transfer
  // coding other than a single final chunked (the proxy strips
  // Transfer-Encoding, so it cannot pass another coding through), and
  // Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1).
  [[nodiscard]] Status parse(std::string_view buffered, std::string_view request_method);

  [[nodiscard]] const ResponseHead& head() const { return head_; }
  [[nodiscard]] ResponseHead& head() { return head_; }
  [[nodiscard]] size_t consumed() const { return consumed_; }
  [[nodiscard]] std::string_view errorReason() const { return error_reason_; }

  void reset();

 private:
  enum class Phase { kStatusLine, kFields, kDone };

  Status fail(std::string_view reason);
  Status parseStatusLine(std::string_view line);
  Status onField(std::string_view line);
  Status finishHead(std::string_view request_method);

  size_t max_head_bytes_;
  size_t max_fields_;
  ResponseHead head_;
  Phase phase_ = Phase::kStatusLine;
  Status status_ = Status::kNeedMore;
  size_t line_start_ = 0;
  size_t scanned_ = 0;
  size_t consumed_ = 0;
  size_t field_count_ = 0;
  bool has_length_ = false;
  bool has_te_ = false;
  bool chunked_ = false;
  uint8_t connection_ = 0;  // detail::ConnectionOption bits
  std::string_view error_reason_;
};

// Standard reason phrase for a status code ("Not Found"), or "Unknown".
[[nodiscard]] std::string_view reasonPhrase(int status);

}  // namespace sesame::http
