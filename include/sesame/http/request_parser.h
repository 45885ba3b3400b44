// Strict HTTP/1.1 request-head parser (RFC 9110, RFC 9112); pure: bytes in,
// a parsed head or a status code out. Bodies are framed by BodyDecoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sesame/http/body_decoder.h"
#include "sesame/http/header_list.h"

namespace sesame::http {

struct RequestLimits {
  size_t header_bytes = 16384;  // request line + fields + final CRLF; 414/431 past it
  size_t header_count = 100;    // 431 past it
};

struct RequestHead {
  std::string method;  // token, case-sensitive (RFC 9110 §9.1)
  // origin-form ("/path?query"), "*" for OPTIONS, or authority-form for
  // CONNECT. An absolute-form target is reduced to origin-form and its
  // authority becomes `host` (RFC 9112 §3.2.2).
  std::string target;
  std::string host;    // the one authority the request names (lower-cased), may be empty on 1.0
  int version_minor = 1;  // HTTP/1.0 or HTTP/1.1
  // All fields except Host, in order. Transfer-Encoding and Content-Length
  // stay here; use `body` for framing decisions.
  HeaderList headers;
  BodyKind body = BodyKind::kNone;  // kNone, kLength or kChunked
  uint64_t content_length = 0;
  bool keep_alive = true;        // from version and Connection
  bool expect_continue = false;  // Expect: 100-continue
  bool upgrade = false;          // Connection: upgrade with an Upgrade field
};

class RequestParser {
 public:
  enum class Status {
    kNeedMore,  // no complete head yet; call again with more bytes
    kComplete,  // head() is filled; consumed() bytes belong to the head
    kError,     // errorStatus() says which answer (400, 414, 431, 501, 505)
  };

  explicit RequestParser(RequestLimits limits = {});

  // `buffered` is every unconsumed byte received so far, starting at the
  // beginning of this request (it grows between calls). Scanning resumes
  // where the last call stopped, so a slow sender costs O(n) overall.
  // Leading empty lines before a request line are skipped (RFC 9112 §2.2).
  [[nodiscard]] Status parse(std::string_view buffered);

  [[nodiscard]] const RequestHead& head() const { return head_; }
  [[nodiscard]] RequestHead& head() { return head_; }
  [[nodiscard]] size_t consumed() const { return consumed_; }
  [[nodiscard]] int errorStatus() const { return error_status_; }
  // Short reason for logs and the error body; never contains request bytes.
  [[nodiscard]] std::string_view errorReason() const { return error_reason_; }

  // Prepares for the next request on the same connection.
  void reset();

 private:
  Status fail(int status, std::string_view reason);
  Status parseHead(std::string_view head);

  RequestLimits limits_;
  RequestHead head_;
  size_t scanned_ = 0;
  size_t consumed_ = 0;
  int error_status_ = 0;
  std::string_view error_reason_;
};

}  // namespace sesame::http
