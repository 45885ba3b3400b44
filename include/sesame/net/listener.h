// Listening sockets: one per worker per address, SO_REUSEPORT so the kernel
// spreads new connections across workers without a shared accept lock.
#pragma once

#include <string>

#include "sesame/net/address.h"

namespace sesame::net {

// A bound, listening, non-blocking, close-on-exec socket, or -1 with `error`
// naming the address and the system's reason.
[[nodiscard]] int bindListener(const Address& addr, int backlog, std::string* error);

}  // namespace sesame::net
