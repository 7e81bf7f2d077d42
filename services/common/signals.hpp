// The signals that stop a service, received through sigwait on a thread of its own.
#pragma once

#include <csignal>

namespace smith::services::common {

/// {SIGTERM, SIGINT}: what stops a service (and what it waits for with sigwait).
sigset_t stop_signal_set();

/// Blocks SIGTERM and SIGINT in the calling thread, and so in every thread started after it:
/// services receive them through sigwait alone. Call it before any thread exists.
void block_stop_signals();

} // namespace smith::services::common
