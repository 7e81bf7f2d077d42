// The built-in "hash" task type: the SHA-256 of a task's payload.
#pragma once

#include "actors/handler.hpp"

namespace smith::actors::handlers {

/// Output: the SHA-256 of the payload bytes as 64 lowercase hex digits. Checks for cancellation
/// before each 1 MiB chunk; a cancelled task fails with error_type "cancelled".
outcome hash_handler(task_context& ctx);

} // namespace smith::actors::handlers
