// Test helpers for the HTTP parsers: one-shot and trickled parsing.
#pragma once

#include <string>
#include <string_view>

#include "sesame/http/request_parser.h"

namespace sesame::http::test {

// 200 for a complete head, 0 when more bytes are needed, else the error status.
inline int requestStatus(std::string_view bytes, RequestLimits limits = {}) {
  RequestParser p(limits);
  switch (p.parse(bytes)) {
    case RequestParser::Status::kComplete:
      return 200;
    case RequestParser::Status::kNeedMore:
      return 0;
    case RequestParser::Status::kError:
      return p.errorStatus();
  }
  return -1;
}

// Feeds `bytes` one byte at a time, as a slow client would.
inline RequestParser::Status trickle(RequestParser& p, std::string_view bytes) {
  RequestParser::Status s = RequestParser::Status::kNeedMore;
  for (size_t i = 1; i <= bytes.size() && s == RequestParser::Status::kNeedMore; ++i)
    s = p.parse(bytes.substr(0, i));
  return s;
}

// A GET with the given extra field lines (each ending in CRLF).
inline std::string get(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: a.example\r\n" + std::string(fields) + "\r\n";
}

}  // namespace sesame::http::test
