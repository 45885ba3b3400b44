// The pure half of the session API: request parsing, the bearer token, JSON.
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include "sesame/admin/sessions_api.h"

#include "sesame/base/json.h"
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

void appendTime(std::string& out, session::TimePoint millis) {
  if (millis == 0) {
    out += "null";
    return;
  }
  out.push_back('"');
  out += rfc3339(millis);
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

std::string sessionsJson(const std::vector<session::SessionSummary>& sessions) {
  if (sessions.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < sessions.size(); ++i) {
    const session::SessionSummary& s = sessions[i];
    out += "  {\"handle\": ";
    out += jsonString(s.handle);
    out += ", \"created\": ";
    appendTime(out, s.created);
    out += ", \"last_seen\": ";
    appendTime(out, s.touched);
    out += ", \"login\": ";
    appendTime(out, s.login);
    out += ", \"method\": ";
    // "password:FINGERPRINT" says which hash signed in: for sesame only.
    out += jsonString(std::string_view(s.method).substr(0, s.method.find(':')));
    out += ", \"client\": ";
    out += jsonString(s.address);
    out += ", \"user_agent\": ";
    out += jsonString(s.agent);
    out += i + 1 < sessions.size() ? "},\n" : "}\n";
  }
  out += "]\n";
  return out;
}

Answer errorAnswer(int status, std::string_view message, std::string fields) {
  Answer answer;
  answer.status = status;
  answer.body = "{\"error\": ";
  answer.body += jsonString(message);
  answer.body += "}\n";
  answer.fields = std::move(fields);
  return answer;
}

bool sessionsEnabled(const config::Config& config) {
  return config.admin && !config.admin->token.empty();
}

}  // namespace sesame::admin
