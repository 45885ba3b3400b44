// The pure half of the session API: request parsing, the bearer token, JSON.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "sesame/admin/sessions_api.h"
#include "sesame/session/control_headers.h"

namespace sesame::admin {
namespace {

constexpr std::string_view kPath = "/sessions";
constexpr size_t kMaxHandle = 64;

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// The one `user` of the query, decoded and checked.
std::optional<std::string> queryUser(std::string_view query, Answer* error) {
  std::optional<std::string> user;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    if (name != "user") {
      *error = errorAnswer(400, "unknown query parameter (expected only ?user=NAME)");
      return std::nullopt;
    }
    if (user) {
      *error = errorAnswer(400, "user is given twice (expected one ?user=NAME)");
      return std::nullopt;
    }
    user = decodeQueryValue(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!user) {
      *error = errorAnswer(400, "the user name has a malformed %-escape (expected %XX)");
      return std::nullopt;
    }
  }
  if (!user) {
    *error = errorAnswer(400, "no user given (expected ?user=NAME)");
    return std::nullopt;
  }
  const size_t max = session::ControlLimits{}.max_user_bytes;
  if (!session::isValidUser(*user, max)) {
    *error = errorAnswer(400, "not a user name: it must be 1-" + std::to_string(max) +
                                  " bytes without control characters");
    return std::nullopt;
  }
  return user;
}

// The length of the UTF-8 sequence starting at text[i] when it is well
// formed (RFC 3629 §4: the table of well-formed byte sequences); 0 otherwise.
size_t wellFormedLength(std::string_view text, size_t i) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = at(i);
  size_t length = 0;
  unsigned char low = 0x80;  // the second byte's range, narrowed for E0, ED, F0, F4
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (at(i + 1) < low || at(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  }
  return length;
}

void appendTime(std::string& out, session::TimePoint millis) {
  if (millis == 0) {
    out += "null";
    return;
  }
  out.push_back('"');
  out += formatRfc3339(millis);
  out.push_back('"');
}

}  // namespace

bool isSessionsPath(std::string_view path) {
  return path == kPath || (path.starts_with(kPath) && path[kPath.size()] == '/');
}

std::optional<SessionsRequest> parseSessionsRequest(std::string_view method,
                                                    std::string_view target, Answer* error) {
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const bool has_query = question != std::string_view::npos;
  const std::string_view query = has_query ? target.substr(question + 1) : std::string_view();
  if (path == kPath) {
    SessionsRequest request;
    if (method == "GET") {
      request.kind = SessionsRequest::Kind::kList;
    } else if (method == "DELETE") {
      request.kind = SessionsRequest::Kind::kRevokeUser;
    } else {
      *error = errorAnswer(405, "use GET /sessions?user=NAME or DELETE /sessions?user=NAME",
                           "Allow: GET, DELETE\r\n");
      return std::nullopt;
    }
    std::optional<std::string> user = queryUser(query, error);
    if (!user) return std::nullopt;
    request.subject = std::move(*user);
    return request;
  }
  const std::string_view handle = path.substr(kPath.size() + 1);
  if (method != "DELETE") {
    *error = errorAnswer(405, "use DELETE /sessions/HANDLE", "Allow: DELETE\r\n");
    return std::nullopt;
  }
  if (handle.empty() || handle.size() > kMaxHandle ||
      !std::all_of(handle.begin(), handle.end(), isBase64Url) || has_query) {
    *error = errorAnswer(400,
                         "not a session handle (expected DELETE /sessions/HANDLE, HANDLE as "
                         "GET /sessions?user=NAME lists it)");
    return std::nullopt;
  }
  return SessionsRequest{SessionsRequest::Kind::kRevokeHandle, std::string(handle)};
}

std::optional<std::string> decodeQueryValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] != '%') {
      out.push_back(text[i]);
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hexValue(text[i + 1]);
      const int low = hexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return out;
}

std::optional<std::string_view> bearerToken(const http::HeaderList& headers) {
  if (headers.count("Authorization") != 1) return std::nullopt;
  std::string_view value = headers.find("Authorization")->value;
  constexpr std::string_view kScheme = "Bearer";
  if (value.size() <= kScheme.size() || !http::equalsIgnoreCase(value.substr(0, 6), kScheme) ||
      value[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  return value;
}

bool tokenMatches(std::string_view presented, std::string_view expected) {
  using Digest = std::array<unsigned char, 32>;
  auto digest = [](std::string_view text, Digest& out) {
    unsigned int size = 0;
    return EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr) == 1 &&
           size == out.size();
  };
  Digest a{};
  Digest b{};
  // A failed digest matches nothing (two zero buffers would compare equal).
  if (!digest(presented, a) || !digest(expected, b)) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto escapeByte = [&](unsigned char u) {
    const char code[6] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
    out.append(code, sizeof code);
  };
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u == '"' || u == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(u));
      ++i;
    } else if (u < 0x20 || u == 0x7f) {
      escapeByte(u);
      ++i;
    } else if (u < 0x80) {
      out.push_back(static_cast<char>(u));
      ++i;
    } else if (size_t length = wellFormedLength(text, i); length != 0) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      escapeByte(u);
      ++i;
    }
  }
  out.push_back('"');
}

std::string formatRfc3339(session::TimePoint millis) {
  const time_t seconds = static_cast<time_t>(millis / 1000);
  tm utc{};
  char text[32];
  if (::gmtime_r(&seconds, &utc) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
    return "1970-01-01T00:00:00Z";
  }
  return text;
}

std::string sessionsJson(const std::vector<session::SessionSummary>& sessions) {
  if (sessions.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < sessions.size(); ++i) {
    const session::SessionSummary& s = sessions[i];
    out += "  {\"handle\": ";
    appendJsonString(out, s.handle);
    out += ", \"created\": ";
    appendTime(out, s.created);
    out += ", \"last_seen\": ";
    appendTime(out, s.touched);
    out += ", \"login\": ";
    appendTime(out, s.login);
    out += ", \"method\": ";
    appendJsonString(out, s.method);
    out += ", \"client\": ";
    appendJsonString(out, s.address);
    out += ", \"user_agent\": ";
    appendJsonString(out, s.agent);
    out += i + 1 < sessions.size() ? "},\n" : "}\n";
  }
  out += "]\n";
  return out;
}

Answer errorAnswer(int status, std::string_view message, std::string fields) {
  Answer answer;
  answer.status = status;
  answer.body = "{\"error\": ";
  appendJsonString(answer.body, message);
  answer.body += "}\n";
  answer.fields = std::move(fields);
  return answer;
}

bool sessionsEnabled(const config::Config& config) {
  return config.admin && !config.admin->token.empty();
}

}  // namespace sesame::admin
