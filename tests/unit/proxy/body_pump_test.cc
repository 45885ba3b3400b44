#include "sesame/proxy/body_pump.h"

#include <event2/buffer.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "sesame/base/c_handle.h"

using namespace sesame;
using proxy::PumpResult;

namespace {

std::string drainAll(evbuffer* buf) {
  std::string s(evbuffer_get_length(buf), '\0');
  evbuffer_remove(buf, s.data(), s.size());
  return s;
}

void add(evbuffer* buf, std::string_view s) {
  evbuffer_add(buf, s.data(), s.size());
}

}  // namespace

TEST_CASE("a length-delimited body moves and stops at its end", "[body_pump]") {
  EvBufferPtr in(evbuffer_new());
  EvBufferPtr out(evbuffer_new());
  http::BodyDecoder dec(http::BodyKind::kLength, 5);
  add(in.get(), "hel");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), false, 1 << 20) == PumpResult::kBlocked);
  add(in.get(), "loGET / HTTP/1.1\r\n");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), false, 1 << 20) == PumpResult::kDone);
  CHECK(drainAll(out.get()) == "hello");
  CHECK(drainAll(in.get()) == "GET / HTTP/1.1\r\n");  // the next request stays
}

TEST_CASE("chunked input is re-chunked with sizes sesame computes", "[body_pump]") {
  EvBufferPtr in(evbuffer_new());
  EvBufferPtr out(evbuffer_new());
  http::BodyDecoder dec(http::BodyKind::kChunked, 0);
  add(in.get(), "5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), true, 1 << 20) == PumpResult::kDone);
  CHECK(drainAll(out.get()) == "5\r\nhello\r\n0\r\n\r\n");
}

TEST_CASE("chunked input can be de-chunked for an HTTP/1.0 peer", "[body_pump]") {
  EvBufferPtr in(evbuffer_new());
  EvBufferPtr out(evbuffer_new());
  http::BodyDecoder dec(http::BodyKind::kChunked, 0);
  add(in.get(), "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), false, 1 << 20) == PumpResult::kDone);
  CHECK(drainAll(out.get()) == "abcde");
}

TEST_CASE("the pump stops at the output limit and resumes", "[body_pump]") {
  EvBufferPtr in(evbuffer_new());
  EvBufferPtr out(evbuffer_new());
  http::BodyDecoder dec(http::BodyKind::kLength, 10);
  add(in.get(), "0123456789");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), false, 4) == PumpResult::kBlocked);
  CHECK(evbuffer_get_length(out.get()) == 4);
  CHECK(drainAll(out.get()) == "0123");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), false, 100) == PumpResult::kDone);
  CHECK(drainAll(out.get()) == "456789");
}

TEST_CASE("chunk data longer than declared is an error", "[body_pump]") {
  EvBufferPtr in(evbuffer_new());
  EvBufferPtr out(evbuffer_new());
  http::BodyDecoder dec(http::BodyKind::kChunked, 0);
  add(in.get(), "3\r\nabcdef\r\n0\r\n\r\n");
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), true, 1 << 20) == PumpResult::kError);
}

TEST_CASE("framing split across buffer segments is reassembled", "[body_pump]") {
  EvBufferPtr in(evbuffer_new());
  EvBufferPtr out(evbuffer_new());
  http::BodyDecoder dec(http::BodyKind::kChunked, 0);
  // Separate evbuffer_add_reference calls keep the pieces in separate segments.
  static const char kParts[][8] = {"1", "0\r", "\n", "0123456", "789abcd", "ef\r\n0\r", "\n\r\n"};
  for (const char* part : kParts) {
    evbuffer_add_reference(in.get(), part, std::strlen(part), nullptr, nullptr);
  }
  CHECK(proxy::pumpBody(dec, in.get(), out.get(), false, 1 << 20) == PumpResult::kDone);
  CHECK(drainAll(out.get()) == "0123456789abcdef");
}
