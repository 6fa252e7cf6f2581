// Readiness checks of a local instance: can a TCP connection be opened, does an HTTP GET answer
// 2xx. Plain sockets with deadlines; nothing blocks longer than the timeout given.
#pragma once

#include <string>

#include "core/time.hpp"

namespace tide::readiness {

// true when a TCP connection to host:port is accepted within `timeout`.
bool tcp_connects(const std::string& host, int port, Duration timeout);

// The status code of `GET path` on host:port (HTTP/1.1, Connection: close), or 0 when there is
// no answer within `timeout` (connect refused, timeout, not HTTP).
int http_status(const std::string& host, int port, const std::string& path, Duration timeout);

// true when nothing listens on 127.0.0.1:port (a bind succeeds; TIME_WAIT does not count).
bool port_free(int port);

}  // namespace tide::readiness
