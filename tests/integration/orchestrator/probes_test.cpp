// /health and /metrics answer while /v1 is saturated with requests that each wait for NATS.
#include "orchestrator_harness.hpp"
#include "services/common/http_server.hpp"

#include <csignal>
#include <thread>

using namespace orchestrator_testing;

namespace {

constexpr int slots = smith::services::common::http_server::api_slots;

} // namespace

TEST_CASE("probes and /metrics are answered while every /v1 request waits on a stalled NATS") {
  fixture f;
  orchestrator_process o{f.s.server.url(), f.dir};
  REQUIRE_MESSAGE(o.wait_ready(), o.log_text());
  // A stopped server keeps the connection up and answers nothing: each status read below
  // waits out its 5 s timeout in a server thread.
  REQUIRE(::kill(f.s.server.pid(), SIGSTOP) == 0);
  REQUIRE(wait_until([&] { return f.s.server.stopped(); }, 10s));
  std::atomic<int> busy{0};
  std::atomic<int> waited{0};
  std::vector<std::thread> clients;
  struct resume { // the server goes on and every client is joined, however the test ends
    fixture& f;
    std::vector<std::thread>& clients;
    ~resume() {
      ::kill(f.s.server.pid(), SIGCONT);
      for (auto& t : clients)
        t.join();
    }
  } resume_at_end{f, clients};
  for (int i = 0; i < 40; ++i)
    clients.emplace_back([&, i] {
      auto r = o.request("GET", "/v1/tasks/t-" + std::to_string(i));
      if (r && r->status == 503 && json::parse(r->body)["error"] == "busy")
        ++busy;
      else
        ++waited;
    });
  // Give the 40 requests time to take their threads; then each probe still answers at once.
  CHECK(wait_until([&] { return busy.load() >= 40 - slots; }, 5s));
  httplib::Client probe{"127.0.0.1", o.http_port};
  probe.set_connection_timeout(2s);
  probe.set_read_timeout(2s);
  for (const char* path : {"/health", "/metrics", "/health"}) {
    auto r = probe.Get(path);
    CHECK_MESSAGE(r, std::string{path} << " got no answer within 2 s");
    if (r)
      CHECK(r->status == 200);
  }
  REQUIRE(::kill(f.s.server.pid(), SIGCONT) == 0);
  for (auto& t : clients)
    t.join();
  clients.clear();
  CHECK(busy.load() == 40 - slots);
  CHECK(waited.load() == slots);
}
