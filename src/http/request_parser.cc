#include "sesame/http/request_parser.h"

#include "chars.h"
#include "field_line.h"

namespace sesame::http {
namespace {

// uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2), narrowed: a
// reg-name may only hold unreserved characters, since sub-delims and
// percent-encoding never appear in DNS names and only serve to make the
// router and the upstream disagree. Userinfo, paths, whitespace and empty or
// out-of-range ports are refused.
bool validAuthority(std::string_view a, bool require_port) {
  std::string_view port;
  bool has_port = false;
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : a.substr(1, close - 1)) {
      if (!chars::is(c, chars::kHexDigit) && c != ':' && c != '.') return false;
    }
    const std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = a.find(':');
    const std::string_view host = a.substr(0, colon);
    if (host.empty() || !chars::all(host, chars::kHostChar)) return false;
    // An empty label (".example.com", "admin..example.com", "a.b..") is no
    // DNS name; only the root's trailing dot may follow the last label.
    if (host.front() == '.' || host.find("..") != std::string_view::npos) return false;
    if (colon != std::string_view::npos) {
      port = a.substr(colon + 1);
      has_port = true;
    }
  }
  if (!has_port) return !require_port;
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

// Case-insensitive "http://" or "https://" prefix; returns its length or 0.
size_t httpSchemeLength(std::string_view target) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() > scheme.size() && equalsIgnoreCase(target.substr(0, scheme.size()), scheme))
      return scheme.size();
  }
  return 0;
}

// Lower-cases into `out`'s existing storage (Host arrives with every
// request; a fresh string per request was an allocation past 15 bytes).
void assignLowered(std::string& out, std::string_view s) {
  out.assign(s);
  for (char& c : out) c = chars::toLower(c);
}

}  // namespace

RequestParser::RequestParser(RequestLimits limits) : limits_(limits) {}

RequestParser::Status RequestParser::fail(int status, std::string_view reason) {
  error_status_ = status;
  error_reason_ = reason;
  phase_ = Phase::kDone;
  status_ = Status::kError;
  return status_;
}

RequestParser::Status RequestParser::parse(std::string_view buffered) {
  while (status_ == Status::kNeedMore) {
    std::string_view line;
    const size_t limit_end = head_start_ + limits_.header_bytes;
    switch (detail::nextLine(buffered, limit_end, line_start_, scanned_, line)) {
      case detail::LineResult::kNeedMore:
        return status_;
      case detail::LineResult::kLimit:
        return phase_ == Phase::kRequestLine ? fail(414, "request line too long")
                                             : fail(431, "request head too large");
      case detail::LineResult::kBareLf:
        return fail(400, "bare LF");
      case detail::LineResult::kBareCr:
        return fail(400, "bare CR");
      case detail::LineResult::kLine:
        onLine(line);
        break;
    }
  }
  return status_;
}

RequestParser::Status RequestParser::onLine(std::string_view line) {
  if (phase_ == Phase::kRequestLine) {
    if (line.empty()) {
      // RFC 9112 §2.2: tolerate the CRLF some clients send after a body.
      if (++empty_lines_ > kMaxEmptyLines) return fail(400, "too many empty lines");
      head_start_ = line_start_;
      return status_;
    }
    if (parseRequestLine(line) == Status::kError) return status_;
    phase_ = Phase::kFields;
    return status_;
  }
  return line.empty() ? finishHead() : onField(line);
}

RequestParser::Status RequestParser::parseRequestLine(std::string_view line) {
  // RFC 9112 §3: method SP request-target SP HTTP-version, single spaces.
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  if (!chars::isToken(method)) return fail(400, "invalid method");
  const std::string_view rest = line.substr(sp1 + 1);
  const size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) return fail(400, "malformed request line");
  const std::string_view target = rest.substr(0, sp2);
  if (target.empty() || !chars::all(target, chars::kTargetChar))
    return fail(400, "invalid request target");
  const int minor = detail::parseHttpVersion(rest.substr(sp2 + 1));
  if (minor == -1) return fail(400, "malformed HTTP version");
  if (minor < 0) return fail(505, "HTTP version not supported");
  head_.version_minor = minor;
  head_.method.assign(method);
  return parseTarget(target);
}

