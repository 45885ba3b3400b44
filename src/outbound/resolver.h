// Name lookups off the loop thread, with a short cache: one thread per name being looked up,
// results posted back through the loop's mailbox. Private to src/outbound.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sesame/outbound/client.h"

namespace sesame::outbound::detail {

// Held by std::shared_ptr: a lookup thread's posted result holds a weak reference, so a result
// arriving after the resolver is gone is dropped.
class Resolver : public std::enable_shared_from_this<Resolver> {
 public:
  using Done = std::function<void(const LookupResult&)>;

  Resolver(std::shared_ptr<LoopMailbox> mailbox, Lookup lookup);

  // Calls `done` with the cached addresses right away, or later from the loop once a lookup
  // finishes. Lookups of one name share one thread. Failures are not cached.
  void resolve(const std::string& host, Done done);

 private:
  struct Entry {
    std::vector<net::Address> addresses;
    std::chrono::steady_clock::time_point expires;
  };

  void onLookup(const std::string& host, const LookupResult& result);

  std::shared_ptr<LoopMailbox> mailbox_;
  Lookup lookup_;
  std::map<std::string, Entry> cache_;
  std::map<std::string, std::vector<Done>> waiting_;
};

}  // namespace sesame::outbound::detail
