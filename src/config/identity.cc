// [identity]: the headers that tell the application who is logged in, and
// the signed assertion that lets it stop trusting bare headers (issue 12 §2).
#include <algorithm>
#include <array>

#include "reader.h"
#include "sesame/session/identity_filter.h"

namespace sesame::config {
namespace {

constexpr Duration kMinAssertionTtl{10'000};
constexpr Duration kMaxAssertionTtl{3'600'000};
// Rotation needs two keys, perhaps three during a hurried one; more is a
// mistake, and every key is published to every application.
constexpr size_t kMaxAssertionKeys = 8;
constexpr size_t kMaxIssuerBytes = 256;

constexpr std::string_view kMakeAssertionKey =
    "openssl genpkey -algorithm ed25519 -out assertion.key";

bool isTchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Headers a client must be able to send and sesame must be able to forward:
// an identity header or data prefix covering one of them would strip it from
// every request (the spoofing filter runs on all routes).
constexpr std::array<std::string_view, 16> kReservedHeaders = {"Host",
                                                               "Connection",
                                                               "Content-Length",
                                                               "Content-Type",
                                                               "Transfer-Encoding",
                                                               "Cookie",
                                                               "Upgrade",
                                                               "TE",
                                                               "Trailer",
                                                               "Authorization",
                                                               "Accept",
                                                               "Origin",
                                                               "Referer",
                                                               "Sec-Fetch-Site",
                                                               "X-Forwarded-For",
                                                               "Forwarded"};

void readHeaderName(TableReader& t, std::string_view key, bool prefix, std::string& field) {
  std::optional<std::string> name = t.string(key);
  if (!name) return;
  const toml::node& at = *t.find(key);
  std::string label = t.path(key) + " " + quote(*name);
  if (name->empty() || !std::all_of(name->begin(), name->end(), isTchar)) {
    t.diag().error(at, label + " is not a header name (letters, digits and !#$%&'*+-.^_`|~)");
    return;
  }
  if (prefix && name->back() != '-') {
    t.diag().error(at,
                   label + " must end with \"-\" (data key \"cart\" becomes " + *name + "-Cart)");
    return;
  }
  for (std::string_view reserved : kReservedHeaders) {
    bool hit = prefix ? session::headerNameHasPrefix(reserved, *name)
                      : session::headerNameMatches(reserved, *name);
    if (!hit) continue;
    t.diag().error(at, label + " would remove the client's " + std::string(reserved) +
                           " header from every request; choose one of its own, such as " +
                           (prefix ? "\"X-Session-\"" : "\"X-Remote-User\""));
    return;
  }
  field = *name;
}

// Where an error about `key` goes: its value, else the table.
const toml::node& at(TableReader& t, std::string_view key) {
  const toml::node* node = t.find(key);
  return node != nullptr ? *node : static_cast<const toml::node&>(t.table());
}

// assertion_key: one path, or an array of paths (the first signs).
void readAssertionKeys(TableReader& t, const Config& config, session::Assertion& assertion) {
  const toml::node* node = t.find("assertion_key");
  if (node == nullptr) return;
  constexpr std::string_view kExpected = "a file name or an array of file names";
  std::vector<std::pair<const toml::node*, std::string>> names;
  if (node->is_string()) {
    names.emplace_back(node, t.path("assertion_key"));
  } else if (const auto* list = node->as_array()) {
    if (list->empty() || list->size() > kMaxAssertionKeys) {
      t.diag().error(*node, t.path("assertion_key") + " must name 1 to " +
                                std::to_string(kMaxAssertionKeys) +
                                " key files (the first signs, the others are still accepted)");
      return;
    }
    for (size_t i = 0; i < list->size(); ++i) {
      std::string label = t.path("assertion_key") + "[" + std::to_string(i) + "]";
      const toml::node& item = *list->get(i);
      if (!item.is_string()) {
        t.diag().error(item, label + ": expected a file name, got " + std::string(typeName(item)));
        continue;
      }
      names.emplace_back(&item, label);
    }
  } else {
    t.diag().error(*node, t.path("assertion_key") + ": expected " + std::string(kExpected) +
                              ", got " + std::string(typeName(*node)));
    return;
  }
  for (auto& [item, label] : names) {
    const std::string& name = item->as_string()->get();
    if (name.empty()) {
      t.diag().error(*item, label +
                                " is empty (expected the path of a PEM private key; make "
                                "one with `" +
                                std::string(kMakeAssertionKey) + "`)");
      continue;
    }
    std::string file = resolvePath(config.path, name);
    bool repeated = std::any_of(assertion.keys.begin(), assertion.keys.end(),
                                [&](const session::AssertionKey& k) { return k.file == file; });
    if (repeated) {
      t.diag().error(*item, label + ": " + quote(file) + " is listed twice");
      continue;
    }
    std::optional<PemPrivateKey> key =
        readPrivateKey(t.diag(), *item, label, file, KeyUse::kAssertion);
    if (key) assertion.keys.push_back({file, std::move(key->pem), std::move(key->alg)});
  }
}

void readAssertion(TableReader& t, const Config& config, session::Settings& settings) {
  session::Assertion& assertion = settings.assertion;
  const session::IdentityHeaders& ids = settings.identity;
  readHeaderName(t, "assertion_header", false, assertion.header);
  readAssertionKeys(t, config, assertion);
  if (auto ttl = t.duration("assertion_ttl", false)) {
    if (*ttl < kMinAssertionTtl || *ttl > kMaxAssertionTtl) {
      t.diag().error(*t.find("assertion_ttl"),
                     "identity.assertion_ttl must be between \"10s\" (requests in flight must "
                     "not outlive it) and \"1h\" (a copied assertion is valid that long)");
    } else {
      assertion.ttl = *ttl;
    }
  }
  if (auto issuer = t.string("assertion_issuer")) {
    bool clean = std::none_of(issuer->begin(), issuer->end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (issuer->empty() || issuer->size() > kMaxIssuerBytes || !clean) {
      t.diag().error(*t.find("assertion_issuer"),
                     "identity.assertion_issuer must be 1 to " + std::to_string(kMaxIssuerBytes) +
                         " bytes without control characters, such as \"sesame\" or "
                         "\"https://sesame.example.com\"");
    } else {
      assertion.issuer = *issuer;
    }
  }
  const bool has_header = t.find("assertion_header") != nullptr;
  const bool has_key = t.find("assertion_key") != nullptr;
  if (has_header && !has_key) {
    t.diag().error(at(t, "assertion_header"),
                   "identity.assertion_header needs identity.assertion_key, the key that signs "
                   "the assertion (EC P-256 or Ed25519; make one with `" +
                       std::string(kMakeAssertionKey) + "`)");
  }
  if (has_key && !has_header) {
    t.diag().error(at(t, "assertion_key"),
                   "identity.assertion_key needs identity.assertion_header, the request header "
                   "that carries the assertion, such as \"X-Sesame-Assertion\"");
  }
  for (std::string_view key : {"assertion_ttl", "assertion_issuer"}) {
    if (t.find(key) == nullptr || has_header || has_key) continue;
    t.diag().error(*t.find(key), t.path(key) +
                                     " only applies with identity.assertion_header and "
                                     "identity.assertion_key; set them or remove it");
  }
  if (assertion.header.empty()) return;
  // The assertion must never be mistaken for, or produced by, another
  // identity field: the spoofing filter and the data fields use those names.
  for (auto [key, name] : {std::pair{"user_header", &ids.user_header},
                           std::pair{"groups_header", &ids.groups_header}}) {
    if (!session::headerNameMatches(assertion.header, *name)) continue;
    t.diag().error(at(t, "assertion_header"), "identity.assertion_header " +
                                                  quote(assertion.header) +
                                                  " is the same header as identity." + key +
                                                  "; choose one of its own, such as "
                                                  "\"X-Sesame-Assertion\"");
  }
  if (session::headerNameHasPrefix(assertion.header, ids.data_prefix)) {
    t.diag().error(at(t, "assertion_header"),
                   "identity.assertion_header " + quote(assertion.header) +
                       " starts with identity.data_prefix " + quote(ids.data_prefix) +
                       ", so a session data field could pose as it; choose one outside it, "
                       "such as \"X-Sesame-Assertion\"");
  }
}

}  // namespace

void readIdentity(TableReader& root, Config& config) {
  const toml::table* table = root.subtable("identity", "a table ([identity])");
  if (table == nullptr) return;
  TableReader t(*table, "identity", root.diag());
  t.rejectUnknown({"user_header", "groups_header", "data_prefix", "assertion_header",
                   "assertion_key", "assertion_ttl", "assertion_issuer"});
  if (!config.session) {
    root.diag().error(*table,
                      "[identity] has no effect without a [session] table; add [session] "
                      "with secrets, or remove [identity]");
    return;
  }
  session::IdentityHeaders& ids = config.session->identity;
  readHeaderName(t, "user_header", false, ids.user_header);
  readHeaderName(t, "groups_header", false, ids.groups_header);
  readHeaderName(t, "data_prefix", true, ids.data_prefix);
  // A data field must never be able to pose as the user or the groups.
  if (session::headerNameMatches(ids.user_header, ids.groups_header)) {
    t.diag().error(*table, "identity.user_header and identity.groups_header are the same header");
  }
  for (auto [key, name] : {std::pair{"user_header", &ids.user_header},
                           std::pair{"groups_header", &ids.groups_header}}) {
    if (!session::headerNameHasPrefix(*name, ids.data_prefix)) continue;
    const toml::node* where = t.find(key) != nullptr ? t.find(key) : t.find("data_prefix");
    t.diag().error(where != nullptr ? *where : static_cast<const toml::node&>(*table),
                   "identity." + std::string(key) + " " + quote(*name) +
                       " starts with identity.data_prefix " + quote(ids.data_prefix) +
                       ", so a session data field could pose as it");
  }
  readAssertion(t, config, *config.session);
}

}  // namespace sesame::config
