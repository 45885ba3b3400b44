// One worker's cache of signed assertions, so a session's requests reuse one token (issue 12 §2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sesame/identity/signer.h"

namespace sesame::identity {

struct CacheLimits {
  size_t max_entries = 10'000;
  // Tokens grow with the user's groups; this bounds the memory whatever
  // their size (approximate: string contents plus a fixed per-entry cost).
  size_t max_bytes = 16u << 20;
};

// Owned by one worker and used only from its thread: no locks. Keyed by
// (session, audience); `session` is whatever names the session to this
// worker (store key or handle) and is kept in memory only. The audience
// should be the routed host (a configured name), so one session holds at
// most one entry per route, not one per Host header a client invents.
class AssertionCache {
 public:
  explicit AssertionCache(CacheLimits limits = {});

  // The token for `claims` under `session`: the cached one when it was
  // signed by this `signer` for the same audience, user, groups and sid,
  // was issued no later than claims.now (a wall clock stepped back re-signs)
  // and stays valid for at least max(ttl / 4, 5 s) more; otherwise a new
  // one from signer->sign(claims), which replaces the old. A re-login or a
  // change of groups therefore never gets the old token. A different
  // signer (a reload) empties the cache first: its tokens may carry a kid
  // the new JWKS no longer publishes.
  // When full, the least recently used entries go; a token bigger than
  // max_bytes alone is returned but not kept. The reference stays valid
  // until the next call on this cache.
  [[nodiscard]] const std::string& get(const std::shared_ptr<const Signer>& signer,
                                       std::string_view session, const Claims& claims);

  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::string session;
    std::string audience;
    std::string user;
    std::vector<std::string> groups;
    std::string sid;
    std::string token;
    int64_t issued_at = 0;
    int64_t expires_at = 0;
    size_t bytes = 0;
  };
  using Key = std::pair<std::string_view, std::string_view>;  // views into the Entry
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  using Lru = std::list<Entry>;  // front: most recently used

  [[nodiscard]] bool fresh(const Entry& e, const Claims& claims) const;
  void fill(Entry& e, const Claims& claims);
  void evictBeyondLimits();
  void erase(Lru::iterator pos);
  void clear();

  CacheLimits limits_;
  std::shared_ptr<const Signer> signer_;
  Lru entries_;
  std::unordered_map<Key, Lru::iterator, KeyHash> index_;
  size_t bytes_ = 0;
  std::string uncached_;  // the last token too big to keep
};

}  // namespace sesame::identity
