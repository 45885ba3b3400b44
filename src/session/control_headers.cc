#include "sesame/session/control_headers.h"

#include <algorithm>
#include <string>
#include <vector>

#include "sesame/session/identity_filter.h"

namespace sesame::session {
namespace {

constexpr std::string_view kLogin = "X-Sesame-Login";
constexpr std::string_view kGroups = "X-Sesame-Groups";
constexpr std::string_view kLogout = "X-Sesame-Logout";
constexpr std::string_view kSet = "X-Sesame-Set";
constexpr std::string_view kUnset = "X-Sesame-Unset";
constexpr std::string_view kControlPrefix = "X-Sesame-";
constexpr size_t kMaxKeyBytes = 64;
constexpr size_t kMaxNameInWarning = 64;

bool isControl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1: '%' HEXDIG HEXDIG; a lone or malformed '%' is an error.
std::optional<std::string> percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hexValue(in[i + 1]);
    const int lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool hasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return isControl(static_cast<unsigned char>(c)); });
}

class Parser {
 public:
  Parser(ControlLimits limits, std::vector<std::string>* warnings)
      : limits_(limits), warnings_(warnings) {}

  ControlActions run(const http::HeaderList& headers);

 private:
  void warn(std::string message) {
    if (warnings_ != nullptr) warnings_->push_back(std::move(message));
  }
  void onField(const http::Header& field);
  void onLogout(std::string_view value);
  void onSet(std::string_view value);
  void onUnset(std::string_view value);
  void takeGroups(std::string_view value);
  bool roomForNewKey(std::string_view header, const std::string& key);
  void eraseSet(const std::string& key);
  void finish();

  ControlLimits limits_;
  std::vector<std::string>* warnings_;
  ControlActions out_;
  std::vector<std::string_view> logins_;
  std::vector<std::string_view> group_fields_;
  size_t total_bytes_ = 0;
};

ControlActions Parser::run(const http::HeaderList& headers) {
  for (const http::Header& field : headers.fields()) onField(field);
  finish();
  return std::move(out_);
}

void Parser::onField(const http::Header& field) {
  const std::string_view name = field.name;
  if (http::equalsIgnoreCase(name, kLogin)) {
    logins_.push_back(field.value);
  } else if (http::equalsIgnoreCase(name, kGroups)) {
    group_fields_.push_back(field.value);
  } else if (http::equalsIgnoreCase(name, kLogout)) {
    onLogout(field.value);
  } else if (http::equalsIgnoreCase(name, kSet)) {
    onSet(field.value);
  } else if (http::equalsIgnoreCase(name, kUnset)) {
    onUnset(field.value);
  } else if (headerNameHasPrefix(name, kControlPrefix)) {
    std::string shown(name.substr(0, kMaxNameInWarning));
    for (char& c : shown) {
      if (isControl(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) > 0x7e) c = '?';
    }
    warn("unknown control header " + shown + " ignored");
  }
}

void Parser::onLogout(std::string_view value) {
  if (value == "1") {
    if (out_.logout == Logout::kNone) out_.logout = Logout::kSession;
  } else if (http::equalsIgnoreCase(value, "all")) {
    out_.logout = Logout::kAllSessions;
  } else {
    warn("X-Sesame-Logout must be \"1\" or \"all\"; ignored");
  }
}

bool Parser::roomForNewKey(std::string_view header, const std::string& key) {
  if (out_.set.size() + out_.unset.size() < limits_.max_keys) return true;
  warn(std::string(header) + " for key \"" + key + "\" exceeds " +
       std::to_string(limits_.max_keys) + " keys per response; ignored");
  return false;
}

void Parser::eraseSet(const std::string& key) {
  auto it = std::find_if(out_.set.begin(), out_.set.end(),
                         [&](const DataField& f) { return f.key == key; });
  if (it == out_.set.end()) return;
  total_bytes_ -= it->value.size();
  out_.set.erase(it);
}

