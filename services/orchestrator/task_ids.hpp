// Names made up here: task ids (sortable by creation time, unique without coordination) and
// random suffixes for inboxes.
#pragma once

#include <cstddef>
#include <string>

namespace smith::services::orchestrator {

/// `bytes` random bytes as lowercase hex.
std::string random_hex(std::size_t bytes);

/// "t-" + 12 hex digits of unix ms + 16 random hex digits.
std::string new_task_id();

} // namespace smith::services::orchestrator
