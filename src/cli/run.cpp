// tide run -c FILE [--log-format json]: the daemon. Loads the config, opens the state store,
// builds the engine, serves the HTTP API, and runs until SIGTERM/SIGINT. SIGHUP reloads the
// config (a bad one is logged and the running one kept).
//
// Signals are handled with a self-pipe: the handler only writes the signal number to a pipe; the
// main thread reads it and does the work. (A signalfd would need the signals blocked in every
// thread, and a blocked mask is inherited by the processes tide starts - local-process workers
// would then ignore the SIGTERM that scales them in.) SIGPIPE gets a no-op handler rather than
// SIG_IGN for the same reason: handlers reset to the default on exec, SIG_IGN does not.
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include <fmt/format.h>

#include "api/server.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "engine/engine.hpp"
#include "engine/log.hpp"
#include "state/state.hpp"

namespace tide::cli {
namespace {

int g_signal_write_fd = -1;

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(sig);
  if (g_signal_write_fd >= 0) {
    ssize_t ignored = ::write(g_signal_write_fd, &byte, 1);
    (void)ignored;
  }
  errno = saved;
}

extern "C" void on_sigpipe(int) {}

// Installs the handlers for the lifetime of the object and restores the defaults after.
class SignalPipe {
 public:
  SignalPipe() = default;
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  Result<void> install() {
    if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
      return fail(ErrorCode::kInternal, fmt::format("pipe2: {}", std::strerror(errno)));
    }
    g_signal_write_fd = fds_[1];
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int sig : {SIGHUP, SIGTERM, SIGINT}) {
      if (::sigaction(sig, &sa, nullptr) != 0) {
        return fail(ErrorCode::kInternal, fmt::format("sigaction: {}", std::strerror(errno)));
      }
    }
    struct sigaction pipe_sa {};
    pipe_sa.sa_handler = on_sigpipe;
    sigemptyset(&pipe_sa.sa_mask);
    pipe_sa.sa_flags = SA_RESTART;
    ::sigaction(SIGPIPE, &pipe_sa, nullptr);
    installed_ = true;
    return {};
  }

  // Waits up to `timeout_ms` (-1: forever) for signals; returns those received, in order.
  std::vector<int> wait(int timeout_ms) {
    std::vector<int> out;
    pollfd p{fds_[0], POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n <= 0) return out;
    unsigned char buf[64];
    for (;;) {
      const ssize_t got = ::read(fds_[0], buf, sizeof buf);
      if (got <= 0) break;
      for (ssize_t i = 0; i < got; ++i) out.push_back(buf[i]);
    }
    return out;
  }

  ~SignalPipe() {
    if (installed_) {
      struct sigaction sa {};
      sa.sa_handler = SIG_DFL;
      sigemptyset(&sa.sa_mask);
      for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGPIPE}) ::sigaction(sig, &sa, nullptr);
    }
    g_signal_write_fd = -1;
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

 private:
  int fds_[2] = {-1, -1};
  bool installed_ = false;
};

std::string diagnostics_text(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += format_diagnostic(d);
  }
  return out;
}

}  // namespace

int run_daemon(const std::string& config_path, const std::string& log_format, std::ostream& out,
               std::ostream& err) {
  (void)out;
  auto config = load_config(config_path);
  if (!config) {
    err << diagnostics_text(config.error()) << '\n';
    return 1;
  }
  std::optional<LogFormat> format_override;
  if (log_format == "json") {
    format_override = LogFormat::kJson;
  } else if (log_format == "logfmt") {
    format_override = LogFormat::kLogfmt;
  } else if (!log_format.empty()) {
    err << "tide: error: --log-format must be logfmt or json\n";
    return 1;
  }
  auto level = parse_log_level(config->log.level);
  Logger logger(format_override.value_or(config->log.format), level.value_or(LogLevel::kInfo));

  // Fewer malloc arenas: the engine's threads are mostly idle, and per-thread arenas would
  // multiply the resident memory of a daemon that aims at a few MB.
  ::mallopt(M_ARENA_MAX, 2);

  // Handlers before any thread starts.
  SignalPipe signals;
  if (auto installed = signals.install(); !installed) {
    err << "tide: error: " << installed.error().message << '\n';
    return 1;
  }

  auto token = resolve_api_token(config->api);
  if (!token) {
    err << "tide: error: " << token.error().message << '\n';
    return 1;
  }
  auto store = open_state_store(config->state);
  if (!store) {
    err << fmt::format("tide: error: cannot open the state store '{}': {}\n", config->state,
                       redact_text(store.error().message));
    return 1;
  }

  SystemClock clock;
  EngineOptions options;
  options.clock = &clock;
  options.logger = &logger;
  auto engine = Engine::create(*config, **store, options);
  if (!engine) {
    err << "tide: error: " << config_path << ": " << engine.error().message << '\n';
    return 1;
  }

  ApiOptions api_options;
  api_options.token = *token;
  ApiServer api(**engine, api_options, clock);
  if (auto started = api.start(config->api.listen); !started) {
    err << fmt::format("tide: error: cannot serve the API on {}: {}\n", config->api.listen,
                       started.error().message);
    return 1;
  }

  logger.info("tide started", {{"version", TIDE_VERSION},
                               {"config", config_path},
                               {"state", config->state},
                               {"api", config->api.listen},
                               {"api_port", api.port()},
                               {"groups", static_cast<int>(config->groups.size())},
                               {"dry_run", config->dry_run},
                               {"pid", static_cast<long long>(::getpid())}});
  (*engine)->start();

  bool running = true;
  while (running) {
    for (int sig : signals.wait(-1)) {
      if (sig == SIGTERM || sig == SIGINT) {
        logger.info("stopping: finishing the evaluations in flight",
                    {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        running = false;
        break;
      }
      if (sig != SIGHUP) continue;
      logger.info("SIGHUP: reloading the config", {{"config", config_path}});
      auto next = load_config(config_path);
      if (!next) {
        (*engine)->metrics().count_reload(false);
        logger.error("config reload failed; keeping the running config",
                     {{"config", config_path}, {"errors", diagnostics_text(next.error())}});
        continue;
      }
      if (next->state != config->state || next->api.listen != config->api.listen ||
          next->api.token != config->api.token || next->api.token_env != config->api.token_env) {
        logger.warn("state and api settings change only with a restart; keeping the running ones",
                    {{"state", config->state}, {"api", config->api.listen}});
        next->state = config->state;
        next->api = config->api;
      }
      if (!(*engine)->reload(*next)) continue;  // the engine logged why
      if (!format_override) logger.set_format(next->log.format);
      logger.set_level(parse_log_level(next->log.level).value_or(LogLevel::kInfo));
      *config = std::move(*next);
    }
  }

  (*engine)->stop();
  api.stop();
  logger.info("tide stopped");
  return 0;
}

}  // namespace tide::cli
