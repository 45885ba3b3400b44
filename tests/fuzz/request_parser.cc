// libFuzzer target: RequestParser and BodyDecoder over client bytes, with
// one-shot and trickled parsing required to agree, and pipelined requests.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_body.h"
#include "sesame/http/request_parser.h"

using sesame::fuzz::check;
using sesame::http::BodyKind;
using sesame::http::RequestHead;
using sesame::http::RequestLimits;
using sesame::http::RequestParser;

namespace {

constexpr RequestLimits kLimits{2048, 24};

void checkSameHead(const RequestHead& a, const RequestHead& b) {
  check(a.method == b.method && a.target == b.target && a.host == b.host);
  check(a.version_minor == b.version_minor && a.body == b.body);
  check(a.content_length == b.content_length && a.keep_alive == b.keep_alive);
  check(a.expect_continue == b.expect_continue && a.upgrade == b.upgrade);
  check(a.headers.size() == b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    check(a.headers.fields()[i].name == b.headers.fields()[i].name);
    check(a.headers.fields()[i].value == b.headers.fields()[i].value);
  }
}

void checkHeadInvariants(const RequestHead& h, std::string_view bytes, size_t consumed) {
  check(consumed >= 4 && consumed <= bytes.size() && bytes[consumed - 1] == '\n');
  check(!h.method.empty() && !h.target.empty());
  check(h.version_minor == 0 || h.version_minor == 1);
  if (h.version_minor == 1) check(!h.host.empty());
  for (char c : h.host) check(!(c >= 'A' && c <= 'Z') && c != '@' && c != '/' && c != ' ');
  check(h.headers.find("host") == nullptr);
  check(h.headers.size() <= kLimits.header_count);
  check(h.body != BodyKind::kUntilClose);
  if (h.body == BodyKind::kLength) check(h.content_length > 0);
  if (h.body == BodyKind::kChunked) check(h.headers.find("content-length") == nullptr);
  for (const auto& f : h.headers.fields()) {
    check(!f.name.empty());
    for (char c : f.value) check(c != '\r' && c != '\n' && c != '\0');
  }
}

// Parses the head at the front of `bytes` in one call and byte-trickled in
// random pieces; both parsers must reach the same verdict.
RequestParser::Status parseBoth(RequestParser& whole, std::string_view bytes,
                                sesame::fuzz::Rng& rng) {
  const RequestParser::Status status = whole.parse(bytes);
  RequestParser pieces(kLimits);
  RequestParser::Status ps = RequestParser::Status::kNeedMore;
  for (size_t fed = 0; ps == RequestParser::Status::kNeedMore && fed < bytes.size();) {
    fed = std::min(bytes.size(), fed + 1 + rng.below(32));
    ps = pieces.parse(bytes.substr(0, fed));
  }
  if (bytes.empty()) ps = pieces.parse(bytes);
  check(ps == status);
  if (status == RequestParser::Status::kError) {
    check(whole.errorStatus() == pieces.errorStatus());
    check(whole.errorReason() == pieces.errorReason() && !whole.errorReason().empty());
  }
  if (status == RequestParser::Status::kComplete) {
    check(whole.consumed() == pieces.consumed());
    checkSameHead(whole.head(), pieces.head());
    checkHeadInvariants(whole.head(), bytes, whole.consumed());
  }
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  sesame::fuzz::Rng rng(input);
  RequestParser parser(kLimits);
  // A keep-alive connection: heads and bodies back to back.
  for (int request = 0; request < 4 && !input.empty(); ++request) {
    parser.reset();
    if (parseBoth(parser, input, rng) != RequestParser::Status::kComplete) break;
    const RequestHead& head = parser.head();
    input.remove_prefix(parser.consumed());
    const sesame::fuzz::BodyOutcome body =
        sesame::fuzz::checkedBody(head.body, head.content_length, input, rng);
    if (body.end != sesame::fuzz::BodyEnd::kDone) break;
    input.remove_prefix(body.used);
  }
  return 0;
}
