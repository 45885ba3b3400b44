#include "sesame/http/response_parser.h"

#include "chars.h"
#include "field_line.h"

namespace sesame::http {

ResponseParser::ResponseParser(size_t max_head_bytes, size_t max_fields)
    : max_head_bytes_(max_head_bytes), max_fields_(max_fields) {}

ResponseParser::Status ResponseParser::fail(std::string_view reason) {
  error_reason_ = reason;
  phase_ = Phase::kDone;
  status_ = Status::kError;
  return status_;
}

ResponseParser::Status ResponseParser::parse(std::string_view buffered,
                                             std::string_view request_method) {
  while (status_ == Status::kNeedMore) {
    std::string_view line;
    switch (detail::nextLine(buffered, max_head_bytes_, line_start_, scanned_, line)) {
      case detail::LineResult::kNeedMore:
        return status_;
      case detail::LineResult::kLimit:
        return fail("response head too large");
      case detail::LineResult::kBareLf:
        return fail("bare LF");
      case detail::LineResult::kBareCr:
        return fail("bare CR");
      case detail::LineResult::kLine:
        break;
    }
    if (phase_ == Phase::kStatusLine) {
      if (parseStatusLine(line) == Status::kNeedMore) phase_ = Phase::kFields;
    } else if (line.empty()) {
      finishHead(request_method);
    } else {
      onField(line);
    }
  }
  return status_;
}

ResponseParser::Status ResponseParser::parseStatusLine(std::string_view line) {
  // RFC 9112 §4: HTTP-version SP 3DIGIT SP [ reason-phrase ]; the SP before
  // an empty reason is tolerated missing, as many servers omit it.
  if (line.size() < 12 || line[8] != ' ') return fail("malformed status line");
  const int minor = detail::parseHttpVersion(line.substr(0, 8));
  if (minor < 0) return fail(minor == -1 ? "malformed HTTP version" : "unsupported HTTP version");
  int status = 0;
  for (char c : line.substr(9, 3)) {
    if (c < '0' || c > '9') return fail("malformed status code");
    status = status * 10 + (c - '0');
  }
  // RFC 9110 §15: codes outside 100..599 are invalid.
  if (status < 100 || status > 599) return fail("status code out of range");
  std::string_view reason = line.substr(12);
  if (!reason.empty()) {
    if (reason.front() != ' ') return fail("malformed status line");
    reason.remove_prefix(1);
    if (!chars::all(reason, chars::kFieldChar)) return fail("control byte in reason phrase");
  }
  head_.version_minor = minor;
  head_.status = status;
  head_.reason.assign(reason);
  return status_;
}

ResponseParser::Status ResponseParser::onField(std::string_view line) {
  if (++field_count_ > max_fields_) return fail("too many header fields");
  std::string_view name;
  std::string_view value;
  const std::string_view reason = detail::parseFieldLine(line, name, value);
  if (!reason.empty()) return fail(reason);
  switch (detail::classifyField(name)) {
    case detail::FieldId::kContentLength:
      // RFC 9112 §6.3 rules 3 and 5: ambiguous framing is an error; a proxy
      // that guessed could desynchronise the client connection.
      if (has_length_) return fail("duplicate Content-Length");
      if (has_te_) return fail("Content-Length with Transfer-Encoding");
      if (!detail::parseContentLength(value, head_.content_length))
        return fail("invalid Content-Length");
      has_length_ = true;
      break;
    case detail::FieldId::kTransferEncoding: {
      if (head_.version_minor == 0) return fail("Transfer-Encoding in HTTP/1.0");
      if (has_length_) return fail("Content-Length with Transfer-Encoding");
      has_te_ = true;
      bool unknown = false;
      const std::string_view te_reason = detail::addTransferCodings(value, chunked_, unknown);
      if (!te_reason.empty()) return fail(te_reason);
      if (unknown) return fail("unsupported transfer coding");
      break;
    }
    case detail::FieldId::kConnection:
      if (!detail::addConnectionOptions(value, connection_)) return fail("invalid Connection");
      break;
    default:
      break;
  }
  head_.headers.add(name, value);
  return status_;
}

ResponseParser::Status ResponseParser::finishHead(std::string_view request_method) {
  const int status = head_.status;
  // RFC 9112 §6.3 rules 1 and 2.
  const bool no_body = request_method == "HEAD" || status < 200 || status == 204 || status == 304 ||
                       (request_method == "CONNECT" && status / 100 == 2);
  if (no_body) {
    head_.body = BodyKind::kNone;
  } else if (chunked_) {
    head_.body = BodyKind::kChunked;
  } else if (has_length_) {
    head_.body = head_.content_length > 0 ? BodyKind::kLength : BodyKind::kNone;
  } else {
    head_.body = BodyKind::kUntilClose;  // rule 8
  }
  if (head_.body != BodyKind::kLength) head_.content_length = 0;
  const bool close = (connection_ & detail::kConnClose) != 0;
  const bool persistent = head_.version_minor == 1 || (connection_ & detail::kConnKeepAlive) != 0;
  head_.keep_alive = !close && persistent && head_.body != BodyKind::kUntilClose;
  phase_ = Phase::kDone;
  consumed_ = line_start_;
  status_ = Status::kComplete;
  return status_;
}

void ResponseParser::reset() {
  // The reason and the header list keep their storage for the next response
  // (issue 13); everything else starts from its default.
  ResponseHead next;
  next.reason.swap(head_.reason);
  next.headers = std::move(head_.headers);
  next.reason.clear();
  next.headers.clear();
  head_ = std::move(next);
  phase_ = Phase::kStatusLine;
  status_ = Status::kNeedMore;
  line_start_ = scanned_ = consumed_ = field_count_ = 0;
  has_length_ = has_te_ = chunked_ = false;
  connection_ = 0;
  error_reason_ = {};
}

namespace {

struct Phrase {
  int status;
  std::string_view text;
};

// RFC 9110 §15, plus 428, 429, 431 and 511 from RFC 6585.
constexpr Phrase kPhrases[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {305, "Use Proxy"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {511, "Network Authentication Required"},
};

}  // namespace

std::string_view reasonPhrase(int status) {
  for (const Phrase& p : kPhrases) {
    if (p.status == status) return p.text;
  }
  return "Unknown";
}

}  // namespace sesame::http
