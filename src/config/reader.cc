#include "reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sesame::config {

void Diagnostics::error(const toml::source_region& where, std::string message) {
  // An empty document has no position; 1:1 still points the editor somewhere.
  uint32_t line = std::max<uint32_t>(where.begin.line, 1);
  uint32_t column = std::max<uint32_t>(where.begin.column, 1);
  std::string text =
      file_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
  errors_.push_back(Entry{line, column, errors_.size(), std::move(text)});
}

void Diagnostics::external(std::string message) {
  errors_.push_back(Entry{UINT32_MAX, UINT32_MAX, errors_.size(), std::move(message)});
}

std::vector<std::string> Diagnostics::take() {
  std::sort(errors_.begin(), errors_.end(), [](const Entry& a, const Entry& b) {
    if (a.line != b.line) return a.line < b.line;
    if (a.column != b.column) return a.column < b.column;
    return a.order < b.order;
  });
  std::vector<std::string> out;
  out.reserve(errors_.size());
  for (Entry& e : errors_) out.push_back(std::move(e.text));
  errors_.clear();
  return out;
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string keyPart(std::string_view name) {
  bool bare = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  return bare ? std::string(name) : quote(name);
}

std::string_view typeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

void TableReader::rejectUnknown(std::initializer_list<std::string_view> known) {
  std::string list;
  for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
  for (auto&& [key, value] : table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    diag_.error(key.source(),
                "unknown key " + path(key.str()) + " (expected one of: " + list + ")");
  }
}

std::string TableReader::path(std::string_view key) const {
  return path_.empty() ? keyPart(key) : path_ + "." + keyPart(key);
}

const toml::node* TableReader::find(std::string_view key) const {
  return table_.get(key);
}

void TableReader::missing(std::string_view key, std::string_view expected) {
  diag_.error(table_, path(key) + " is missing (expected " + std::string(expected) + ")");
}

void TableReader::wrongType(std::string_view key, const toml::node& node,
                            std::string_view expected) {
  diag_.error(node, path(key) + ": expected " + std::string(expected) + ", got " +
                        std::string(typeName(node)));
}

std::optional<std::string> TableReader::string(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* s = node->as_string()) return s->get();
  wrongType(key, *node, "a string");
  return std::nullopt;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  wrongType(key, *node, "a boolean (true or false)");
  return std::nullopt;
}

std::optional<int64_t> TableReader::integer(std::string_view key, int64_t min, int64_t max) {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* i = node->as_integer();
  if (i == nullptr) {
    wrongType(key, *node, "an integer");
    return std::nullopt;
  }
  int64_t value = i->get();
  if (value < min || value > max) {
    diag_.error(*node, path(key) + " = " + std::to_string(value) + " is out of range (expected " +
                           std::to_string(min) + " to " + std::to_string(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> TableReader::duration(std::string_view key, bool zero_allowed) {
  constexpr std::string_view kExpected = "a duration string such as \"10s\" (units ms, s, m, h, d)";
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* s = node->as_string();
  if (s == nullptr) {
    wrongType(key, *node, kExpected);
    return std::nullopt;
  }
  std::optional<Duration> value = parseDuration(s->get());
  if (!value) {
    diag_.error(*node, path(key) + " " + quote(s->get()) +
                           " is not a valid duration (expected a whole number and one unit of "
                           "ms, s, m, h or d, such as \"10s\", at most \"36500d\")");
    return std::nullopt;
  }
  if (!zero_allowed && value->count() == 0) {
    diag_.error(*node, path(key) + " must be greater than zero");
    return std::nullopt;
  }
  return value;
}

const toml::table* TableReader::subtable(std::string_view key, std::string_view expected) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (const auto* t = node->as_table()) return t;
  wrongType(key, *node, expected);
  return nullptr;
}

const toml::array* TableReader::array(std::string_view key, std::string_view expected) {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (const auto* a = node->as_array()) return a;
  wrongType(key, *node, expected);
  return nullptr;
}

std::vector<std::pair<size_t, const toml::table*>> TableReader::tableArray(
    std::string_view key, std::string_view expected) {
  std::vector<std::pair<size_t, const toml::table*>> out;
  const toml::array* items = array(key, expected);
  if (items == nullptr) return out;
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::node& item = *items->get(i);
    if (const auto* t = item.as_table()) {
      out.emplace_back(i, t);
    } else {
      diag_.error(item, path(key) + "[" + std::to_string(i) + "]: expected a table, got " +
                            std::string(typeName(item)));
    }
  }
  return out;
}

std::optional<net::Address> readAddress(Diagnostics& diag, const toml::node& node,
                                        const std::string& key, const std::string& text,
                                        const LoadOptions& options) {
  std::string why;
  std::optional<net::HostPort> hp = net::parseHostPort(text, &why);
  std::optional<net::Address> addr;
  if (hp) addr = options.resolve_names ? net::resolve(*hp, &why) : net::resolveNumeric(*hp, &why);
  if (!addr) diag.error(node, key + " " + quote(text) + " is not a usable address: " + why);
  return addr;
}

std::optional<std::string> readSmallFile(TableReader& s, std::string_view key,
                                         const std::string& file, std::string_view holds,
                                         uintmax_t max_bytes) {
  return readSmallFile(s.diag(), *s.find(key), s.path(key), file, holds, max_bytes);
}

std::optional<std::string> readSmallFile(Diagnostics& diag, const toml::node& at,
                                         const std::string& label, const std::string& file,
                                         std::string_view holds, uintmax_t max_bytes) {
  namespace fs = std::filesystem;
  std::string where = label + ": " + quote(file);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    diag.error(at, where + (fs::exists(file, ec) ? " is not a regular file" : " does not exist"));
    return std::nullopt;
  }
  if (fs::file_size(file, ec) > max_bytes) {
    diag.error(at, where + " is larger than " + std::to_string(max_bytes / 1024) +
                       " KiB; it should hold " + std::string(holds));
    return std::nullopt;
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in.is_open()) {
    diag.error(at, label + ": cannot read " + quote(file) + ": " +
                       std::strerror(errno != 0 ? errno : EACCES));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool checkNotOthers(Diagnostics& diag, const toml::node& at, const std::string& label,
                    const std::string& file, std::string_view risk) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || (st.st_mode & S_IRWXO) == 0) return true;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  diag.error(at, label + ": " + quote(file) + " has mode " + mode + ": other users may use it; " +
                     std::string(risk) + " (chmod o-rwx the file)");
  return false;
}

}  // namespace sesame::config
