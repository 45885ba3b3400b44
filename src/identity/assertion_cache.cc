#include "sesame/identity/assertion_cache.h"

#include <algorithm>
#include <iterator>

namespace sesame::identity {
namespace {

// What an entry costs beyond its string contents: the Entry and its list
// node, the index node, and the strings' own headers.
constexpr size_t kEntryOverhead = 320;
constexpr int64_t kMinRemainingSeconds = 5;

size_t entryBytes(std::string_view session, std::string_view audience, const Claims& claims,
                  const std::string& token) {
  size_t n = kEntryOverhead + session.size() + audience.size() + claims.user.size() +
             claims.session.size() + token.size();
  for (const std::string& g : claims.groups) n += sizeof(std::string) + g.size();
  return n;
}

}  // namespace

size_t AssertionCache::KeyHash::operator()(const Key& k) const noexcept {
  const size_t a = std::hash<std::string_view>{}(k.first);
  const size_t b = std::hash<std::string_view>{}(k.second);
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

AssertionCache::AssertionCache(CacheLimits limits) : limits_(limits) {}

bool AssertionCache::fresh(const Entry& e, const Claims& claims) const {
  // A token must outlive the request that carries it, so one close to its
  // exp is replaced rather than sent to an upstream that may reject it on
  // arrival (clock skew, slow request bodies).
  const int64_t margin = std::max<int64_t>(signer_->ttl().count() / 4, kMinRemainingSeconds);
  return e.issued_at <= claims.now && e.expires_at - claims.now >= margin &&
         e.user == claims.user && e.sid == claims.session &&
         std::equal(e.groups.begin(), e.groups.end(), claims.groups.begin(), claims.groups.end());
}

void AssertionCache::fill(Entry& e, const Claims& claims) {
  e.token = signer_->sign(claims);
  e.user.assign(claims.user);
  e.groups.assign(claims.groups.begin(), claims.groups.end());
  e.sid.assign(claims.session);
  e.issued_at = claims.now;
  e.expires_at = claims.now + signer_->ttl().count();
  bytes_ -= e.bytes;
  e.bytes = entryBytes(e.session, e.audience, claims, e.token);
  bytes_ += e.bytes;
}

const std::string& AssertionCache::get(const std::shared_ptr<const Signer>& signer,
                                       std::string_view session, const Claims& claims) {
  if (signer != signer_) {
    clear();
    signer_ = signer;
  }
  Lru::iterator pos;
  if (auto it = index_.find(Key{session, claims.audience}); it != index_.end()) {
    pos = it->second;
    entries_.splice(entries_.begin(), entries_, pos);
    if (fresh(*pos, claims)) return pos->token;
  } else {
    pos = entries_.emplace(entries_.begin());
    pos->session.assign(session);
    pos->audience.assign(claims.audience);
    index_.emplace(Key{pos->session, pos->audience}, pos);
  }
  fill(*pos, claims);
  if (pos->bytes > limits_.max_bytes || limits_.max_entries == 0) {
    uncached_ = std::move(pos->token);
    erase(pos);
    return uncached_;
  }
  evictBeyondLimits();
  return pos->token;
}

void AssertionCache::evictBeyondLimits() {
  // The front entry is the one being returned and fits alone, so it stays.
  while (entries_.size() > 1 &&
         (entries_.size() > limits_.max_entries || bytes_ > limits_.max_bytes)) {
    erase(std::prev(entries_.end()));
  }
}

void AssertionCache::erase(Lru::iterator pos) {
  bytes_ -= pos->bytes;
  index_.erase(Key{pos->session, pos->audience});
  entries_.erase(pos);
}

void AssertionCache::clear() {
  index_.clear();
  entries_.clear();
  bytes_ = 0;
}

}  // namespace sesame::identity
