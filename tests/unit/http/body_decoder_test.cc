// BodyDecoder: Content-Length, until-close and strict chunked framing.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "sesame/http/body_decoder.h"

using sesame::http::BodyDecoder;
using sesame::http::BodyKind;
using Step = BodyDecoder::Step;

namespace {

struct Decoded {
  std::string payload;
  Step last = Step::kNeedMore;
  size_t leftover = 0;  // bytes after the body, still unread
};

// Plays the connection: appends `wire` to a buffer in pieces of the given
// sizes (the rest in one go), drops framing, moves payload.
Decoded decode(BodyDecoder& d, std::string_view wire, const std::vector<size_t>& pieces = {}) {
  Decoded out;
  std::string buf;
  size_t fed = 0;
  size_t piece = 0;
  for (;;) {
    const size_t n = piece < pieces.size() ? pieces[piece++] : wire.size() - fed;
    buf.append(wire.substr(fed, n));
    fed += std::min(n, wire.size() - fed);
    for (;;) {
      const BodyDecoder::Result r = d.next(buf);
      out.last = r.step;
      if (r.step == Step::kError) return out;
      REQUIRE(r.framing <= buf.size());
      buf.erase(0, r.framing);
      if (r.step == Step::kDone) {
        out.leftover = buf.size() + wire.size() - fed;
        return out;
      }
      if (r.step == Step::kNeedMore) {
        if (r.framing > 0) continue;
        break;
      }
      const size_t m = static_cast<size_t>(std::min<uint64_t>(r.data, buf.size()));
      if (m == 0) break;
      out.payload.append(buf, 0, m);
      buf.erase(0, m);
      d.consumed(m);
    }
    if (fed == wire.size() && piece >= pieces.size()) return out;
  }
}

Decoded decodeChunked(std::string_view wire, const std::vector<size_t>& pieces = {}) {
  BodyDecoder d(BodyKind::kChunked, 0);
  return decode(d, wire, pieces);
}

Step chunkedStep(std::string_view wire) {
  return decodeChunked(wire).last;
}

const std::string kComplex =
    "5;ext=1;flag;q=\"a \\\" b\"\r\nhello\r\n"
    "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "000000000000000f\r\n0123456789ABCDE\r\n"
    "0;last\r\nX-Checksum: abc\r\nX-Other:\t1 \r\n\r\n"
    "NEXT";
const std::string kComplexPayload = "helloabcdefghijklmnopqrstuvwxyz0123456789ABCDE";

}  // namespace

TEST_CASE("kNone bodies are done at once", "[http][body]") {
  BodyDecoder d(BodyKind::kNone, 0);
  REQUIRE(d.done());
  REQUIRE(d.next("GET / HTTP/1.1").step == Step::kDone);
  BodyDecoder def;
  REQUIRE(def.next("").step == Step::kDone);
}

TEST_CASE("kLength reports the remaining length until it is consumed", "[http][body]") {
  BodyDecoder d(BodyKind::kLength, 10);
  auto r = d.next("abcd");
  REQUIRE(r.step == Step::kData);
  REQUIRE(r.framing == 0);
  REQUIRE(r.data == 10);
  d.consumed(4);
  REQUIRE(d.next("").data == 6);
  REQUIRE_FALSE(d.done());
  d.consumed(6);
  REQUIRE(d.done());
  REQUIRE(d.next("NEXT").step == Step::kDone);
  REQUIRE(d.payloadBytes() == 10);
}

TEST_CASE("kLength of zero is done at once", "[http][body]") {
  BodyDecoder d(BodyKind::kLength, 0);
  REQUIRE(d.next("x").step == Step::kDone);
}

TEST_CASE("kUntilClose reports unbounded data and never finishes", "[http][body]") {
  BodyDecoder d(BodyKind::kUntilClose, 0);
  for (int i = 0; i < 3; ++i) {
    auto r = d.next("data");
    REQUIRE(r.step == Step::kData);
    REQUIRE(r.data == BodyDecoder::kUnbounded);
    d.consumed(4);
  }
  REQUIRE_FALSE(d.done());
  REQUIRE(d.payloadBytes() == 12);
}

