// sesame entry point: command line, configuration check, listeners, workers,
// and the signal loop of the main thread.
#include <event2/event.h>
#include <grp.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sesame/base/log.h"
#include "sesame/config/config.h"
#include "sesame/server/hash_password.h"
#include "sesame/server/notify.h"
#include "sesame/server/server.h"
#include "sesame/server/sessions_cli.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitConfig = 1;
constexpr int kExitUsage = 2;

const char kUsage[] =
    "usage: sesame [-t] -c FILE\n"
    "       sesame -c FILE sessions list USER | revoke HANDLE | revoke-user USER\n"
    "       sesame hash-password\n"
    "       sesame --version | --help\n"
    "\n"
    "  -c FILE     configuration file (TOML); see sesame.toml(5)\n"
    "  -t          check the configuration (and its certificates) and exit:\n"
    "              0 when valid, 1 with every error found\n"
    "  hash-password  read a password from standard input (asked twice, unseen, on a\n"
    "              terminal) and print its yescrypt hash for the [login] users file\n"
    "  --version   print the version and exit\n"
    "  --help      print this help and exit\n"
    "\n"
    "Runs in the foreground and logs to stderr. SIGHUP reloads the configuration,\n"
    "SIGUSR1 reopens the access log, SIGTERM or SIGINT stops it after the requests\n"
    "in flight (server.shutdown_timeout).\n"
    "Started as root with server.user set, it switches to that user once its\n"
    "ports are bound and its keys read. Speaks systemd's notify protocol.\n";

struct Options {
  std::string config_path;
  bool check_only = false;
};

std::optional<Options> parseArgs(int argc, char** argv, int* exit_code) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      *exit_code = kExitOk;
      return std::nullopt;
    }
    if (arg == "--version" || arg == "-v") {
      std::printf("sesame %s\n", sesame::server::kVersion);
      *exit_code = kExitOk;
      return std::nullopt;
    }
    if (arg == "-t") {
      opts.check_only = true;
    } else if (arg == "-c" && i + 1 < argc) {
      opts.config_path = argv[++i];
    } else {
      std::fprintf(stderr, "sesame: unexpected argument \"%s\"\n%s", arg.c_str(), kUsage);
      *exit_code = kExitUsage;
      return std::nullopt;
    }
  }
  if (opts.config_path.empty()) {
    std::fprintf(stderr, "sesame: no configuration file given (use -c FILE)\n%s", kUsage);
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return opts;
}

// Started as root, sesame has bound its ports and read its keys (the only
// things root was needed for); from here a compromised worker must not hold
// root. setgroups before setgid before setuid: each needs the privilege the
// next one gives up. glibc applies each call to every thread of the process.
bool dropPrivileges(const sesame::config::ServerConfig& server) {
  auto fail = [&](const char* step, int err) {
    LOG_ERROR("cannot switch to server.user \"%s\" (uid %u, gid %u): %s%s%s", server.user.c_str(),
              static_cast<unsigned>(server.uid), static_cast<unsigned>(server.gid), step,
              err != 0 ? ": " : "", err != 0 ? std::strerror(err) : "");
    return false;
  };
  if (::setgroups(1, &server.gid) != 0) return fail("setgroups", errno);
  if (::setgid(server.gid) != 0) return fail("setgid", errno);
  if (::setuid(server.uid) != 0) return fail("setuid", errno);
  if (::setuid(0) == 0 || ::seteuid(0) == 0) {
    return fail("root could be regained after the switch", 0);
  }
  if (::getuid() != server.uid || ::geteuid() != server.uid || ::getgid() != server.gid ||
      ::getegid() != server.gid) {
    return fail("the process ids did not change", 0);
  }
  LOG_INFO("switched to user %s (uid %u, gid %u)", server.user.c_str(),
           static_cast<unsigned>(server.uid), static_cast<unsigned>(server.gid));
  return true;
}

// False when sesame must not serve.
bool applyPrivilegePolicy(const sesame::config::ServerConfig& server) {
  if (::geteuid() == 0) {
    if (!server.user.empty()) return dropPrivileges(server);
    LOG_WARN(
        "running as root: set server.user in [server] (sesame switches to it after binding its "
        "ports and reading its keys) or start it under systemd with User= and "
        "AmbientCapabilities=CAP_NET_BIND_SERVICE");
    return true;
  }
  if (!server.user.empty() && ::geteuid() != server.uid) {
    LOG_WARN("server.user \"%s\" ignored: sesame runs as uid %u, not root, so cannot switch users",
             server.user.c_str(), static_cast<unsigned>(::geteuid()));
  }
  return true;
}

void notify(const sesame::server::Notifier& notifier, const std::string& state) {
  std::string error;
  if (!notifier.send(state, &error)) LOG_WARN("%s", error.c_str());
}

// systemd's watchdog gets a ping only when every worker's loop has run its
// heartbeat timer since the previous ping: a wedged worker stops the pings
// and systemd restarts the service after WatchdogSec.
class Watchdog {
 public:
  Watchdog(const sesame::server::Notifier& notifier,
           const std::vector<std::unique_ptr<sesame::server::Worker>>& workers)
      : notifier_(notifier), workers_(workers), seen_(workers.size()), alive_(workers.size()) {
    for (size_t i = 0; i < workers.size(); ++i) seen_[i] = workers[i]->heartbeats();
  }