RequestParser::Status RequestParser::parseTarget(std::string_view target) {
  const bool is_connect = head_.method == "CONNECT";
  if (target == "*") {
    // RFC 9112 §3.2.4: asterisk-form is only for a server-wide OPTIONS.
    if (head_.method != "OPTIONS") return fail(400, "asterisk-form without OPTIONS");
    head_.target.assign(target);
    return status_;
  }
  if (is_connect) {
    // RFC 9112 §3.2.3: CONNECT takes host:port and nothing else.
    if (!validAuthority(target, true)) return fail(400, "invalid CONNECT authority");
    head_.target.assign(target);
    return status_;
  }
  if (target.front() == '/') {
    head_.target.assign(target);
    return status_;
  }
  const size_t scheme = httpSchemeLength(target);
  if (scheme == 0) return fail(400, "invalid request target");
  const std::string_view after = target.substr(scheme);
  const size_t path_start = std::min(after.find('/'), after.find('?'));
  const std::string_view authority = after.substr(0, path_start);
  // Userinfo in a request target is a phishing and routing-confusion vector
  // (RFC 9110 §4.2.4) and never needed by a proxy.
  if (authority.find('@') != std::string_view::npos) return fail(400, "userinfo in target");
  if (!validAuthority(authority, false)) return fail(400, "invalid target authority");
  // RFC 9112 §3.2.2: the target's authority wins over any Host field.
  absolute_form_ = true;
  assignLowered(head_.host, authority);
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : after.substr(path_start);
  head_.target.clear();
  if (path.empty() || path.front() == '?') head_.target.push_back('/');
  head_.target.append(path);
  return status_;
}

RequestParser::Status RequestParser::onField(std::string_view line) {
  if (++field_count_ > limits_.header_count) return fail(431, "too many header fields");
  std::string_view name;
  std::string_view value;
  const std::string_view reason = detail::parseFieldLine(line, name, value);
  if (!reason.empty()) return fail(400, reason);
  switch (detail::classifyField(name)) {
    case detail::FieldId::kHost:
      // RFC 9112 §3.2: exactly one valid Host, or 400.
      if (++host_count_ > 1) return fail(400, "duplicate Host");
      if (!validAuthority(value, false)) return fail(400, "invalid Host");
      if (!absolute_form_) assignLowered(head_.host, value);
      return status_;
    case detail::FieldId::kContentLength:
      if (has_length_) return fail(400, "duplicate Content-Length");
      if (has_te_) return fail(400, "Content-Length with Transfer-Encoding");
      if (!detail::parseContentLength(value, head_.content_length))
        return fail(400, "invalid Content-Length");
      has_length_ = true;
      break;
    case detail::FieldId::kTransferEncoding: {
      // RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding; with Content-Length
      // it is the classic request smuggling vector (RFC 9112 §6.3 rule 3).
      if (head_.version_minor == 0) return fail(400, "Transfer-Encoding in HTTP/1.0");
      if (has_length_) return fail(400, "Content-Length with Transfer-Encoding");
      has_te_ = true;
      bool unknown = false;
      const std::string_view te_reason = detail::addTransferCodings(value, chunked_, unknown);
      if (!te_reason.empty()) return fail(400, te_reason);
      if (unknown) return fail(501, "unsupported transfer coding");
      break;
    }
    case detail::FieldId::kConnection:
      if (!detail::addConnectionOptions(value, connection_)) return fail(400, "invalid Connection");
      break;
    case detail::FieldId::kExpect:
      if (equalsIgnoreCase(value, "100-continue")) head_.expect_continue = true;
      break;
    case detail::FieldId::kUpgrade:
      has_upgrade_field_ = true;
      break;
    case detail::FieldId::kOther:
      break;
  }
  head_.headers.add(name, value);
  return status_;
}

RequestParser::Status RequestParser::finishHead() {
  const bool http11 = head_.version_minor == 1;
  if (http11 && host_count_ == 0) return fail(400, "missing Host");
  if (chunked_) {
    head_.body = BodyKind::kChunked;
  } else if (has_length_ && head_.content_length > 0) {
    head_.body = BodyKind::kLength;
  }
  if ((connection_ & detail::kConnClose) != 0) {
    head_.keep_alive = false;
  } else {
    head_.keep_alive = http11 || (connection_ & detail::kConnKeepAlive) != 0;
  }
  // RFC 9110 §10.1.1 and §7.8: 1.0 requests get neither 100-continue nor upgrades.
  head_.expect_continue = http11 && head_.expect_continue;
  head_.upgrade = http11 && (connection_ & detail::kConnUpgrade) != 0 && has_upgrade_field_;
  phase_ = Phase::kDone;
  consumed_ = line_start_;
  status_ = Status::kComplete;
  return status_;
}

void RequestParser::reset() {
  // The strings and the header list keep their storage for the next request
  // (issue 13: no allocation per request once a connection has seen its
  // largest head); everything else starts from its default.
  RequestHead next;
  next.method.swap(head_.method);
  next.target.swap(head_.target);
  next.host.swap(head_.host);
  next.headers = std::move(head_.headers);
  next.method.clear();
  next.target.clear();
  next.host.clear();
  next.headers.clear();
  head_ = std::move(next);
  phase_ = Phase::kRequestLine;
  status_ = Status::kNeedMore;
  head_start_ = line_start_ = scanned_ = consumed_ = 0;
  empty_lines_ = field_count_ = host_count_ = 0;
  absolute_form_ = has_length_ = has_te_ = chunked_ = has_upgrade_field_ = false;
  connection_ = 0;
  error_status_ = 0;
  error_reason_ = {};
}

}  // namespace sesame::http
