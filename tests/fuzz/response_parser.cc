// libFuzzer target: ResponseParser and BodyDecoder over upstream bytes, with
// one-shot and trickled parsing required to agree, and several responses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/http/response_parser.h"
#include "sesame/session/cache_control.h"
#include "sesame/session/cookie_header.h"

using sesame::fuzz::check;
using sesame::http::BodyKind;
using sesame::http::ResponseHead;
using sesame::http::ResponseParser;

namespace {

constexpr size_t kMaxHead = 2048;
constexpr size_t kMaxFields = 24;

void checkSameHead(const ResponseHead& a, const ResponseHead& b) {
  check(a.version_minor == b.version_minor && a.status == b.status && a.reason == b.reason);
  check(a.body == b.body && a.content_length == b.content_length);
  check(a.keep_alive == b.keep_alive && a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    check(a.headers.fields()[i].name == b.headers.fields()[i].name);
    check(a.headers.fields()[i].value == b.headers.fields()[i].value);
  }
}

void checkHeadInvariants(const ResponseHead& h, std::string_view method) {
  check(h.status >= 100 && h.status <= 599);
  check(h.headers.size() <= kMaxFields);
  const bool no_body = method == "HEAD" || h.status < 200 || h.status == 204 || h.status == 304 ||
                       (method == "CONNECT" && h.status / 100 == 2);
  if (no_body) check(h.body == BodyKind::kNone);
  if (h.body == BodyKind::kUntilClose) check(!h.keep_alive);
  if (h.body == BodyKind::kLength) check(h.content_length > 0);
  if (h.body != BodyKind::kLength) check(h.content_length == 0);
  if (h.body == BodyKind::kChunked) check(h.headers.find("content-length") == nullptr);
}

ResponseParser::Status parseBoth(ResponseParser& whole, std::string_view bytes,
                                 std::string_view method, sesame::fuzz::Rng& rng) {
  const ResponseParser::Status status = whole.parse(bytes, method);
  ResponseParser pieces(kMaxHead, kMaxFields);
  ResponseParser::Status ps = ResponseParser::Status::kNeedMore;
  for (size_t fed = 0; ps == ResponseParser::Status::kNeedMore && fed < bytes.size();) {
    fed = std::min(bytes.size(), fed + 1 + rng.below(32));
    ps = pieces.parse(bytes.substr(0, fed), method);
  }
  if (bytes.empty()) ps = pieces.parse(bytes, method);
  check(ps == status);
  if (status == ResponseParser::Status::kError) {
    check(whole.errorReason() == pieces.errorReason() && !whole.errorReason().empty());
  }
  if (status == ResponseParser::Status::kComplete) {
    check(whole.consumed() == pieces.consumed() && whole.consumed() <= bytes.size());
    checkSameHead(whole.head(), pieces.head());
    checkHeadInvariants(whole.head(), method);
  }
  return status;
}

// What sesame does to every upstream head when sessions are on: no
// Set-Cookie for its cookie survives, and a response carrying its own
// cookie ends up private, no-store with no targeted cache field; both
// steps are idempotent.
void checkSessionFilters(const sesame::http::HeaderList& headers) {
  using sesame::http::equalsIgnoreCase;
  sesame::http::HeaderList h = headers;
  const size_t removed = sesame::session::removeSetCookies(h, "__Host-sesame");
  check(h.size() + removed == headers.size());
  for (const auto& f : h.fields()) {
    check(!equalsIgnoreCase(f.name, "Set-Cookie") ||
          !sesame::session::setsCookie(f.value, "__Host-sesame"));
  }
  check(sesame::session::removeSetCookies(h, "__Host-sesame") == 0);
  sesame::session::forbidCaching(h);
  check(sesame::session::isPrivateNoStore(h));
  for (const auto& f : h.fields()) {
    check(!equalsIgnoreCase(f.name, "CDN-Cache-Control") &&
          !equalsIgnoreCase(f.name, "Surrogate-Control"));
  }
  const size_t fields = h.size();
  sesame::session::forbidCaching(h);
  check(h.size() == fields);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sesame::fuzz::Rng rng(input);
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};
  const std::string_view method = kMethods[rng.below(4)];
  ResponseParser parser(kMaxHead, kMaxFields);
  // Interim 1xx responses and keep-alive reuse put several heads in a row.
  for (int response = 0; response < 4 && !input.empty(); ++response) {
    parser.reset();
    if (parseBoth(parser, input, method, rng) != ResponseParser::Status::kComplete) break;
    const ResponseHead& head = parser.head();
    checkSessionFilters(head.headers);
    input.remove_prefix(parser.consumed());
    const sesame::fuzz::BodyOutcome body =
        sesame::fuzz::checkedBody(head.body, head.content_length, input, rng);
    if (body.end != sesame::fuzz::BodyEnd::kDone) break;
    input.remove_prefix(body.used);
  }
  return 0;
}
