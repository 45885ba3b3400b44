// Who the client is and which scheme it used, when sesame may sit behind
// load balancers: the peer's word (X-Forwarded-For, X-Forwarded-Proto) is
// taken only from trusted_proxies. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sesame/http/header_list.h"
#include "sesame/net/cidr.h"

namespace sesame::proxy {

struct ClientView {
  std::string address;        // for the access log, X-Real-IP and the upstream
  bool https = false;         // the scheme the client used
  bool trusted_peer = false;  // the peer is a trusted proxy: its forwarding headers stand
};

// From an untrusted peer (or with no trusted_proxies): the peer itself and
// the listener's scheme; whatever the request says is ignored.
//
// From a trusted peer: the address is found as nginx's realip module does
// with real_ip_recursive on: walk X-Forwarded-For (every field, in order)
// from the right and take the first address that is not itself trusted; if
// all are trusted, the left-most. An entry that is not a plain IP literal
// (a port, brackets, "unknown", garbage) stops the walk: the last address
// reached stands, so a client cannot smuggle a name past the proxies that
// appended after it. The scheme is X-Forwarded-Proto when it is exactly one
// field saying "http" or "https" (any case), else the listener's.
[[nodiscard]] ClientView resolveClient(const std::vector<net::Cidr>& trusted,
                                       std::string_view peer_ip, bool listener_tls,
                                       const http::HeaderList& headers);

}  // namespace sesame::proxy
