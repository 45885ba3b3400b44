#include "sesame/proxy/forwarding.h"

#include <algorithm>
#include <vector>

#include "sesame/session/control_headers.h"
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

// Removes `name` in every spelling a backend may fold into it (case, '_', '.'
// for '-'): CGI and WSGI hand "X_Forwarded_For" to the application as
// HTTP_X_FORWARDED_FOR, the same variable as the real field. With
// `keep_exact`, only the folded spellings go (a trusted peer's own field stays).
void removeSpellings(http::HeaderList& fields, std::string_view name, bool keep_exact) {
  std::vector<std::string> names;
  for (const http::Header& h : fields.fields()) {
    if (!session::headerNameMatches(h.name, name)) continue;
    if (keep_exact && http::equalsIgnoreCase(h.name, name)) continue;
    names.push_back(h.name);
  }
  for (const std::string& n : names) fields.remove(n);
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

  std::string forwarded_for;
  for (const http::Header& h : req.headers.fields()) {
    if (fwd.trusted_peer && http::equalsIgnoreCase(h.name, "X-Forwarded-For")) {
      if (!forwarded_for.empty()) forwarded_for.append(", ");
      forwarded_for.append(h.value);
    }
  }
  if (!forwarded_for.empty()) forwarded_for.append(", ");
  forwarded_for.append(fwd.client_ip);

  http::HeaderList fields = req.headers;
  fields.remove("Expect");
  removeSpellings(fields, "X-Forwarded-For", false);
  removeSpellings(fields, "X-Forwarded-Proto", false);
  removeSpellings(fields, "X-Real-IP", false);
  bool keep_host = fwd.trusted_peer && fields.find("X-Forwarded-Host") != nullptr;
  removeSpellings(fields, "X-Forwarded-Host", keep_host);
  removeSpellings(fields, "Forwarded", fwd.trusted_peer);
  if (!fwd.request_id.empty()) fields.remove("X-Request-Id");
  http::appendFields(out, fields);
  appendField(out, "X-Forwarded-For", forwarded_for);
  appendField(out, "X-Forwarded-Proto", fwd.tls ? "https" : "http");
  if (!req.host.empty() && !keep_host) appendField(out, "X-Forwarded-Host", req.host);
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
  http::HeaderList fields = resp.headers;
  session::stripControlHeaders(fields);
  if (!fwd.request_id.empty()) fields.remove("X-Request-Id");
  http::appendFields(out, fields);
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

void appendErrorResponse(std::string& out, int status, bool close, std::string_view extra_fields,
                         bool head) {
  std::string_view reason = http::reasonPhrase(status);
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reason);
  out.append("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
  out.append(std::to_string(reason.size() + 1)).append("\r\n");
  out.append(extra_fields);
  if (close) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (!head) out.append(reason).append("\n");
}

}  // namespace sesame::proxy
