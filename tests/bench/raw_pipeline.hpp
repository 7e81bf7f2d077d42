// The baselines every benchmark is measured against, in plain nats.c with no layer of ours:
// the raw loop (the upper bound) and a careful hand-written worker with smith's guarantees.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace smith::bench {

/// Prints what failed and exits 1: a benchmark has no way to go on.
[[noreturn]] void die(const std::string& what);

/// Dies with `what` and nats.c's words unless `st` is NATS_OK.
void check(natsStatus st, const char* what);

double seconds_since(std::chrono::steady_clock::time_point start);

/// The raw loop: async publish N tasks of 256 B, fetch, publish a result, ack at once. Runs
/// once on the server at `url` with ids unique to `round`; returns tasks/s.
double run_raw_pipeline(const std::string& url, int n, int batch, int round);

/// What a careful worker's loop works on: where its tasks are and what they look like.
struct careful_work {
  std::string tasks_stream; ///< a work queue the streams below were declared with
  std::string filter;       ///< the task subjects, as the durable consumer filters them
  std::string durable;      ///< the durable pull consumer
  /// Whether declare() makes the consumer too (the loop binds to it as it is); otherwise the
  /// loop creates it: explicit acks, 100,000 acks pending.
  bool consumer_declared = false;
  /// Declares the streams (on a connection of the loop's own, `js`).
  std::function<void(jsCtx* js)> declare;
  /// Publishes n tasks with ids <prefix><i> asynchronously on `js` and waits for their acks.
  std::function<void(jsCtx* js, const std::string& prefix, int n)> publish;
  /// The result message that ends `task` (its echo), with the Nats-Msg-Id the worker stores it
  /// under; the loop sends it without a reply subject.
  std::function<natsMsg*(natsMsg* task)> result_for;
};

/// The loop a careful engineer writes by hand with nats.c: fetch 256 at a time, publish each
/// task's result with a Nats-Msg-Id, and ack the task only once its result's PubAck arrived
/// (from the PubAck handler, so nothing waits per message). The worker has a connection of its
/// own. Returns tasks/s, the clock as in run_raw_pipeline; checks afterwards that every task
/// was acked.
double run_careful_worker(const std::string& url, int n, int round, const careful_work& work);

/// run_careful_worker on the plainest messages: tasks of 256 B on one subject, results that
/// echo them on blfl.result.<id>, the task id as both Nats-Msg-Ids, streams (BLFL_*) at the
/// server's defaults. What the same guarantees cost with no wire format around them.
double run_like_for_like_plain(const std::string& url, int n, int round);

/// The latency floor: the careful worker with nothing between the server and it, for
/// latency_bench. A push consumer hands each task over as the server stores it, on nats.c's
/// delivery thread, which publishes the echo at once (SendAsap) with Nats-Msg-Id result-<id>
/// and acks the task from the result's PubAck handler. Tasks go to task_prefix.<id> (a work
/// queue, BLAT_TASKS), results come on result_prefix.<id> (BLAT_RESULTS); both streams at the
/// server's defaults. It serves from construction to destruction, on a connection of its own.
class latency_floor {
public:
  static constexpr const char* task_prefix = "blat.task";
  static constexpr const char* result_prefix = "blat.result";

  explicit latency_floor(const std::string& url);
  ~latency_floor();
  latency_floor(const latency_floor&) = delete;
  latency_floor& operator=(const latency_floor&) = delete;

  /// Dies if a result failed to store or was acked wrong.
  void check_healthy() const;

private:
  struct state;
  std::unique_ptr<state> state_;
};

} // namespace smith::bench