void Parser::onSet(std::string_view value) {
  const size_t eq = value.find('=');
  if (eq == std::string_view::npos) return warn("X-Sesame-Set without '=' ignored");
  const std::string_view raw_key = trimOws(value.substr(0, eq));
  if (!isValidDataKey(raw_key)) return warn("X-Sesame-Set key is not [A-Za-z0-9_-]{1,64}; ignored");
  const std::string key = canonicalDataKey(raw_key);
  const std::string prefix = "X-Sesame-Set for key \"" + key + "\"";
  std::optional<std::string> decoded = percentDecode(trimOws(value.substr(eq + 1)));
  if (!decoded) return warn(prefix + " has bad percent-encoding; ignored");
  if (hasControl(*decoded)) return warn(prefix + " decodes to a control character; ignored");
  if (decoded->size() > limits_.max_value_bytes) {
    return warn(prefix + " exceeds " + std::to_string(limits_.max_value_bytes) + " bytes; ignored");
  }
  auto it = std::find_if(out_.set.begin(), out_.set.end(),
                         [&](const DataField& f) { return f.key == key; });
  const size_t replaced = it == out_.set.end() ? 0 : it->value.size();
  if (total_bytes_ - replaced + decoded->size() > limits_.max_total_bytes) {
    return warn(prefix + " exceeds " + std::to_string(limits_.max_total_bytes) +
                " bytes of values per response; ignored");
  }
  std::erase(out_.unset, key);
  if (it != out_.set.end()) {
    total_bytes_ = total_bytes_ - replaced + decoded->size();
    it->value = std::move(*decoded);
    return;
  }
  if (!roomForNewKey(kSet, key)) return;
  total_bytes_ += decoded->size();
  out_.set.push_back({key, std::move(*decoded)});
}

void Parser::onUnset(std::string_view value) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view raw_key = trimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (raw_key.empty()) continue;
    if (!isValidDataKey(raw_key)) {
      warn("X-Sesame-Unset key is not [A-Za-z0-9_-]{1,64}; ignored");
      continue;
    }
    std::string key = canonicalDataKey(raw_key);
    eraseSet(key);
    if (std::find(out_.unset.begin(), out_.unset.end(), key) != out_.unset.end()) continue;
    if (roomForNewKey(kUnset, key)) out_.unset.push_back(std::move(key));
  }
}

// RFC 9110 §5.6.1: list elements are trimmed and empty ones skipped.
void Parser::takeGroups(std::string_view value) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view group = trimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (group.empty()) continue;
    if (!isValidGroup(group, limits_.max_group_bytes)) {
      warn("X-Sesame-Groups element is not 1-" + std::to_string(limits_.max_group_bytes) +
           " visible ASCII characters; ignored");
      continue;
    }
    if (std::find(out_.groups.begin(), out_.groups.end(), group) != out_.groups.end()) continue;
    if (out_.groups.size() >= limits_.max_groups) {
      warn("X-Sesame-Groups exceeds " + std::to_string(limits_.max_groups) +
           " groups; the rest are ignored");
      return;
    }
    out_.groups.emplace_back(group);
  }
}

void Parser::finish() {
  if (logins_.size() > 1) {
    warn("several X-Sesame-Login headers are ambiguous; no login");
  } else if (logins_.size() == 1) {
    if (isValidUser(logins_.front(), limits_.max_user_bytes)) {
      out_.login.emplace(logins_.front());
    } else {
      warn("X-Sesame-Login user must be 1-" + std::to_string(limits_.max_user_bytes) +
           " bytes without control characters; no login");
    }
  }
  if (out_.login) {
    for (std::string_view value : group_fields_) takeGroups(value);
  } else if (!group_fields_.empty()) {
    warn("X-Sesame-Groups without a valid X-Sesame-Login ignored");
  }
  if (out_.logout != Logout::kNone && (out_.login || !out_.set.empty() || !out_.unset.empty())) {
    // A logout destroys the session: writing to it, or logging in on a
    // response that also logs out, has no meaning that is safe to guess.
    warn("X-Sesame-Logout discards X-Sesame-Login, Set and Unset of the same response");
    out_.login.reset();
    out_.groups.clear();
    out_.set.clear();
    out_.unset.clear();
  }
}

}  // namespace

bool isValidUser(std::string_view user, size_t max_bytes) {
  if (user.empty() || user.size() > max_bytes) return false;
  return std::none_of(user.begin(), user.end(),
                      [](char c) { return isControl(static_cast<unsigned char>(c)); });
}

bool isValidGroup(std::string_view group, size_t max_bytes) {
  if (group.empty() || group.size() > max_bytes) return false;
  return std::all_of(group.begin(), group.end(),
                     [](char c) { return c > 0x20 && c < 0x7f && c != ','; });
}

bool isValidDataKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

std::string canonicalDataKey(std::string_view key) {
  std::string out(key);
  for (char& c : out) {
    if (c == '_') c = '-';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

ControlActions parseControlHeaders(const http::HeaderList& response_headers, ControlLimits limits,
                                   std::vector<std::string>* warnings) {
  return Parser(limits, warnings).run(response_headers);
}

size_t stripControlHeaders(http::HeaderList& headers) {
  std::vector<std::string> names;
  for (const http::Header& h : headers.fields()) {
    if (headerNameHasPrefix(h.name, kControlPrefix)) names.push_back(h.name);
  }
  size_t removed = 0;
  for (const std::string& name : names) removed += headers.remove(name);
  return removed;
}

}  // namespace sesame::session
