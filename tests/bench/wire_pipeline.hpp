// The like-for-like baseline: the careful hand-written worker of raw_pipeline.hpp on smith's
// own messages, streams and consumer.
#pragma once

#include <string>

namespace smith::transport {
class connection;
}

namespace smith::bench {

/// run_careful_worker on exactly what a smith worker gets and stores (docs/WIRE.md): msgpack
/// task envelopes on <prefix>.task.bench.echo.<id> with Nats-Msg-Id and Smith-Type, decoded
/// and checked; msgpack results echoing the payload on <prefix>.result.bench.<id> with
/// Nats-Msg-Id result-<task seq> and Smith-Type. The streams and the role's consumer are
/// smith's own at their defaults (topology::declare) under the prefix "lflwire"
/// (LFLWIRE_TASKS, LFLWIRE_RESULTS, ...), declared through `admin`. Returns tasks/s.
double run_like_for_like(const std::string& url, const smith::transport::connection& admin, int n,
                         int round);

} // namespace smith::bench
