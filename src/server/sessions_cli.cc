#include "sesame/server/sessions_cli.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "sesame/base/log.h"
#include "sesame/config/config.h"
#include "sesame/http/header_list.h"
#include "sesame/server/server.h"

namespace sesame::server {
namespace {

constexpr timeval kConnectTimeout{5, 0};
// Beyond the admin listener's own request timeout (10 s), which bounds a
// store that does not answer.
constexpr timeval kAnswerTimeout{15, 0};
constexpr size_t kMaxAnswer = 16 << 20;

const char kUsage[] =
    "usage: sesame -c FILE sessions list USER\n"
    "       sesame -c FILE sessions revoke HANDLE\n"
    "       sesame -c FILE sessions revoke-user USER\n"
    "Talks to the admin listener of the sesame that runs with FILE ([admin] address and\n"
    "token_file). Exit status: 0 done, 1 no such session or nothing to list or revoke,\n"
    "2 usage or configuration error, 3 the admin listener cannot be reached or refused.\n";

// Just enough JSON for the admin API's answers: objects, arrays, strings
// (every escape, \u surrogate pairs to UTF-8), numbers and literals.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  bool eat(char c) {
    skipSpace();
    if (pos_ == text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool atEnd() {
    skipSpace();
    return pos_ == text_.size();
  }

  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ == text_.size()) return std::nullopt;
      const char e = text_[pos_++];
      static constexpr std::string_view kFrom = "\"\\/bfnrt";
      static constexpr std::string_view kTo = "\"\\/\b\f\n\r\t";
      if (size_t k = kFrom.find(e); k != std::string_view::npos) {
        out.push_back(kTo[k]);
      } else if (e != 'u' || !unicodeEscape(out)) {
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  // A string's value, or a number or literal as written ("" for null).
  std::optional<std::string> scalar() {
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == '"') return string();
    const size_t start = pos_;
    while (pos_ < text_.size() && std::string_view("+-.0123456789eEaflnrstu").find(text_[pos_]) !=
                                      std::string_view::npos) {
      ++pos_;
    }
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word.empty()) return std::nullopt;
    return word == "null" ? std::string() : std::string(word);
  }

 private:
  void skipSpace() {
    while (pos_ < text_.size() &&
           std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
    }
  }

  std::optional<unsigned> hex4() {
    if (text_.size() - pos_ < 4) return std::nullopt;
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  }

  // After "\u": one code point (a surrogate pair counts as one), as UTF-8.
  bool unicodeEscape(std::string& out) {
    std::optional<unsigned> cp = hex4();
    if (!cp || (*cp >= 0xDC00 && *cp <= 0xDFFF)) return false;
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
      if (!eat('\\') || !eat('u')) return false;
      std::optional<unsigned> low = hex4();
      if (!low || *low < 0xDC00 || *low > 0xDFFF) return false;
      *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
    }
    auto put = [&](unsigned byte) { out.push_back(static_cast<char>(byte)); };
    if (*cp < 0x80) {
      put(*cp);
    } else if (*cp < 0x800) {
      put(0xC0 | (*cp >> 6));
      put(0x80 | (*cp & 0x3F));
    } else if (*cp < 0x10000) {
      put(0xE0 | (*cp >> 12));
      put(0x80 | ((*cp >> 6) & 0x3F));
      put(0x80 | (*cp & 0x3F));
    } else {
      put(0xF0 | (*cp >> 18));
      put(0x80 | ((*cp >> 12) & 0x3F));
      put(0x80 | ((*cp >> 6) & 0x3F));
      put(0x80 | (*cp & 0x3F));
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// The key's value of a flat JSON object ({"error": "..."}, {"revoked": 3}).
std::optional<std::string> objectField(std::string_view json, std::string_view key) {
  JsonReader in(json);
  if (!in.eat('{') || in.eat('}')) return std::nullopt;
  do {
    std::optional<std::string> name = in.string();
    std::optional<std::string> value = name && in.eat(':') ? in.scalar() : std::nullopt;
    if (!value) return std::nullopt;
    if (*name == key) return value;
  } while (in.eat(','));
  return std::nullopt;
}

// Terminal-safe: C0, DEL and C1 controls (U+0080-U+009F) and bytes that
// are not well-formed UTF-8 become '?'.
std::string shown(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto u = static_cast<unsigned char>(text[i]);
    const size_t length = u < 0x80                 ? 1
                          : u >= 0xC2 && u <= 0xDF ? 2
                          : u >= 0xE0 && u <= 0xEF ? 3
                          : u >= 0xF0 && u <= 0xF4 ? 4
                                                   : 0;
    bool ok = length != 0 && i + length <= text.size();
    for (size_t k = 1; ok && k < length; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    const bool c1 = ok && u == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
    if (!ok || c1 || u < 0x20 || u == 0x7f) {
      out.push_back('?');
      i += c1 ? 2 : 1;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

// "2024-05-01T12:34:56Z" as "2024-05-01 12:34:56"; "-" for null.
std::string shownTime(std::string_view rfc3339) {
  if (rfc3339.empty()) return "-";
  std::string out = shown(rfc3339);
  if (out.size() == 20 && out[10] == 'T' && out[19] == 'Z') {
    out[10] = ' ';
    out.pop_back();
  }
  return out;
}

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

bool isJson(const HttpAnswer& answer) {
  return answer.content_type.starts_with("application/json");
}

// One request over a plain blocking socket; nullopt with `error`.
std::optional<HttpAnswer> exchange(const net::Address& addr, const std::string& request,
                                   std::string* error) {
  auto fail = [&](const char* what) {
    *error = std::string(what) + ": " + std::strerror(errno);
    return std::nullopt;
  };
  struct Socket {
    int fd;
    ~Socket() {
      if (fd >= 0) ::close(fd);
    }
  } socket{::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0)};
  const int fd = socket.fd;
  if (fd < 0) return fail("socket");
  // On Linux SO_SNDTIMEO also bounds a blocking connect().
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kConnectTimeout, sizeof kConnectTimeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kAnswerTimeout, sizeof kAnswerTimeout);
  if (::connect(fd, addr.sa(), addr.length) != 0) {
    if (errno == EINPROGRESS) errno = ETIMEDOUT;
    return fail("connect");
  }
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("send");
    sent += static_cast<size_t>(n);
  }
  std::string data;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno == EAGAIN ? "no answer in time" : "recv");
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxAnswer) {
      *error = "the answer is larger than 16 MiB";
      return std::nullopt;
    }
  }
  const size_t end = data.find("\r\n\r\n");
  HttpAnswer answer;
  if (end == std::string::npos || !data.starts_with("HTTP/1.1 ") || data.size() < 12 ||
      std::sscanf(data.c_str() + 9, "%3d", &answer.status) != 1) {
    *error = "not an HTTP/1.1 answer (is [admin] address sesame's admin listener?)";
    return std::nullopt;
  }
  std::string_view head(data.data(), end);
  for (size_t at = head.find("\r\n"); at != std::string_view::npos;) {
    const size_t next = head.find("\r\n", at + 2);
    std::string_view line =
        head.substr(at + 2, next == std::string_view::npos ? next : next - at - 2);
    constexpr std::string_view kType = "Content-Type:";
    if (http::equalsIgnoreCase(line.substr(0, kType.size()), kType)) {
      std::string_view value = line.substr(kType.size());
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      answer.content_type = value;
    }
    at = next;
  }
  answer.body = data.substr(end + 4);
  return answer;
}

