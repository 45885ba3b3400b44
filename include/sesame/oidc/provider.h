// One OpenID provider as a worker knows it: metadata and keys fetched with an outbound client,
// read again periodically, and at once (rate limited) when a token names a key it lacks.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sesame/base/c_handle.h"
#include "sesame/config/config.h"
#include "sesame/jose/jwk.h"
#include "sesame/oidc/authorization.h"
#include "sesame/oidc/discovery.h"
#include "sesame/outbound/client.h"

namespace sesame::oidc {

// What one discovery found: the metadata and the keys of its jwks_uri, read together.
struct Knowledge {
  ProviderMetadata metadata;
  jose::KeySet keys;
  // How sesame authenticates at this provider's token endpoint, chosen from what it offers.
  ClientAuth client_auth = ClientAuth::kClientSecretBasic;
};
using KnowledgePtr = std::shared_ptr<const Knowledge>;

// A token naming an unknown kid re-reads the JWKS at most this often per provider and worker:
// a rotation is picked up at once, a flood of made-up kids costs the provider one fetch per
// interval.
inline constexpr std::chrono::seconds kKeyRefetchInterval{10};
// A lazy provider whose discovery failed is tried again this often.
inline constexpr std::chrono::seconds kDiscoveryRetry{10};

// Reads {issuer}/.well-known/openid-configuration, then its jwks_uri, with `client`; `done`
// gets the knowledge, or null and a sentence naming the provider and what failed. Destroying
// the returned handle cancels `done`.
class DiscoveryRun;
using DiscoveryHandle = std::unique_ptr<DiscoveryRun>;
using DiscoveryDone = std::function<void(KnowledgePtr, const std::string& error)>;
[[nodiscard]] DiscoveryHandle discover(outbound::Client& client,
                                       const config::OidcProviderConfig& config,
                                       DiscoveryDone done);

// The same on the calling thread, with a loop of its own that ends when the discovery does: for
// start-up and reloads on the main thread (a provider that does not answer takes at most about
// twice http_timeout).
[[nodiscard]] KnowledgePtr discoverNow(const config::OidcProviderConfig& config,
                                       std::string* error);

// The client options a provider's requests use (its ca_file and http_timeout).
[[nodiscard]] outbound::Options clientOptions(const config::OidcProviderConfig& config);

// Per worker and configuration generation, on the worker's loop only.
class Provider {
 public:
  // Told when a fetch it waited for has finished (true: the knowledge changed). Held by the
  // waiting request; a waiter whose owner has dropped it is skipped.
  using Waiter = std::shared_ptr<std::function<void(bool changed)>>;

  // `initial`: what start-up (or the reload) discovered; null for a lazy provider that could
  // not be reached then, which is tried again in the background.
  Provider(event_base* base, std::shared_ptr<LoopMailbox> mailbox,
           const config::OidcProviderConfig& config, KnowledgePtr initial);
  ~Provider();
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  [[nodiscard]] const config::OidcProviderConfig& config() const { return config_; }
  // Null while a lazy provider has not been reached yet.
  [[nodiscard]] const Knowledge* knowledge() const { return knowledge_.get(); }
  [[nodiscard]] outbound::Client& client() { return client_; }
  // sesame's credentials at the token endpoint (valid while this provider and its knowledge
  // live); knowledge() must not be null.
  [[nodiscard]] ClientCredentials credentials() const;

  // A token named a key the set lacks: reads the JWKS again unless that was done less than
  // kKeyRefetchInterval ago. True: `waiter` runs later, from the loop, once the read ended.
  // False: no read now (too soon); decide with the keys at hand.
  bool refetchKeys(const Waiter& waiter);
  // Not reached yet: starts a discovery now unless one runs. The waiter runs when it ends.
  void discoverSoon(const Waiter& waiter);

 private:
  static void onTimerThunk(int fd, short what, void* arg);
  void startDiscovery();
  void onDiscovered(KnowledgePtr knowledge, const std::string& error);
  void onKeys(outbound::Result result);
  void notify(bool changed);
  void arm(std::chrono::milliseconds after);

  const config::OidcProviderConfig& config_;
  EvpPkeyPtr client_key_;  // private_key_jwt; null with a client secret
  jose::Alg client_key_alg_ = jose::Alg::kES256;
  outbound::Client client_;
  KnowledgePtr knowledge_;
  EventPtr timer_;
  DiscoveryHandle discovery_;
  DiscoveryHandle spent_;  // the last finished run, freed outside its own callback
  outbound::FetchHandle keys_fetch_;
  std::chrono::steady_clock::time_point last_keys_{};
  std::chrono::steady_clock::time_point tried_{};  // the last discovery started
  std::vector<std::weak_ptr<std::function<void(bool)>>> waiters_;
};

}  // namespace sesame::oidc
