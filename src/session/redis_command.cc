#include "redis_command.h"

#include <charconv>
#include <cstring>

namespace sesame::session::redis {
namespace {

size_t digits(size_t value) {
  size_t n = 1;
  for (; value >= 10; value /= 10) ++n;
  return n;
}

char* header(char* out, char kind, size_t value) {
  *out++ = kind;
  out = std::to_chars(out, out + 20, value).ptr;
  *out++ = '\r';
  *out++ = '\n';
  return out;
}

}  // namespace

size_t commandSize(std::span<const std::string_view> args) {
  size_t size = 3 + digits(args.size());
  for (std::string_view arg : args) size += 5 + digits(arg.size()) + arg.size();
  return size;
}

char* formatCommand(std::span<const std::string_view> args, char* out) {
  out = header(out, '*', args.size());
  for (std::string_view arg : args) {
    out = header(out, '$', arg.size());
    if (!arg.empty()) std::memcpy(out, arg.data(), arg.size());
    out += arg.size();
    *out++ = '\r';
    *out++ = '\n';
  }
  return out;
}

}  // namespace sesame::session::redis
