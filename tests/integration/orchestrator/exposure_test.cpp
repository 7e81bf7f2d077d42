// Who may reach /v1: without a token the orchestrator serves it on a loopback address only,
// unless the operator passes --insecure-no-auth.
#include "orchestrator_harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace orchestrator_testing;

namespace {

// A port held by a listener on 127.0.0.1: binding 0.0.0.0 to it fails, so an orchestrator that
// got past its start-up checks exits 1 ("cannot serve http") without ever serving beyond
// loopback.
struct held_port {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;
  held_port() {
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  held_port(const held_port&) = delete;
  held_port& operator=(const held_port&) = delete;
  ~held_port() {
    close(fd);
  }
};

} // namespace

TEST_CASE("without a token, /v1 is served on loopback only unless --insecure-no-auth") {
  fixture f;
  auto smith = smith_binary();
  held_port held;
  auto port = std::to_string(held.port);
  auto env = cli_env(f);
  env["SMITH_API_TOKEN"] = "";

  // Refused before anything starts: exit 2, naming the way out.
  for (const char* host : {"0.0.0.0", "::", "192.0.2.1", "orchestrator.example"}) {
    auto r =
      run_command({smith, "orchestrator", "--http-host", host, "--http-port", port}, env, {}, 20s);
    auto all = r.out + r.err;
    CHECK_MESSAGE(r.exit_code == 2, host << ": " << all);
    CHECK_MESSAGE(all.find("--insecure-no-auth") != std::string::npos, host << ": " << all);
    CHECK_MESSAGE(all.find("SMITH_API_TOKEN_FILE") != std::string::npos, host << ": " << all);
  }

  // Past the check (and then stopped by the held port): loopback, a token, or the operator's
  // word.
  struct passes {
    std::vector<std::string> argv;
    std::string token;
  };
  const std::vector<passes> cases{
    {{smith, "orchestrator", "--http-host", "127.0.0.1", "--http-port", port}, ""},
    {{smith, "orchestrator", "--http-host", "0.0.0.0", "--http-port", port}, "a-token"},
    {{smith, "orchestrator", "--http-host", "0.0.0.0", "--http-port", port, "--insecure-no-auth"},
     ""},
  };
  for (const auto& c : cases) {
    auto run_env = env;
    run_env["SMITH_API_TOKEN"] = c.token;
    auto r = run_command(c.argv, run_env, {}, 20s);
    auto all = r.out + r.err;
    CHECK_MESSAGE(r.exit_code == 1, c.argv[2] << " " << c.argv.back() << ": " << all);
    CHECK_MESSAGE(all.find("cannot serve http") != std::string::npos, all);
    bool warned = all.find("--insecure-no-auth") != std::string::npos;
    CHECK(warned == (c.argv.back() == "--insecure-no-auth"));
  }
}
