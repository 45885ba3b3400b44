#include "sesame/proxy/graveyard.h"

#include <event2/event.h>

namespace sesame::proxy {

Graveyard::Graveyard(event_base* base) : sweep_(event_new(base, -1, 0, onSweep, this)) {}

Graveyard::~Graveyard() = default;

void Graveyard::bury(std::unique_ptr<Disposable> object) {
  if (dead_.empty()) event_active(sweep_.get(), EV_TIMEOUT, 0);
  dead_.push_back(std::move(object));
}

void Graveyard::onSweep(int /*fd*/, short /*what*/, void* arg) {
  auto* self = static_cast<Graveyard*>(arg);
  // Destructors may bury more objects; those wait for the next sweep.
  std::vector<std::unique_ptr<Disposable>> dead;
  dead.swap(self->dead_);
}

}  // namespace sesame::proxy
