#include "sesame/proxy/request_id.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sesame::proxy {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void appendHex(char* out, uint64_t value) {
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[value & 0xf];
    value >>= 4;
  }
}

// Only uniqueness matters, so when getrandom is unavailable (seccomp, very
// old kernels) the time, the process and the object's address still make
// prefixes differ between workers and starts.
uint64_t randomPrefix(const void* salt) {
  uint64_t value = 0;
  if (::getrandom(&value, sizeof value, GRND_NONBLOCK) == sizeof value) return value;
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  value = static_cast<uint64_t>(now) ^ (static_cast<uint64_t>(::getpid()) << 32) ^
          reinterpret_cast<uintptr_t>(salt);
  // splitmix64's finaliser spreads the low-entropy bits over the whole word.
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

bool idChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

}  // namespace

void RequestId::assign(std::string_view value) {
  size_ = std::min(value.size(), kMaxLength);
  std::memcpy(data_.data(), value.data(), size_);
}

bool validRequestId(std::string_view value) {
  return !value.empty() && value.size() <= RequestId::kMaxLength &&
         std::all_of(value.begin(), value.end(), idChar);
}

RequestIdSource::RequestIdSource() {
  appendHex(prefix_.data(), randomPrefix(this));
}

void RequestIdSource::next(RequestId& out) {
  char id[kLength];
  std::memcpy(id, prefix_.data(), prefix_.size());
  appendHex(id + prefix_.size(), ++counter_);
  out.assign({id, kLength});
}

void chooseRequestId(const http::HeaderList& headers, RequestIdSource& source, RequestId& out) {
  const http::Header* found = nullptr;
  for (const http::Header& h : headers.fields()) {
    if (!http::equalsIgnoreCase(h.name, "X-Request-Id")) continue;
    if (found != nullptr) return source.next(out);
    found = &h;
  }
  if (found != nullptr && validRequestId(found->value)) return out.assign(found->value);
  source.next(out);
}

}  // namespace sesame::proxy
