// The `local-process` target: a pool of processes on this host, started from a command template.
//
// - Instance i runs `/bin/sh -c COMMAND` with `{index}` -> i, `{port}` -> base_port + i and
//   `{tide}` -> this tide binary (shell-quoted); the environment also carries TIDE_GROUP,
//   TIDE_INDEX and TIDE_PORT. A new instance takes the lowest index not in use (by a running or
//   a still-stopping process) whose port is free on 127.0.0.1.
// - Each process leads its own session (POSIX_SPAWN_SETSID): it survives a tide restart, and
//   signals go to its whole process group. stdin is /dev/null; stdout and stderr go to `log_file`
//   (appended; `{index}`/`{port}` replaced; relative to tide's working directory) or /dev/null.
// - scale() starts processes or moves the newest instances (dead slots first) to "stopping" with
//   SIGTERM, and returns. maintain() (and, for the cheap parts, status() and scale()) reaps
//   exits, sends SIGKILL to a stopping process still alive after `grace_period`, restarts
//   crashed processes with a backoff (0.5 s doubling to 30 s; reset after 60 s of running), and
//   runs readiness checks (TCP connect or HTTP GET with a 2xx answer) of new processes. A
//   process not ready within `readiness_timeout` is killed and treated as a crash.
// - After every change the pool (index, pid, port, start ticks from /proc/<pid>/stat, boot id)
//   is saved in the group's TargetStateStore under the key "local-process". A new target (after
//   a tide restart) re-adopts the processes that are still alive with the same start ticks and
//   are not zombies, continues stopping those that were stopping, and forgets the rest (their
//   slots are restarted like crashed processes).
// - Liveness: waitpid for processes that are children of this tide process; /proc for adopted
//   ones (after a restart they are not our children).
//
// InstanceStatus: id = the index ("0", "1", ...; stable across restarts of the process),
// address = "127.0.0.1:<port>" (empty without base_port), detail = pid, restarts, last exit.
// TargetStatus::restarts counts unexpected exits handled since this target was created.
//
// Thread-safety: every method may be called from any thread; a mutex guards the pool and no
// network I/O happens while it is held (readiness checks run unlocked, at most one maintain() at a
// time: a concurrent call returns at once).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "policy/spec.hpp"
#include "targets/registry.hpp"
#include "targets/target.hpp"

namespace tide {

enum class Readiness { kNone, kTcp, kHttp };

struct LocalProcessConfig {
  std::string command;
  std::optional<int> base_port;
  std::string working_dir;
  std::vector<std::pair<std::string, std::string>> env;
  std::string log_file;  // template; empty = /dev/null
  Duration grace_period = std::chrono::seconds(10);
  Readiness readiness = Readiness::kNone;
  std::string readiness_path = "/healthz";
  Duration readiness_timeout = std::chrono::seconds(60);
  bool restart = true;
};

Result<LocalProcessConfig> parse_local_process_config(const nlohmann::json& params);

// The persisted form of the pool (exposed for tests).
struct PersistedProcess {
  int index = 0;
  int port = 0;                        // 0 without base_port
  int pid = 0;                         // 0: the slot has no process (waiting for a restart)
  unsigned long long start_ticks = 0;  // /proc/<pid>/stat field 22
  long long started_ms = 0;            // when tide started it (clock time, unix ms)
  bool ready = false;
  bool stopping = false;     // scaled in: SIGTERM sent
  long long kill_at_ms = 0;  // stopping: SIGKILL due at this time
};
struct PersistedPool {
  std::string boot_id;
  int desired = 0;
  std::vector<PersistedProcess> processes;  // active slots in creation order, then stopping ones
};
std::string pool_to_string(const PersistedPool& pool);
Result<PersistedPool> pool_from_string(std::string_view text);

inline constexpr const char* kLocalProcessStateKey = "local-process";
inline constexpr int kMaxLocalProcesses = 4096;

Result<std::unique_ptr<Target>> make_local_process_target(const TargetRef& ref,
                                                          const TargetContext& context);

// The backoff before restart number `failures` (1-based) of a slot: 0.5 s, 1 s, 2 s, ... 30 s.
Duration restart_backoff(int failures);

}  // namespace tide