struct Command {
  std::string config_path;
  std::string verb;  // "list", "revoke" or "revoke-user"
  std::string subject;
};

std::optional<Command> parseCommand(int argc, char** argv, int at) {
  Command command;
  for (int i = 1; i < at; ++i) {
    if (std::string_view(argv[i]) != "-c" || i + 1 >= at) return std::nullopt;
    command.config_path = argv[++i];
  }
  if (command.config_path.empty() || argc - at != 3) return std::nullopt;
  command.verb = argv[at + 1];
  command.subject = argv[at + 2];
  if (command.verb != "list" && command.verb != "revoke" && command.verb != "revoke-user") {
    return std::nullopt;
  }
  return command;
}

int report(int code, const std::string& message) {
  std::fprintf(stderr, "sesame: %s\n", message.c_str());
  return code;
}

// The exit status and message for an answer that is not the command's success.
int refusal(const Command& command, const config::AdminConfig& admin, const HttpAnswer& answer) {
  const std::string where = "the admin listener at " + admin.address;
  std::string why = isJson(answer) ? objectField(answer.body, "error").value_or("") : "";
  why = shown(why.empty() ? std::string_view(answer.body).substr(0, 200) : why);
  while (!why.empty() && (why.back() == '\n' || why.back() == '?')) why.pop_back();
  switch (answer.status) {
    case 400:
      return report(kSessionsUsage, why);
    case 401:
      return report(kSessionsRefused,
                    where + " refused the token of " + admin.token_file +
                        " (401): the running sesame has read another one; reload it "
                        "(SIGHUP) after changing [admin] token_file");
    case 404:
      if (isJson(answer)) return report(kSessionsNotFound, why);
      return report(kSessionsRefused,
                    where +
                        " does not serve /sessions: the running sesame has no [admin] "
                        "token_file; add it to " +
                        command.config_path + " and reload");
    default:
      return report(kSessionsRefused, where + " answered " + std::to_string(answer.status) +
                                          (why.empty() ? "" : ": " + why));
  }
}