TEST_CASE("a chunk reports its framing and size", "[http][body][chunked]") {
  BodyDecoder d(BodyKind::kChunked, 0);
  auto r = d.next("5\r\nhel");
  REQUIRE(r.step == Step::kData);
  REQUIRE(r.framing == 3);
  REQUIRE(r.data == 5);
  d.consumed(3);
  r = d.next("lo\r\n0\r\n\r\n");
  REQUIRE(r.step == Step::kData);
  REQUIRE(r.framing == 0);
  REQUIRE(r.data == 2);
  d.consumed(2);
  r = d.next("\r\n0\r\n\r\nNEXT");
  REQUIRE(r.step == Step::kDone);
  REQUIRE(r.framing == 7);
  REQUIRE(d.done());
  REQUIRE(d.payloadBytes() == 5);
}

TEST_CASE("an incomplete size line waits without framing", "[http][body][chunked]") {
  BodyDecoder d(BodyKind::kChunked, 0);
  auto r = d.next("1a;x=");
  REQUIRE(r.step == Step::kNeedMore);
  REQUIRE(r.framing == 0);
}

TEST_CASE("framing before an incomplete line is reported with kNeedMore", "[http][body][chunked]") {
  BodyDecoder d(BodyKind::kChunked, 0);
  REQUIRE(d.next("1\r\na").step == Step::kData);
  d.consumed(1);
  auto r = d.next("\r\n1f");
  REQUIRE(r.step == Step::kNeedMore);
  REQUIRE(r.framing == 2);
  r = d.next("1f\r\n");
  REQUIRE(r.step == Step::kData);
  REQUIRE(r.framing == 4);
  REQUIRE(r.data == 31);
}

TEST_CASE("a chunked body decodes whole", "[http][body][chunked]") {
  auto out = decodeChunked(kComplex);
  REQUIRE(out.last == Step::kDone);
  REQUIRE(out.payload == kComplexPayload);
  REQUIRE(out.leftover == 4);
}

TEST_CASE("a chunked body decodes one byte at a time", "[http][body][chunked]") {
  auto out = decodeChunked(kComplex, std::vector<size_t>(kComplex.size(), 1));
  REQUIRE(out.last == Step::kDone);
  REQUIRE(out.payload == kComplexPayload);
  REQUIRE(out.leftover == 4);
}

TEST_CASE("a chunked body decodes split at every byte boundary", "[http][body][chunked]") {
  for (size_t split = 0; split <= kComplex.size(); ++split) {
    INFO(split);
    auto out = decodeChunked(kComplex, {split});
    REQUIRE(out.last == Step::kDone);
    REQUIRE(out.payload == kComplexPayload);
    REQUIRE(out.leftover == 4);
  }
}

TEST_CASE("a chunked body decodes in random pieces", "[http][body][chunked]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> pieces;
    for (size_t total = 0; total < kComplex.size();) {
      pieces.push_back(std::uniform_int_distribution<size_t>(0, 9)(rng));
      total += pieces.back();
    }
    auto out = decodeChunked(kComplex, pieces);
    REQUIRE(out.last == Step::kDone);
    REQUIRE(out.payload == kComplexPayload);
  }
}

