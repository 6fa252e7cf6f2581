#include "targets/readiness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include <fmt/format.h>

namespace tide::readiness {
namespace {

using Steady = std::chrono::steady_clock;

int ms_left(Steady::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// A connected non-blocking socket, or -1.
int connect_by(const std::string& host, int port, Steady::time_point deadline) {
  if (port <= 0 || port > 65535) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, ms_left(deadline));
    } while (ready < 0 && errno == EINTR);
    int err = 0;
    socklen_t len = sizeof err;
    if (ready <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace

bool tcp_connects(const std::string& host, int port, Duration timeout) {
  int fd = connect_by(host, port, Steady::now() + timeout);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

int http_status(const std::string& host, int port, const std::string& path, Duration timeout) {
  const auto deadline = Steady::now() + timeout;
  int fd = connect_by(host, port, deadline);
  if (fd < 0) return 0;
  std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: tide-readiness\r\nConnection: close\r\n\r\n",
      path.empty() ? "/" : path, host, port);
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, ms_left(deadline)) > 0) continue;
    }
    ::close(fd);
    return 0;
  }
  std::string head;
  char buffer[512];
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, ms_left(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    head.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.1 200 OK"
  if (head.rfind("HTTP/", 0) != 0) return 0;
  std::size_t space = head.find(' ');
  if (space == std::string::npos || space + 4 > head.size()) return 0;
  int code = std::atoi(head.c_str() + space + 1);
  return code >= 100 && code <= 999 ? code : 0;
}

bool port_free(int port) {
  if (port <= 0 || port > 65535) return false;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true;  // cannot tell: assume free
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return free;
}

}  // namespace tide::readiness
