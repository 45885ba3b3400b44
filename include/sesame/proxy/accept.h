// From an accepted socket to a ServerConnection: at once, or on a
// proxy_protocol listener only after a trusted peer's PROXY header has named
// the client (read from the raw socket, before any TLS byte).
#pragma once

#include "sesame/base/c_handle.h"
#include "sesame/config/config.h"
#include "sesame/net/address.h"
#include "sesame/proxy/context.h"

namespace sesame::proxy {

// Takes ownership of `fd` and of `ssl` (null on plain listeners); what it
// creates is owned by `ctx`. On a proxy_protocol listener a peer outside
// server.trusted_proxies is closed at once, and so is a connection whose
// first bytes are not a valid PROXY v1/v2 header or that sends none within
// timeouts.header; such refusals are logged at debug, with one warning a
// minute per worker counting them. The client address the header names (or
// the peer, for LOCAL / UNKNOWN) becomes the connection's peer.
void acceptConnection(Context& ctx, const config::ListenConfig& listen, int fd, SslPtr ssl,
                      const net::Address& peer);

}  // namespace sesame::proxy