int run(const Command& command) {
  // Warnings about parts of the file the command does not use are noise here.
  log::setMinLevel(log::Level::kError);
  config::LoadResult loaded = config::load(command.config_path);
  for (const std::string& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!loaded.config) {
    return report(kSessionsUsage,
                  std::to_string(loaded.errors.size()) + " error(s) in " + command.config_path);
  }
  const std::optional<config::AdminConfig>& admin = loaded.config->admin;
  if (!admin || admin->token.empty()) {
    return report(kSessionsUsage, command.config_path +
                                      " has no [admin] address and token_file; the sessions "
                                      "commands talk to the admin listener with that token");
  }
  const bool list = command.verb == "list";
  const std::string target = command.verb == "revoke"
                                 ? "/sessions/" + percentEncode(command.subject)
                                 : "/sessions?user=" + percentEncode(command.subject);
  const std::string request =
      std::string(list ? "GET " : "DELETE ") + target +
      " HTTP/1.1\r\nHost: " + admin->addr.toString() + "\r\nAuthorization: Bearer " + admin->token +
      "\r\nUser-Agent: sesame/" + kVersion + "\r\nConnection: close\r\n\r\n";
  std::string error;
  std::optional<HttpAnswer> answer = exchange(admin->addr, request, &error);
  if (!answer) {
    return report(kSessionsRefused, "cannot reach the admin listener at " + admin->address +
                                        " ([admin] address of " + command.config_path +
                                        "): " + error + "; is sesame running?");
  }
  const std::string who = shown(command.subject);
  if (list && answer->status == 200) {
    std::optional<std::vector<SessionRow>> rows = parseSessionList(answer->body);
    if (!rows) return report(kSessionsRefused, "the session list is not the JSON expected");
    if (rows->empty()) return report(kSessionsNotFound, "user \"" + who + "\" has no sessions");
    std::fputs(formatSessionTable(*rows).c_str(), stdout);
    return kSessionsDone;
  }
  if (command.verb == "revoke" && answer->status == 204) {
    std::printf("revoked session %s\n", who.c_str());
    return kSessionsDone;
  }
  if (command.verb == "revoke-user" && answer->status == 200) {
    std::optional<std::string> count = objectField(answer->body, "revoked");
    // Only digits reach the terminal: the answer is another process's word.
    if (!count || count->empty() || count->size() > 12 ||
        !std::all_of(count->begin(), count->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return report(kSessionsRefused, "the answer does not say how many were revoked");
    }
    if (*count == "0") {
      return report(kSessionsNotFound, "user \"" + who + "\" has no sessions; nothing revoked");
    }
    std::printf("revoked %s session%s of user \"%s\"\n", count->c_str(), *count == "1" ? "" : "s",
                who.c_str());
    return kSessionsDone;
  }
  return refusal(command, *admin, *answer);
}

}  // namespace

std::optional<int> runSessionsCommand(int argc, char** argv) {
  int at = 0;
  for (int i = 1; i < argc && at == 0; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-c") {
      ++i;  // its value, whatever it is called
    } else if (arg == "sessions") {
      at = i;
    }
  }
  if (at == 0) return std::nullopt;
  std::optional<Command> command = parseCommand(argc, argv, at);
  if (!command) {
    std::fputs(kUsage, stderr);
    return kSessionsUsage;
  }
  return run(*command);
}

std::optional<std::vector<SessionRow>> parseSessionList(std::string_view json) {
  JsonReader in(json);
  std::vector<SessionRow> rows;
  if (!in.eat('[')) return std::nullopt;
  if (!in.eat(']')) {
    do {
      if (!in.eat('{')) return std::nullopt;
      SessionRow row;
      if (!in.eat('}')) {
        do {
          std::optional<std::string> key = in.string();
          std::optional<std::string> value = key && in.eat(':') ? in.scalar() : std::nullopt;
          if (!value) return std::nullopt;
          std::string* field = *key == "handle"       ? &row.handle
                               : *key == "login"      ? &row.login
                               : *key == "last_seen"  ? &row.last_seen
                               : *key == "client"     ? &row.client
                               : *key == "user_agent" ? &row.user_agent
                                                      : nullptr;
          if (field != nullptr) *field = std::move(*value);
        } while (in.eat(','));
        if (!in.eat('}')) return std::nullopt;
      }
      rows.push_back(std::move(row));
    } while (in.eat(','));
    if (!in.eat(']')) return std::nullopt;
  }
  if (!in.atEnd()) return std::nullopt;
  return rows;
}

std::string formatSessionTable(const std::vector<SessionRow>& rows) {
  std::vector<std::vector<std::string>> cells{
      {"HANDLE", "LOGIN (UTC)", "LAST SEEN (UTC)", "CLIENT", "USER AGENT"}};
  for (const SessionRow& r : rows) {
    cells.push_back({shown(r.handle), shownTime(r.login), shownTime(r.last_seen),
                     r.client.empty() ? "-" : shown(r.client),
                     r.user_agent.empty() ? "-" : shown(r.user_agent)});
  }
  std::vector<size_t> widths(cells.front().size(), 0);
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) widths[c] = std::max(widths[c], line[c].size());
  }
  std::string out;
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) {
      out += line[c];
      if (c + 1 < line.size()) out += std::string(widths[c] - line[c].size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  }
  return out;
}

std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
        std::string_view("-._~").find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      out += {'%', kHex[u >> 4], kHex[u & 0xf]};
    }
  }
  return out;
}

}  // namespace sesame::server
