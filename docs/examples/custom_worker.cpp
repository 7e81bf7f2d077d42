// A complete worker of your own: link the worker runtime (worker_dep in meson), register
// your handlers, and run. It takes the same flags and SMITH_* variables as `smith worker`,
// serves /health /ready /metrics, drains on SIGTERM, and keeps the built-in handlers.
#include "services/worker/worker_command.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace sa = smith::actors;

// Upper-cases the payload. A handler returns an outcome; throwing is a failed attempt.
sa::outcome shout(sa::task_context& ctx) {
  std::string out{ctx.payload()};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  ctx.progress(100, "shouted");
  return sa::outcome::success(out);
}

// Bad input is not worth a retry: fail for good, and the task goes to the dead letters.
sa::outcome word_count(sa::task_context& ctx) {
  if (ctx.payload().empty())
    return sa::outcome::failure("word_count: the payload is empty", "bad_payload");
  auto words = std::count(ctx.payload().begin(), ctx.payload().end(), ' ') + 1;
  return sa::outcome::success(std::to_string(words));
}

int main(int argc, char** argv) {
  sa::handler_registry registry;
  registry.add("shout", shout, {.blocking = false}); // cheap: runs on the scheduler thread
  registry.add("word_count", word_count, {.blocking = false});
  return smith::services::worker::worker_main(argc, argv, std::move(registry));
}
