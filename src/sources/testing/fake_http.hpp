// An in-process HTTP server on 127.0.0.1 (cpp-httplib) for the unit tests of HTTP-based sources.
// Header-only and only included by *_test.cpp files. Its listen backlog is small (5): more than
// about 6 clients connecting at the same moment see a dropped SYN and a 1 s retransmit, so tests
// keep their concurrency per server below that.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace tide::testing {

class FakeHttp {
 public:
  FakeHttp() = default;
  ~FakeHttp() { stop(); }
  FakeHttp(const FakeHttp&) = delete;
  FakeHttp& operator=(const FakeHttp&) = delete;

  httplib::Server& server() { return server_; }

  // Binds a free loopback port and serves in the background; call after adding handlers.
  void start() {
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_timeout(1);  // stop() waits for idle keep-alive connections
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 200 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path = "") const { return "http://" + address() + path; }

  // For slow handlers: sleeps up to `d`, returning early when the server stops.
  void sleep(std::chrono::milliseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::atomic<int> hits{0};

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace tide::testing
