// Names made up here: task ids (sortable by creation time, unique without coordination) and
// random suffixes for inboxes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smith::services::orchestrator {

/// `bytes` random bytes as lowercase hex.
std::string random_hex(std::size_t bytes);

/// "t-" + 12 hex digits of unix ms + 16 random hex digits.
std::string new_task_id();

/// The first `bytes` bytes of the SHA-256 of `data`, as lowercase hex.
std::string sha256_hex(std::string_view data, std::size_t bytes);

/// The task id an Idempotency-Key stands for: "k-" + the first 16 bytes of its SHA-256 in hex.
/// The same key always names the same task, and a key is never readable in the id.
std::string id_for_idempotency_key(std::string_view key);

} // namespace smith::services::orchestrator