TEST_CASE("chunk-size is bare HEXDIG", "[http][body][chunked]") {
  REQUIRE(chunkedStep("0x5\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("+5\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("-5\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep(" 5\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5 \r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("g\r\n") == Step::kError);
  REQUIRE(chunkedStep("5\r\nhello\r\n0\r\n\r\n") == Step::kDone);
}

TEST_CASE("chunk-size over 16 hex digits is refused", "[http][body][chunked]") {
  REQUIRE(chunkedStep("00000000000000005\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("10000000000000000\r\n") == Step::kError);
  BodyDecoder d(BodyKind::kChunked, 0);
  auto r = d.next("ffffffffffffffff\r\n");
  REQUIRE(r.step == Step::kData);
  REQUIRE(r.data == UINT64_MAX);
}

TEST_CASE("chunk extensions are strict: no whitespace anywhere", "[http][body][chunked]") {
  REQUIRE(chunkedStep("5;a=b;c;d=\"x;y \\\"z\"\r\nhello\r\n0\r\n\r\n") == Step::kDone);
  REQUIRE(chunkedStep("5 ;a\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5; a\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;a =b\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;a= b\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;a=\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;a=\"open\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;a=\"x\\\x01\"\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5;a=b\x01\r\nhello\r\n0\r\n\r\n") == Step::kError);
}

TEST_CASE("a size line ending in bare LF or holding bare CR is refused", "[http][body][chunked]") {
  REQUIRE(chunkedStep("5\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5\r\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5\rx\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5\r\nhello\r\n0\n\r\n") == Step::kError);
}

TEST_CASE("chunk data must be followed by exactly CRLF", "[http][body][chunked]") {
  // Data longer than declared: the byte after it is not CR.
  REQUIRE(chunkedStep("3\r\nhello\r\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5\r\nhello\n0\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("5\r\nhello\rx0\r\n\r\n") == Step::kError);
  // Reported as soon as the wrong byte is there.
  BodyDecoder d(BodyKind::kChunked, 0);
  REQUIRE(d.next("3\r\n").step == Step::kData);
  d.consumed(3);
  REQUIRE(d.next("l").step == Step::kError);
}

TEST_CASE("trailer fields are validated and discarded", "[http][body][chunked]") {
  auto out = decodeChunked("1\r\na\r\n0\r\nA: 1\r\nB:\r\n\r\n");
  REQUIRE(out.last == Step::kDone);
  REQUIRE(out.payload == "a");
  REQUIRE(chunkedStep("0\r\nNoColon\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("0\r\nA: 1\r\n folded\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("0\r\nA : 1\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("0\r\nA: \x01\r\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("0\r\nA: 1\n\r\n") == Step::kError);
  REQUIRE(chunkedStep("0\r\n\n") == Step::kError);
}

TEST_CASE("a trailer section over kMaxTrailerBytes is refused", "[http][body][chunked]") {
  std::string wire = "0\r\n";
  const std::string field = "X-Pad: " + std::string(1000, 'p') + "\r\n";
  while (wire.size() < BodyDecoder::kMaxTrailerBytes + 3) wire += field;
  REQUIRE(chunkedStep(wire + "\r\n") == Step::kError);
}

TEST_CASE("a framing line over kMaxLineBytes is refused", "[http][body][chunked]") {
  const std::string ext = "5;a=" + std::string(BodyDecoder::kMaxLineBytes, 'x');
  BodyDecoder d(BodyKind::kChunked, 0);
  REQUIRE(d.next(ext).step == Step::kError);
  REQUIRE(chunkedStep(ext + "\r\nhello\r\n0\r\n\r\n") == Step::kError);
  const std::string fits = "5;a=" + std::string(BodyDecoder::kMaxLineBytes - 6, 'x') + "\r\n";
  REQUIRE(fits.size() == BodyDecoder::kMaxLineBytes);
  REQUIRE(chunkedStep(fits + "hello\r\n0\r\n\r\n") == Step::kDone);
  REQUIRE(chunkedStep("0\r\nX: " + std::string(BodyDecoder::kMaxLineBytes, 'v') + "\r\n\r\n") ==
          Step::kError);
}

TEST_CASE("after an error the decoder stays failed", "[http][body][chunked]") {
  BodyDecoder d(BodyKind::kChunked, 0);
  REQUIRE(d.next("z\r\n").step == Step::kError);
  REQUIRE(d.next("5\r\nhello\r\n").step == Step::kError);
  REQUIRE_FALSE(d.done());
}

// Regression: pumpBody passes an empty view (null data()) when the buffer is
// empty; memchr on it was undefined behaviour caught by UBSan in the e2e run.
TEST_CASE("BodyDecoder: an empty view with null data waits for more", "[body_decoder]") {
  sesame::http::BodyDecoder decoder(sesame::http::BodyKind::kChunked, 0);
  auto r = decoder.next(std::string_view{});
  CHECK(r.step == sesame::http::BodyDecoder::Step::kNeedMore);
  CHECK(r.framing == 0);
}
