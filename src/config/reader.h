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
  // A problem inside another file the configuration names (a users file),
  // already "THAT_FILE:LINE: message"; listed after this file's own.
  void external(std::string message);
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

// The whole of the small file `file` named by `key` (at most `max_bytes`);
// `holds` says what it should contain, for the too-large message. Errors
// name the file and the reason, never its content (secrets, hashes).
[[nodiscard]] std::optional<std::string> readSmallFile(TableReader& s, std::string_view key,
                                                       const std::string& file,
                                                       std::string_view holds, uintmax_t max_bytes);
// Same, reporting at `at` under `label` (an array element: "x.key[1]").
[[nodiscard]] std::optional<std::string> readSmallFile(Diagnostics& diag, const toml::node& at,
                                                       const std::string& label,
                                                       const std::string& file,
                                                       std::string_view holds, uintmax_t max_bytes);

// False (and reported at `at`) when other users may read, write or run the
// credential `file`, as ssh refuses a readable private key; group access
// stays allowed for the usual root:sesame 0640. `risk` says what a reader
// could do with it.
[[nodiscard]] bool checkNotOthers(Diagnostics& diag, const toml::node& at, const std::string& label,
                                  const std::string& file, std::string_view risk);

// What a private key file is for decides the key types accepted.
enum class KeyUse {
  kAssertion,   // the identity assertion: EC P-256 or Ed25519
  kClientAuth,  // private_key_jwt (RFC 7523): RSA of 2048 bits or more, EC P-256 or Ed25519
};

struct PemPrivateKey {
  std::string pem;  // as read
  std::string alg;  // the JWS "alg" it signs with: "RS256", "ES256" or "EdDSA"
};

// Reads the unencrypted PEM private key `file` (a credential: checkNotOthers)
// and checks its type for `use`; errors at `at` say which key was found and
// how to make one that fits.
[[nodiscard]] std::optional<PemPrivateKey> readPrivateKey(Diagnostics& diag, const toml::node& at,
                                                          const std::string& label,
                                                          const std::string& file, KeyUse use);
// True when `file`'s text holds at least one PEM certificate (reported at
// `at` otherwise).
[[nodiscard]] bool holdsCertificates(Diagnostics& diag, const toml::node& at,
                                     const std::string& label, const std::string& file,
                                     const std::string& text);

// Section readers, in the order loader.cc runs them (later ones check
// references to earlier ones).
void readServer(TableReader& root, Config& config);
void readTls(TableReader& root, Config& config);
void readListeners(TableReader& root, const LoadOptions& options, Config& config);
void readUpstreams(TableReader& root, const LoadOptions& options, Config& config);
void readSession(TableReader& root, const LoadOptions& options,
                 Config& config);  // [session], [redis] and [identity]
// [identity] (identity.cc); run by readSession once [session] is read.
void readIdentity(TableReader& root, Config& config);
void readRoutes(TableReader& root, Config& config);
// auth, groups, accept_control and csrf of one [[route]] (session.cc);
// needs readSession and readOidc to have run.
void readRoutePolicy(TableReader& entry, const Config& config, session::RoutePolicy& policy);
// provider, bearer, bearer_audience and bearer_only of one [[route]]
// (oidc.cc); true when the route uses either, which makes it kRequired.
bool readRouteOidc(TableReader& entry, const Config& config, session::RoutePolicy& policy);
void readLimits(TableReader& root, Config& config);
void readTimeouts(TableReader& root, Config& config);
void readLog(TableReader& root, Config& config);
// [login]; needs readSession to have run (it sets the default login_url).
void readLogin(TableReader& root, Config& config);
// [oidc] or [oidc.NAME]; needs readSession and readLogin to have run (it
// checks the store, sets the default login_url and post_logout_redirect).
void readOidc(TableReader& root, Config& config);
// Needs readListeners to have run: the admin address must differ from theirs.
void readAdmin(TableReader& root, const LoadOptions& options, Config& config);

}  // namespace sesame::config