  [[nodiscard]] bool enabled() const { return notifier_.watchdogInterval().count() > 0; }
  // How often workers beat and this checks them: four checks per ping
  // interval, so a ping is at most a quarter interval late after a slow loop.
  [[nodiscard]] std::chrono::microseconds tick() const {
    return std::max(std::chrono::microseconds(1000), notifier_.watchdogInterval() / 4);
  }

  void check() {
    bool all = true;
    for (size_t i = 0; i < workers_.size(); ++i) {
      uint64_t beats = workers_[i]->heartbeats();
      if (beats != seen_[i]) alive_[i] = true;
      seen_[i] = beats;
      all = all && alive_[i];
    }
    auto now = std::chrono::steady_clock::now();
    if (!all || now - last_ping_ < notifier_.watchdogInterval()) return;
    notify(notifier_, "WATCHDOG=1");
    last_ping_ = now;
    alive_.assign(alive_.size(), false);
  }

 private:
  const sesame::server::Notifier& notifier_;
  const std::vector<std::unique_ptr<sesame::server::Worker>>& workers_;
  std::vector<uint64_t> seen_;
  std::vector<bool> alive_;
  std::chrono::steady_clock::time_point last_ping_{};
};

// The main thread's life after start: signals, and watchdog checks between
// them. Returns on SIGTERM or SIGINT.
void serveSignals(const sigset_t& signals, Watchdog& watchdog, sesame::server::Server& server) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_check = Clock::now();
  for (;;) {
    int sig = -1;
    if (watchdog.enabled()) {
      auto wait = std::max(Clock::duration::zero(), next_check - Clock::now());
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                       static_cast<long>(ns % 1'000'000'000)};
      sig = ::sigtimedwait(&signals, nullptr, &timeout);
      if (Clock::now() >= next_check) {
        watchdog.check();
        next_check = Clock::now() + watchdog.tick();
      }
    } else if (::sigwait(&signals, &sig) != 0) {
      sig = -1;
    }
    switch (sig) {
      case SIGTERM:
      case SIGINT:
        LOG_INFO("received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        return;
      case SIGHUP:
        server.reload();
        break;
      case SIGUSR1:
        server.reopenLogs();
        break;
      default:
        break;
    }
  }
}

int run(const Options& opts) {
  using namespace sesame;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  // Blocked before any socket listens (a SIGHUP sent the moment the port
  // answers must not kill the process) and before any thread starts, so
  // that only this thread takes them, from sigwait.
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  log::detectJournal();
  server::Checked checked = server::checkConfiguration(opts.config_path);
  if (checked.config) log::setMinLevel(checked.config->log.level);
  for (const std::string& w : checked.warnings) LOG_WARN("%s", w.c_str());
  if (!checked.errors.empty()) {
    // Kept as the operator typed them for -t; at error priority in the journal.
    const char* priority = log::toJournal() ? "<3>" : "";
    for (const std::string& e : checked.errors) std::fprintf(stderr, "%s%s\n", priority, e.c_str());
    std::fprintf(stderr, "%ssesame: %zu error%s in %s\n", priority, checked.errors.size(),
                 checked.errors.size() == 1 ? "" : "s", opts.config_path.c_str());
    return kExitConfig;
  }
  if (opts.check_only) {
    std::printf("sesame: configuration %s is valid\n", opts.config_path.c_str());
    return kExitOk;
  }
  std::shared_ptr<const config::Config> cfg = checked.config;

  std::string notify_error;
  server::Notifier notifier = server::Notifier::fromEnvironment(&notify_error);
  if (!notify_error.empty()) LOG_WARN("%s", notify_error.c_str());
  server::Server server(opts.config_path, notifier);
  if (!server.prepare(std::move(checked))) return kExitConfig;
  if (!applyPrivilegePolicy(cfg->server)) return kExitConfig;

  Watchdog watchdog(notifier, server.workers());
  server.start(watchdog.enabled() ? watchdog.tick() / 2 : std::chrono::microseconds(0));
  LOG_INFO("sesame %s running as pid %d", server::kVersion, static_cast<int>(::getpid()));
  serveSignals(signals, watchdog, server);
  server.stop();
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // Writes to a peer that has gone must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Read buffers (16-64 KiB, as evbuffer chains of up to 128 KiB) are
  // allocated and freed per read. With glibc's defaults a 128 KiB chain is
  // mmap'ed and munmap'ed each time (page faults on every bulk read: a
  // 1 GiB download ran at a twentieth of the socket speed), and each free
  // at the top of an arena gave memory back that the next read asked for
  // again (7% of a core in sysmalloc and madvise for small requests).
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  if (std::optional<int> code = sesame::server::runSessionsCommand(argc, argv)) return *code;
  if (argc >= 2 && std::strcmp(argv[1], "hash-password") == 0) {
    if (argc > 2) {
      std::fprintf(stderr, "sesame: hash-password takes no arguments\n%s", kUsage);
      return kExitUsage;
    }
    return sesame::server::hashPasswordCommand(STDIN_FILENO, stdout, stderr);
  }
  int exit_code = kExitOk;
  std::optional<Options> opts = parseArgs(argc, argv, &exit_code);
  if (!opts) return exit_code;
  return run(*opts);
}
