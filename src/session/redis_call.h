// Private to session/: the state one RedisStore call keeps while its
// commands are in flight, shared by the files that implement the store.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "sesame/session/redis_store.h"

namespace sesame::session {

// Exactly one of the callbacks is set (or none, once the ticket was
// dropped); the first completion settles the call, later ones are ignored.
struct RedisStore::Call {
  Done done;
  LoadDone load_done;
  ListDone list_done;
  CountDone count_done;
  bool settled = false;
};

// A call spread over several commands: it completes when the last one
// replies, kUnavailable if any of them failed.
struct RedisStore::Batch {
  std::shared_ptr<Call> call;
  size_t left = 0;
  StoreStatus status = StoreStatus::kOk;
  // Sessions the batch's destroy scripts deleted; with
  // missing_unless_destroyed, none means kMissing (destroyHandle).
  size_t destroyed = 0;
  bool missing_unless_destroyed = false;
};

// One of a user's live sessions as listLive() found it: the login details
// and times, no groups, no data.
struct RedisStore::Listed {
  std::string key;
  Session session;
};

}  // namespace sesame::session
