// The `redis` source (hiredis): the length of a list (LLEN), a stream (XLEN) or a sorted set
// (ZCARD), or the pending entries of a stream's consumer group (XPENDING summary count).
//
// Connections are pooled (one per concurrent read, a few kept idle) and reused; a connection that
// failed is dropped, and a read that fails on a reused connection (say, Redis restarted) retries
// once on a fresh one within its time. Every step (connect, AUTH, SELECT, command) is bounded by
// the time left of min(`timeout`, the read's timeout). The password comes from `password_env`
// (preferred) or the URL's user info (redis://[user:]password@host:port/db).
// rediss:// needs hiredis with TLS, which Debian 12's hiredis 0.14 lacks: it is a config error.
// Creating the source installs a no-op SIGPIPE handler when SIGPIPE still has its default action
// (hiredis writes with write(2); a closed connection must not kill tide).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "sources/registry.hpp"
#include "sources/source.hpp"

namespace tide {

Result<std::unique_ptr<Source>> make_redis_source(const SourceSpec& spec);

struct RedisAddress {
  bool unix_socket = false;
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // unix socket
  std::string user;
  std::string password;
  int db = 0;
};

// redis://[[user]:password@]host[:port][/db], unix:///path/to/socket[?db=N]; IPv6 hosts in [..].
Result<RedisAddress> parse_redis_url(std::string_view url);

}  // namespace tide
