// Fuzz target: the body of POST /v1/tasks, parsed as the API parses it, then checked by
// parse_submit_request. An input that starts with "Idempotency-Key: " carries that header up to
// its first line break; the rest is the body. Each input is checked against the shipped topology
// and a small one (1,024-byte messages, a capped queue). Proves that any body gives a request or
// an api_error with a client's status (400, 409, 413), never another exception, a crash, a leak
// or UB; and that every request accepted makes a task message a worker decodes to the same task.
#include "services/orchestrator/submit_request.hpp"
#include "tests/fuzz/api_refusal.hpp"
#include "tests/fuzz/check.hpp"
#include "transport/publisher.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/subjects.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace orch = smith::services::orchestrator;
namespace tp = smith::transport;

namespace {

tp::topology_config small_topology() {
  tp::topology_config topo;
  topo.max_msg_bytes = 1024;
  topo.max_tasks = 100;
  topo.roles = {"execute"};
  return topo;
}

void check(const nlohmann::json& body, const std::string& key, const tp::topology_config& topo) {
  try {
    auto req = orch::parse_submit_request(body, key, topo, fuzz::now_ms);
    auto msg = tp::task_message(tp::wire::subjects{topo.prefix}, req.role, req.task,
                                {.not_before_ms = req.not_before_ms});
    FUZZ_CHECK(msg.has_value());
    auto decoded = tp::wire::decode_task(msg->body);
    FUZZ_CHECK(decoded.has_value() && *decoded == req.task);
  } catch (const orch::api_error& e) {
    fuzz::check_refusal(e);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  std::string key;
  constexpr std::string_view key_header = "Idempotency-Key: ";
  if (input.starts_with(key_header)) {
    input.remove_prefix(key_header.size());
    auto end = input.find('\n');
    key = std::string{input.substr(0, end)};
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  }
  // As task_api: a body that is not JSON is refused before the service sees it.
  auto body = nlohmann::json::parse(input, nullptr, false);
  if (body.is_discarded())
    return 0;
  static const tp::topology_config shipped;
  static const tp::topology_config small = small_topology();
  check(body, key, shipped);
  check(body, key, small);
  return 0;
}
