// Fuzz target: the body of POST /v1/schedules, parsed as the API parses it, then checked by
// parse_schedule_request against the shipped topology and a small one (1,024-byte messages).
// Proves that any body gives a request or an api_error with a client's status (400, 409, 413),
// never another exception, a crash, a leak or UB (an overflowing `every` among them); and that
// every schedule accepted holds a task a worker decodes to the same task.
#include "services/orchestrator/schedule_request.hpp"
#include "tests/fuzz/api_refusal.hpp"
#include "tests/fuzz/check.hpp"
#include "transport/wire/envelope.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace orch = smith::services::orchestrator;
namespace tp = smith::transport;

namespace {

tp::topology_config small_topology() {
  tp::topology_config topo;
  topo.max_msg_bytes = 1024;
  topo.roles = {"execute"};
  return topo;
}

void check(const nlohmann::json& body, const tp::topology_config& topo) {
  try {
    auto req = orch::parse_schedule_request(body, topo, fuzz::now_ms);
    FUZZ_CHECK(!req.when.empty());
    auto decoded = tp::wire::decode_task(tp::wire::encode(req.task));
    FUZZ_CHECK(decoded.has_value() && *decoded == req.task);
  } catch (const orch::api_error& e) {
    fuzz::check_refusal(e);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input{reinterpret_cast<const char*>(data), size};
  // As task_api: a body that is not JSON is refused before the service sees it.
  auto body = nlohmann::json::parse(input, nullptr, false);
  if (body.is_discarded())
    return 0;
  static const tp::topology_config shipped;
  static const tp::topology_config small = small_topology();
  check(body, shipped);
  check(body, small);
  return 0;
}
