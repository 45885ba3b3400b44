#include "sesame/admin/readiness.h"

#include <event2/event.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "sesame/net/stream.h"
#include "sesame/session/redis_probe.h"

namespace sesame::admin {

// One set of probes against one configuration snapshot. Every probe
// reports through attemptDone(); the last one activates the prober's
// `finished` event, so the round is read and freed outside any probe's
// own callback.
class ReadinessProber::Round {
 public:
  Round(event_base* loop, Clock& clock, std::shared_ptr<const config::Config> config,
        std::chrono::milliseconds timeout, event* finished)
      : config_(std::move(config)),
        ready_(config_->admin ? config_->admin->ready : config::ReadyRequires{}),
        timeout_(timeout),
        finished_(finished) {
    const size_t upstreams = ready_.upstreams ? config_->upstreams.size() : 0;
    for (size_t u = 0; u < upstreams; ++u) {
      for (const config::UpstreamServer& server : config_->upstreams[u].servers) {
        auto attempt = std::make_unique<Attempt>();
        attempt->round = this;
        attempt->upstream = u;
        attempt->address = server.address;
        std::string error;
        attempt->stream = net::Stream::connect(loop, clock, server.addr, &error);
        if (!attempt->stream) {
          attempt->error = error;
        } else {
          attempt->stream->setHandler(attempt.get());
          attempt->stream->setTimeouts(std::chrono::milliseconds(0), timeout);
          ++pending_;
        }
        attempts_.push_back(std::move(attempt));
      }
    }
    const std::optional<session::Settings>& sessions = config_->session;
    if (ready_.store && sessions && sessions->store == session::StoreKind::kRedis) {
      ++pending_;
      redis_ = std::make_unique<session::RedisProbe>(loop, clock, sessions->redis,
                                                     [this](const std::string& error) {
                                                       redis_error_ = error;
                                                       attemptDone();
                                                     });
    }
    // Nothing to wait for: still answer from the loop, like every round.
    if (pending_ == 0) event_active(finished_, 0, 0);
  }

  [[nodiscard]] const std::shared_ptr<const config::Config>& config() const { return config_; }

  [[nodiscard]] Readiness result() const {
    Readiness out;
    const size_t upstreams = ready_.upstreams ? config_->upstreams.size() : 0;
    for (size_t u = 0; u < upstreams; ++u) {
      std::string failures;
      bool reachable = false;
      for (const auto& a : attempts_) {
        if (a->upstream != u) continue;
        reachable = reachable || a->ok;
        failures += (failures.empty() ? "" : "; ") + a->address + ": " + a->error;
      }
      if (!reachable) {
        out.reasons.push_back("upstream " + config_->upstreams[u].name + ": no server reachable (" +
                              failures + ")");
      }
    }
    if (redis_ && !redis_error_.empty()) {
      out.reasons.push_back("session store: redis " + config_->session->redis.address + ": " +
                            redis_error_);
    }
    out.ready = out.reasons.empty();
    return out;
  }

 private:
  struct Attempt final : net::StreamHandler {
    void onStreamRead(net::Stream&) override {}
    void onStreamWrite(net::Stream&) override {}
    void onStreamEvent(net::Stream& s, net::StreamEvent event) override {
      switch (event) {
        case net::StreamEvent::kConnected:
          ok = true;
          break;
        case net::StreamEvent::kError:
          error = std::strerror(errno != 0 ? errno : EIO);
          break;
        default:
          error = "no connection within " + std::to_string(round->timeout_.count()) + " ms";
          break;
      }
      // Closed with the round; no callback reaches this attempt again.
      s.disable();
      round->attemptDone();
    }

    Round* round = nullptr;
    size_t upstream = 0;
    std::string address;
    std::unique_ptr<net::Stream> stream;
    bool ok = false;
    std::string error;
  };

  void attemptDone() {
    if (--pending_ == 0) event_active(finished_, 0, 0);
  }

  std::shared_ptr<const config::Config> config_;
  config::ReadyRequires ready_;
  std::chrono::milliseconds timeout_;
  event* finished_;
  std::vector<std::unique_ptr<Attempt>> attempts_;
  std::unique_ptr<session::RedisProbe> redis_;
  std::string redis_error_;
  size_t pending_ = 0;
};

ReadinessProber::ReadinessProber(event_base* loop, Clock& clock,
                                 std::chrono::milliseconds connect_timeout,
                                 std::chrono::milliseconds cache_for)
    : loop_(loop), clock_(clock), connect_timeout_(connect_timeout), cache_for_(cache_for) {
  finished_.reset(event_new(loop, -1, 0, onFinishedThunk, this));
}

ReadinessProber::~ReadinessProber() = default;

void ReadinessProber::check(std::shared_ptr<const config::Config> config, Done done) {
  if (cached_config_ == config && cache_for_.count() > 0 &&
      clock_.now() - cached_at_ < cache_for_) {
    return done(cached_);
  }
  waiting_.push_back(std::move(done));
  // A round for an older snapshot finishes first; its waiters accept its
  // answer, the next check after it probes the new configuration.
  if (round_) return;
  ++rounds_;
  round_ =
      std::make_unique<Round>(loop_, clock_, std::move(config), connect_timeout_, finished_.get());
}

void ReadinessProber::onFinishedThunk(int, short, void* arg) {
  static_cast<ReadinessProber*>(arg)->onFinished();
}

void ReadinessProber::onFinished() {
  std::unique_ptr<Round> round = std::move(round_);
  cached_ = round->result();
  cached_config_ = round->config();
  cached_at_ = clock_.now();
  round.reset();
  std::vector<Done> waiting = std::exchange(waiting_, {});
  for (Done& done : waiting) done(cached_);
}

}  // namespace sesame::admin
