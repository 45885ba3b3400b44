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
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the upstream connection may be reused after this response
};

class ResponseParser {
 public:
  enum class Status { kNeedMore, kComplete, kError };

  explicit ResponseParser(size_t max_head_bytes = 65536, size_t max_fields = 200);

  // `request_method` decides framing: HEAD responses and 2xx to CONNECT have
  // no body; 1xx, 204 and 304 have none either (RFC 9112 §6.3). Same
  // incremental contract as RequestParser::parse.
  [[nodiscard]] Status parse(std::string_view buffered, std::string_view request_method);

  [[nodiscard]] const ResponseHead& head() const { return head_; }
  [[nodiscard]] ResponseHead& head() { return head_; }
  [[nodiscard]] size_t consumed() const { return consumed_; }
  [[nodiscard]] std::string_view errorReason() const { return error_reason_; }

  void reset();

 private:
  Status fail(std::string_view reason);
  Status parseHead(std::string_view head, std::string_view request_method);

  size_t max_head_bytes_;
  size_t max_fields_;
  ResponseHead head_;
  size_t scanned_ = 0;
  size_t consumed_ = 0;
  std::string_view error_reason_;
};

// Standard reason phrase for a status code ("Not Found"), or "Unknown".
[[nodiscard]] std::string_view reasonPhrase(int status);

}  // namespace sesame::http
