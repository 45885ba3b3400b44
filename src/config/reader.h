// Private to config/: typed, position-aware access to a toml++ table that
// records every problem as "FILE:LINE:COLUMN: message" instead of stopping.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sesame/config/config.h"

namespace sesame::config {

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(const toml::source_region& where, std::string message);
  void error(const toml::node& where, std::string message) {
    error(where.source(), std::move(message));
  }
  [[nodiscard]] bool empty() const { return errors_.empty(); }
  // In file order, so an operator can fix them top to bottom.
  [[nodiscard]] std::vector<std::string> take();
  [[nodiscard]] const std::string& file() const { return file_; }

 private:
  struct Entry {
    uint32_t line;
    uint32_t column;
    size_t order;
    std::string text;
  };
  std::string file_;
  std::vector<Entry> errors_;
};

// Quotes a value for a message: "..." with quotes, backslashes and control
// bytes escaped, so a hostile file cannot forge lines in the log.
[[nodiscard]] std::string quote(std::string_view text);
// `name` as it would be written in a dotted key: bare when it can be, quoted otherwise.
[[nodiscard]] std::string keyPart(std::string_view name);
// "a string", "an integer", ... for "expected X, got Y".
[[nodiscard]] std::string_view typeName(const toml::node& node);

// One TOML table plus the dotted path that names it in messages
// ("" for the root, "listen[0]", "upstream.app").
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, Diagnostics& diag)
      : table_(table), path_(std::move(path)), diag_(diag) {}

  // Reports every key not in `known` (unknown keys are typos that would
  // otherwise silently keep a default).
  void rejectUnknown(std::initializer_list<std::string_view> known);

  [[nodiscard]] std::string path(std::string_view key) const;
  [[nodiscard]] const toml::node* find(std::string_view key) const;
  [[nodiscard]] const toml::table& table() const { return table_; }
  [[nodiscard]] Diagnostics& diag() const { return diag_; }
  // Points at this table: "key is missing" errors go here.
  void missing(std::string_view key, std::string_view expected);

  // Each returns nullopt when the key is absent or wrong (wrong is reported).
  [[nodiscard]] std::optional<std::string> string(std::string_view key);
  [[nodiscard]] std::optional<bool> boolean(std::string_view key);
  [[nodiscard]] std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  [[nodiscard]] std::optional<Duration> duration(std::string_view key, bool zero_allowed);
  [[nodiscard]] const toml::table* subtable(std::string_view key, std::string_view expected);
  [[nodiscard]] const toml::array* array(std::string_view key, std::string_view expected);
  // An array of tables ([[key]]): each element that is a table, with its
  // index; other elements are reported.
  [[nodiscard]] std::vector<std::pair<size_t, const toml::table*>> tableArray(
      std::string_view key, std::string_view expected);

 private:
  void wrongType(std::string_view key, const toml::node& node, std::string_view expected);

  const toml::table& table_;
  std::string path_;
  Diagnostics& diag_;
};

// "host:port" or "[v6]:port" at `node`, parsed and resolved; `key` names it
// in messages.
[[nodiscard]] std::optional<net::Address> readAddress(Diagnostics& diag, const toml::node& node,
                                                      const std::string& key,
                                                      const std::string& text,
                                                      const LoadOptions& options);

// `value` made absolute against the configuration file's directory when
// relative, so a start from any working directory (systemd's is /) reads
// the same files.
[[nodiscard]] std::string resolvePath(const std::string& config_path, const std::string& value);

// The whole of the small (at most 64 KiB) file `file` named by `key` in
// `table`; `holds` says what it should contain, for the too-large message.
// Errors name the file and the reason, never its content.
[[nodiscard]] std::optional<std::string> readSecretFile(TableReader& table, std::string_view key,
                                                        const std::string& file,
                                                        std::string_view holds);

// Section readers, in the order loader.cc runs them (later ones check
// references to earlier ones).
void readServer(TableReader& root, Config& config);
void readTls(TableReader& root, Config& config);
void readListeners(TableReader& root, const LoadOptions& options, Config& config);
void readUpstreams(TableReader& root, const LoadOptions& options, Config& config);
void readSession(TableReader& root, const LoadOptions& options,
                 Config& config);  // [session] and [identity]
void readRoutes(TableReader& root, Config& config);
// auth, groups, accept_control and csrf of one [[route]] (session.cc);
// needs readSession to have run.
void readRoutePolicy(TableReader& entry, const Config& config, session::RoutePolicy& policy);
void readLimits(TableReader& root, Config& config);
void readTimeouts(TableReader& root, Config& config);
void readLog(TableReader& root, Config& config);
// Needs readListeners to have run: the admin address must differ from theirs.
void readAdmin(TableReader& root, const LoadOptions& options, Config& config);

}  // namespace sesame::config
