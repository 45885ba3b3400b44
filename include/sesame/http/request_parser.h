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
  std::string host;       // the one authority the request names (lower-cased), may be empty on 1.0
  int version_minor = 1;  // HTTP/1.0 or HTTP/1.1
  // All fields except Host, in order. Transfer-Encoding and Content-Length
  // stay here; use `body` for framing decisions.
  HeaderList headers;
  // kNone (also for "Content-Length: 0"), kLength or kChunked.
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;   // set when body is kLength
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
  // Leading empty lines before a request line are skipped (RFC 9112 §2.2),
  // at most kMaxEmptyLines of them. The request line and the whole head
  // must fit in limits.header_bytes (414 and 431 respectively), and errors
  // are reported as soon as the buffered bytes prove them.
  // Once kComplete or kError, further calls return the same until reset().
  [[nodiscard]] Status parse(std::string_view buffered);

  [[nodiscard]] const RequestHead& head() const { return head_; }
  [[nodiscard]] RequestHead& head() { return head_; }
  [[nodiscard]] size_t consumed() const { return consumed_; }
  [[nodiscard]] int errorStatus() const { return error_status_; }
  // Short reason for logs and the error body; never contains request bytes.
  [[nodiscard]] std::string_view errorReason() const { return error_reason_; }

  // Prepares for the next request on the same connection.
  void reset();

  static constexpr size_t kMaxEmptyLines = 8;

 private:
  enum class Phase { kRequestLine, kFields, kDone };

  Status fail(int status, std::string_view reason);
  Status onLine(std::string_view line);
  Status parseRequestLine(std::string_view line);
  Status parseTarget(std::string_view target);
  Status onField(std::string_view line);
  Status finishHead();

  RequestLimits limits_;
  RequestHead head_;
  Phase phase_ = Phase::kRequestLine;
  Status status_ = Status::kNeedMore;
  size_t head_start_ = 0;  // first byte of the request line (after empty lines)
  size_t line_start_ = 0;
  size_t scanned_ = 0;
  size_t consumed_ = 0;
  size_t empty_lines_ = 0;
  size_t field_count_ = 0;  // field lines, Host included
  size_t host_count_ = 0;
  bool absolute_form_ = false;
  bool has_length_ = false;
  bool has_te_ = false;
  bool chunked_ = false;
  bool has_upgrade_field_ = false;
  uint8_t connection_ = 0;  // detail::ConnectionOption bits
  int error_status_ = 0;
  std::string_view error_reason_;
};

}  // namespace sesame::http
