#include "sesame/oidc/provider.h"

#include <event2/event.h>
#include <openssl/pem.h>

#include "sesame/base/log.h"
#include "sesame/base/loop_mailbox.h"

namespace sesame::oidc {
namespace {

// The configuration checked the key when it read it; a key that no longer parses here leaves
// the token requests to fail with a message of their own.
EvpPkeyPtr loadClientKey(const config::OidcProviderConfig& config) {
  if (config.client_key_pem.empty()) return nullptr;
  BioPtr bio(BIO_new_mem_buf(config.client_key_pem.data(),
                             static_cast<int>(config.client_key_pem.size())));
  return EvpPkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

class DiscoveryRun {
 public:
  DiscoveryRun(outbound::Client& client, const config::OidcProviderConfig& config,
               DiscoveryDone done)
      : client_(client), config_(config), done_(std::move(done)) {}

  void start() {
    outbound::Request request;
    request.url = wellKnownUrl(config_.issuer);
    fetch_ = client_.fetch(std::move(request),
                           [this](outbound::Result result) { onMetadata(std::move(result)); });
  }

 private:
  static std::string wellKnownUrl(std::string_view issuer) {
    // OpenID Connect Discovery 1.0 §4: the issuer with any trailing '/' removed.
    while (issuer.ends_with('/')) issuer.remove_suffix(1);
    return std::string(issuer) + "/.well-known/openid-configuration";
  }

  std::string failed(std::string_view what, std::string_view why) const {
    return "oidc provider \"" + config_.name + "\" (" + config_.issuer + "): " + std::string(what) +
           ": " + std::string(why);
  }

  void onMetadata(outbound::Result result) {
    fetch_.reset();
    if (!result.ok) return finish(nullptr, failed("discovery", result.error));
    if (result.status != 200) {
      return finish(nullptr, failed("discovery", "HTTP status " + std::to_string(result.status)));
    }
    std::string error;
    std::optional<ProviderMetadata> metadata =
        parseProviderMetadata(result.body, config_.issuer, &error);
    if (!metadata) return finish(nullptr, failed("discovery document", error));
    std::optional<ClientAuth> auth = chooseClientAuth(metadata->token_endpoint_auth_methods,
                                                      !config_.client_key_pem.empty(), &error);
    if (!auth) return finish(nullptr, failed("token endpoint authentication", error));
    client_auth_ = *auth;
    metadata_ = std::move(*metadata);
    outbound::Request request;
    request.url = metadata_.jwks_uri;
    fetch_ = client_.fetch(std::move(request),
                           [this](outbound::Result keys) { onKeys(std::move(keys)); });
  }

  void onKeys(outbound::Result result) {
    fetch_.reset();
    if (!result.ok) return finish(nullptr, failed("jwks_uri", result.error));
    if (result.status != 200) {
      return finish(nullptr, failed("jwks_uri", "HTTP status " + std::to_string(result.status)));
    }
    std::string error;
    std::optional<jose::KeySet> keys = jose::parseJwks(result.body, &error);
    if (!keys) return finish(nullptr, failed("jwks_uri", error));
    if (keys->keys.empty()) return finish(nullptr, failed("jwks_uri", "no usable signing key"));
    auto knowledge = std::make_shared<Knowledge>();
    knowledge->metadata = std::move(metadata_);
    knowledge->keys = std::move(*keys);
    knowledge->client_auth = client_auth_;
    finish(std::move(knowledge), {});
  }

  void finish(KnowledgePtr knowledge, const std::string& error) {
    // `done` may destroy this run (its owner drops the handle): move it out first.
    DiscoveryDone done = std::move(done_);
    done(std::move(knowledge), error);
  }

  outbound::Client& client_;
  const config::OidcProviderConfig& config_;
  DiscoveryDone done_;
  outbound::FetchHandle fetch_;
  ProviderMetadata metadata_;
  ClientAuth client_auth_ = ClientAuth::kClientSecretBasic;
};

DiscoveryHandle discover(outbound::Client& client, const config::OidcProviderConfig& config,
                         DiscoveryDone done) {
  auto run = std::make_unique<DiscoveryRun>(client, config, std::move(done));
  run->start();
  return run;
}

outbound::Options clientOptions(const config::OidcProviderConfig& config) {
  outbound::Options options;
  options.ca_file = config.ca_file;
  options.request_timeout = config.http_timeout;
  options.connect_timeout = std::min(config.http_timeout, options.connect_timeout);
  return options;
}

KnowledgePtr discoverNow(const config::OidcProviderConfig& config, std::string* error) {
  EventBasePtr base(event_base_new());
  auto mailbox = std::make_shared<LoopMailbox>(base.get());
  KnowledgePtr found;
  {
    outbound::Client client(base.get(), mailbox, clientOptions(config));
    if (!client.setupError().empty()) {
      *error = "oidc provider \"" + config.name + "\": " + client.setupError();
      mailbox->close();
      return nullptr;
    }
    bool finished = false;
    DiscoveryHandle run =
        discover(client, config, [&](KnowledgePtr knowledge, const std::string& why) {
          found = std::move(knowledge);
          *error = why;
          finished = true;
          event_base_loopbreak(base.get());
        });
    while (!finished) {
      if (event_base_loop(base.get(), EVLOOP_ONCE) < 0) break;
    }
  }
  mailbox->close();
  return found;
}

Provider::Provider(event_base* base, std::shared_ptr<LoopMailbox> mailbox,
                   const config::OidcProviderConfig& config, KnowledgePtr initial)
    : config_(config),
      client_key_(loadClientKey(config)),
      client_key_alg_(jose::algFromName(config.client_key_alg).value_or(jose::Alg::kES256)),
      client_(base, std::move(mailbox), clientOptions(config)),
      knowledge_(std::move(initial)),
      timer_(event_new(base, -1, 0, onTimerThunk, this)) {
  if (knowledge_) {
    last_keys_ = std::chrono::steady_clock::now();
    arm(config_.discovery_interval);
  } else {
    arm(std::chrono::milliseconds(0));
  }
}

Provider::~Provider() = default;

ClientCredentials Provider::credentials() const {
  ClientCredentials credentials;
  credentials.method = knowledge_->client_auth;
  credentials.client_id = config_.client_id;
  credentials.client_secret = config_.client_secret;
  credentials.private_key = client_key_.get();
  credentials.key_alg = client_key_alg_;
  credentials.key_id = config_.client_key_id;
  return credentials;
}

void Provider::arm(std::chrono::milliseconds after) {
  timeval tv{static_cast<time_t>(after.count() / 1000),
             static_cast<suseconds_t>((after.count() % 1000) * 1000)};
  event_add(timer_.get(), &tv);
}

void Provider::onTimerThunk(int, short, void* arg) {
  static_cast<Provider*>(arg)->startDiscovery();
}

void Provider::startDiscovery() {
  if (discovery_) return;
  auto now = std::chrono::steady_clock::now();
  // Requests that find the provider unknown do not set the pace of retries.
  if (tried_ != std::chrono::steady_clock::time_point{} && now - tried_ < kDiscoveryRetry) return;
  tried_ = now;
  discovery_ = discover(client_, config_, [this](KnowledgePtr knowledge, const std::string& error) {
    onDiscovered(std::move(knowledge), error);
  });
}

void Provider::onDiscovered(KnowledgePtr knowledge, const std::string& error) {
  // Not freed inside its own callback: kept until the next discovery ends.
  spent_ = std::move(discovery_);
  if (!knowledge) {
    LOG_WARN_LIMITED("%s; %s", error.c_str(),
                     knowledge_ ? "keeping the metadata and keys read before"
                                : "sign-in through it answers 503 until it is reached");
    arm(knowledge_ ? config_.discovery_interval
                   : std::chrono::duration_cast<std::chrono::milliseconds>(kDiscoveryRetry));
    return notify(false);
  }
  if (!knowledge_) LOG_INFO("oidc provider \"%s\" reached", config_.name.c_str());
  knowledge_ = std::move(knowledge);
  last_keys_ = std::chrono::steady_clock::now();
  arm(config_.discovery_interval);
  notify(true);
}

void Provider::discoverSoon(const Waiter& waiter) {
  if (waiter) waiters_.push_back(waiter);
  startDiscovery();
}

bool Provider::refetchKeys(const Waiter& waiter) {
  if (!knowledge_) return false;
  if (keys_fetch_) {
    waiters_.push_back(waiter);
    return true;
  }
  auto now = std::chrono::steady_clock::now();
  if (now - last_keys_ < kKeyRefetchInterval) return false;
  last_keys_ = now;
  waiters_.push_back(waiter);
  outbound::Request request;
  request.url = knowledge_->metadata.jwks_uri;
  keys_fetch_ =
      client_.fetch(std::move(request), [this](outbound::Result result) { onKeys(result); });
  return true;
}

void Provider::onKeys(outbound::Result result) {
  outbound::FetchHandle spent = std::move(keys_fetch_);
  std::string error;
  std::optional<jose::KeySet> keys;
  if (!result.ok) {
    error = result.error;
  } else if (result.status != 200) {
    error = "HTTP status " + std::to_string(result.status);
  } else {
    keys = jose::parseJwks(result.body, &error);
    if (keys && keys->keys.empty()) {
      keys.reset();
      error = "no usable signing key";
    }
  }
  if (!keys) {
    LOG_WARN_LIMITED("oidc provider \"%s\": jwks_uri: %s; keeping the keys read before",
                     config_.name.c_str(), error.c_str());
    return notify(false);
  }
  auto next = std::make_shared<Knowledge>();
  next->metadata = knowledge_->metadata;
  next->keys = std::move(*keys);
  knowledge_ = std::move(next);
  LOG_INFO("oidc provider \"%s\": signing keys read again (%zu usable)", config_.name.c_str(),
           knowledge_->keys.keys.size());
  notify(true);
}

void Provider::notify(bool changed) {
  std::vector<std::weak_ptr<std::function<void(bool)>>> waiting = std::move(waiters_);
  waiters_.clear();
  for (const auto& weak : waiting) {
    if (Waiter waiter = weak.lock()) (*waiter)(changed);
  }
}

}  // namespace sesame::oidc
