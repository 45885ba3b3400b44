// Deferred destruction: objects that must die inside one of their own C
// callbacks are parked here and destroyed on the next loop iteration.
#pragma once

#include <memory>
#include <vector>

#include "sesame/base/c_handle.h"

namespace sesame::proxy {

class Context;

// Anything the graveyard can hold. The two links let a Context own client
// connections in an intrusive list: no allocation per connection.
class Disposable {
 public:
  virtual ~Disposable() = default;
  // A stop: a client connection between requests closes now; anything else
  // (an exchange in flight, an upstream connection) ignores it.
  virtual void closeIfIdle() {}

 private:
  friend class Context;
  Disposable* live_prev_ = nullptr;
  Disposable* live_next_ = nullptr;
};

class Graveyard {
 public:
  explicit Graveyard(event_base* base);
  ~Graveyard();
  Graveyard(const Graveyard&) = delete;
  Graveyard& operator=(const Graveyard&) = delete;

  // Takes ownership; the object is destroyed once the current callback chain
  // has returned to the loop.
  void bury(std::unique_ptr<Disposable> object);

 private:
  static void onSweep(int fd, short what, void* arg);

  EventPtr sweep_;
  std::vector<std::unique_ptr<Disposable>> dead_;
};

}  // namespace sesame::proxy
