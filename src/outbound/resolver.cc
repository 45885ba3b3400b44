#include "resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "sesame/base/loop_mailbox.h"

namespace sesame::outbound {

LookupResult lookupSystem(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  AddrInfoPtr owned(found);
  LookupResult result;
  if (rc != 0) {
    result.error = "cannot resolve " + host + ": " +
                   (rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc));
    return result;
  }
  for (const addrinfo* ai = owned.get(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    result.addresses.push_back(net::fromSockaddr(ai->ai_addr, ai->ai_addrlen));
  }
  if (result.addresses.empty()) result.error = host + " resolves to no IPv4 or IPv6 address";
  return result;
}

namespace detail {
namespace {

// Enough for every provider a configuration names; past it the cache starts over rather than
// growing on hostile input (a discovery document naming endless hosts).
constexpr size_t kMaxCacheEntries = 256;

}  // namespace

Resolver::Resolver(std::shared_ptr<LoopMailbox> mailbox, Lookup lookup)
    : mailbox_(std::move(mailbox)), lookup_(std::move(lookup)) {}

void Resolver::resolve(const std::string& host, Done done) {
  const auto now = std::chrono::steady_clock::now();
  auto cached = cache_.find(host);
  if (cached != cache_.end()) {
    if (cached->second.expires > now) return done(LookupResult{cached->second.addresses, {}});
    cache_.erase(cached);
  }
  std::vector<Done>& waiters = waiting_[host];
  waiters.push_back(std::move(done));
  if (waiters.size() > 1) return;  // a lookup of this name is under way
  // getaddrinfo blocks for as long as the DNS servers take: never on the loop. A thread per
  // lookup is enough for a handful of provider names, each looked up once a minute at most.
  std::thread([lookup = lookup_, mailbox = mailbox_, self = weak_from_this(), host] {
    LookupResult result = lookup(host);
    mailbox->post([self, host, result = std::move(result)] {
      if (auto resolver = self.lock()) resolver->onLookup(host, result);
    });
  }).detach();
}

void Resolver::onLookup(const std::string& host, const LookupResult& result) {
  if (result.error.empty() && !result.addresses.empty()) {
    if (cache_.size() >= kMaxCacheEntries) cache_.clear();
    cache_[host] = Entry{result.addresses, std::chrono::steady_clock::now() + kLookupCacheTtl};
  }
  auto it = waiting_.find(host);
  if (it == waiting_.end()) return;
  std::vector<Done> waiters = std::move(it->second);
  waiting_.erase(it);
  LookupResult checked = result;
  if (checked.error.empty() && checked.addresses.empty()) {
    checked.error = host + " resolves to no address";
  }
  for (Done& done : waiters) done(checked);
}

}  // namespace detail
}  // namespace sesame::outbound
