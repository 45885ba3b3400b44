// The toml++ boundary: parse errors become messages, then each section is read.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "reader.h"

namespace sesame::config {

LoadResult parse(std::string_view text, const std::string& path, const LoadOptions& options) {
  LoadResult result;
  Diagnostics diag(path);
  toml::table doc;
  try {
    doc = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    diag.error(e.source(), "TOML syntax error: " + std::string(e.description()));
    result.errors = diag.take();
    return result;
  }
  auto config = std::make_shared<Config>();
  config->path = path;
  TableReader root(doc, "", diag);
  root.rejectUnknown({"server", "listen", "tls", "upstream", "session", "redis", "identity",
                      "route", "limits", "timeouts", "log", "admin", "login", "oidc"});
  // Order matters: listeners check [tls] certificates, routes check upstream
  // and provider names and whether [session] exists; [oidc] reads [login].
  readServer(root, *config);
  readTls(root, *config);
  readListeners(root, options, *config);
  readUpstreams(root, options, *config);
  readSession(root, options, *config);
  readLogin(root, *config);
  readOidc(root, *config);
  readRoutes(root, *config);
  readLimits(root, *config);
  readTimeouts(root, *config);
  readLog(root, *config);
  readAdmin(root, options, *config);
  if (diag.empty()) {
    result.config = std::move(config);
  } else {
    result.errors = diag.take();
  }
  return result;
}

LoadResult load(const std::string& path, const LoadOptions& options) {
  LoadResult result;
  auto fail = [&](std::string_view why) {
    result.errors.push_back(path + ": cannot read the configuration file: " + std::string(why));
    return result;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("it is not a regular file");
  }
  std::string text;
  char chunk[65536];
  ssize_t n;
  while ((n = ::read(fd, chunk, sizeof chunk)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  int err = errno;
  ::close(fd);
  if (n < 0) return fail(std::strerror(err));
  return parse(text, path, options);
}

}  // namespace sesame::config
