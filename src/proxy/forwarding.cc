#include "sesame/proxy/forwarding.h"

#include <algorithm>
#include <array>
#include <vector>

#include "sesame/session/identity_filter.h"

namespace sesame::proxy {
namespace {

void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The protocol name of an Upgrade list element ("websocket", "h2c" from
// "h2c/1"; RFC 9110 §7.8).
std::string_view protocolName(std::string_view element) {
  return element.substr(0, element.find('/'));
}

bool protocolAllowed(std::string_view element, const std::vector<std::string>& allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& name) {
    return http::equalsIgnoreCase(protocolName(element), name);
  });
}

// Who the client is, how it connected, which host it used: sesame's own
// values in every spelling a gateway folds into these names
// ("X_Forwarded_For"). Forwarded is neither passed nor sent: its host=
// would let a framework serve another host than the one sesame routed on.
constexpr std::array<std::string_view, 5> kForwarding = {
    "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-IP", "Forwarded"};
// Neighbours that frameworks believe from their proxy (Rack's
// X-Forwarded-Ssl and X-Forwarded-Scheme, Spring's X-Forwarded-Port and
// -Prefix, Rails' Client-IP, ...): a trusted peer's pass, nobody else's.
constexpr std::array<std::string_view, 12> kForwardingNeighbours = {
    "X-Forwarded-Port", "X-Forwarded-Prefix", "X-Forwarded-Ssl",    "X-Forwarded-Scheme",
    "X-Url-Scheme",     "Front-End-Https",    "X-Forwarded-Server", "X-Host",
    "Client-IP",        "X-Client-IP",        "True-Client-IP",     "X-Cluster-Client-IP"};

// What session::stripControlHeaders removes; filtered while serialising
// rather than from a copy of the fields.
constexpr std::string_view kControlPrefix = "X-Sesame-";

bool matchesAny(std::string_view name, const auto& names) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return session::headerNameMatches(name, n); });
}

}  // namespace

void cleanRequestFields(http::RequestHead& req, const std::vector<std::string>& upgrades) {
  if (req.upgrade) {
    // Only listed protocols are tunnelled: an h2c or unknown upgrade would
    // carry requests past the session gate and the header filters. The
    // request goes on as plain HTTP/1.1 when none is left.
    std::string kept;
    for (const http::Header& h : req.headers.fields()) {
      if (!http::equalsIgnoreCase(h.name, "Upgrade")) continue;
      http::forEachListElement(h.value, [&](std::string_view element) {
        if (!protocolAllowed(element, upgrades)) return;
        if (!kept.empty()) kept.append(", ");
        kept.append(element);
      });
    }
    req.headers.remove("Upgrade");
    if (kept.empty()) {
      req.upgrade = false;
    } else {
      req.headers.add("Upgrade", kept);
    }
  }
  req.headers.removeHopByHop(req.upgrade);
  // Frameworks (IIS URL Rewrite, Symfony, Zend) route on these instead of
  // the request line: a client would choose a path sesame never routed.
  req.headers.remove("X-Original-URL");
  req.headers.remove("X-Rewrite-URL");
}

bool upgradeAccepted(const http::RequestHead& req, const http::ResponseHead& resp) {
  // RFC 9110 §7.8: a server must switch only to a protocol the request listed.
  const http::Header* chosen = resp.headers.find("Upgrade");
  if (!req.upgrade || chosen == nullptr) return false;
  const http::Header* offered = req.headers.find("Upgrade");
  if (offered == nullptr) return false;
  bool listed = false;
  http::forEachListElement(offered->value, [&](std::string_view element) {
    listed = listed || http::equalsIgnoreCase(protocolName(element), protocolName(chosen->value));
  });
  return listed;
}

void appendUpstreamRequest(std::string& out, const http::RequestHead& req,
                           const RequestForwarding& fwd) {
  out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
  appendField(out, "Host", req.host.empty() ? fwd.fallback_host : std::string_view(req.host));

  http::appendFieldsIf(out, req.headers, [&](const http::Header& h) {
    if (http::equalsIgnoreCase(h.name, "Expect")) return false;
    if (matchesAny(h.name, kForwarding)) return false;
    if (!fwd.trusted_peer && matchesAny(h.name, kForwardingNeighbours)) return false;
    return fwd.request_id.empty() || !http::equalsIgnoreCase(h.name, "X-Request-Id");
  });
  // Written straight into `out`: a separate chain string was an allocation
  // per request once longer than a short address.
  out.append("X-Forwarded-For: ");
  const size_t chain = out.size();
  if (fwd.trusted_peer) {
    for (const http::Header& h : req.headers.fields()) {
      if (!http::equalsIgnoreCase(h.name, "X-Forwarded-For")) continue;
      if (out.size() != chain) out.append(", ");
      out.append(h.value);
    }
  }
  if (out.size() != chain) out.append(", ");
  out.append(fwd.client_ip).append("\r\n");
  appendField(out, "X-Forwarded-Proto", fwd.tls ? "https" : "http");
  if (!req.host.empty()) appendField(out, "X-Forwarded-Host", req.host);
  appendField(out, "X-Real-IP", fwd.real_ip.empty() ? fwd.client_ip : fwd.real_ip);
  if (!fwd.request_id.empty()) appendField(out, "X-Request-Id", fwd.request_id);
  if (req.upgrade) out.append("Connection: upgrade\r\n");
  if (req.body == http::BodyKind::kChunked) out.append("Transfer-Encoding: chunked\r\n");
  out.append("\r\n");
}

void appendClientResponse(std::string& out, const http::ResponseHead& resp,
                          const ResponseForwarding& fwd) {
  out.append("HTTP/1.1 ").append(std::to_string(resp.status)).append(" ");
  out.append(resp.reason.empty() ? http::reasonPhrase(resp.status) : resp.reason);
  out.append("\r\n");
  http::appendFieldsIf(out, resp.headers, [&](const http::Header& h) {
    if (session::headerNameHasPrefix(h.name, kControlPrefix)) return false;
    return fwd.request_id.empty() || !http::equalsIgnoreCase(h.name, "X-Request-Id");
  });
  out.append(fwd.extra_fields);
  if (!fwd.request_id.empty()) appendField(out, "X-Request-Id", fwd.request_id);
  if (fwd.upgrade) {
    out.append("Connection: upgrade\r\n");
  } else if (fwd.close) {
    out.append("Connection: close\r\n");
  } else if (fwd.http10_keep_alive) {
    out.append("Connection: keep-alive\r\n");
  }
  if (fwd.chunked_out) out.append("Transfer-Encoding: chunked\r\n");
  out.append("\r\n");
}

void appendResponse(std::string& out, int status, bool close, std::string_view extra_fields,
                    std::string_view content_type, std::string_view body, size_t length) {
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(http::reasonPhrase(status)).append("\r\n");
  if (!content_type.empty()) out.append("Content-Type: ").append(content_type).append("\r\n");
  out.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
  out.append(extra_fields);
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  out.append(body);
}

void appendErrorResponse(std::string& out, int status, bool close, std::string_view extra_fields,
                         bool head) {
  std::string body = std::string(http::reasonPhrase(status)) + "\n";
  appendResponse(out, status, close, extra_fields, "text/plain; charset=utf-8",
                 head ? std::string_view() : std::string_view(body), body.size());
}

}  // namespace sesame::proxy
