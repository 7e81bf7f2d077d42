// The built-in task types: echo, sleep, fail (for tests), plus hash and exec (own files).
#pragma once

#include "actors/handler.hpp"

namespace smith::actors::handlers {

/// Returns the payload as the output.
outcome echo_handler(task_context& ctx);

/// Sleeps for the payload's milliseconds (a decimal integer, or JSON {"ms": n}); stops early
/// and fails as "cancelled" when the task is cancelled.
outcome sleep_handler(task_context& ctx);

/// Fails the first K attempts (payload: K, or JSON {"fail_times": K, "mode": "throw"|"error"}),
/// then succeeds: exercises actor restarts, retries, MaxDeliver and the dead-letter path. By
/// default a failing attempt throws (the worker actor crashes and is restarted).
outcome fail_handler(task_context& ctx);

} // namespace smith::actors::handlers
