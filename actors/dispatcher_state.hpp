// The dispatcher's state and the parts that act on it, one file each by what they do:
// dispatcher.cpp (binding and the message handlers), dispatcher_intake.cpp (deliveries to
// workers), dispatcher_outcome.cpp (results, dead letters, ack/nak/term) and
// dispatcher_watch.cpp (heartbeats, deadlines, cancel, drain, capacity).
// Internal to actors/: only the dispatcher's own files (and its unit test) include it.
#pragma once

#include "actors/dispatcher.hpp"
#include "actors/messages.hpp"
#include "transport/handle.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace smith::actors {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct entry {
  /// running: a worker has it; storing: its result or dead letter is being published;
  /// settling: ack or term sent, waiting for the server to confirm it.
  enum class phase : std::uint8_t { running, storing, settling };
  enum class then : std::uint8_t { ack, term };

  message_ptr msg;
  task_ptr task;
  cancel_flag cancelled;
  caf::actor worker;
  clock_type::time_point started;
  clock_type::time_point last_beat;
  clock_type::time_point settle_sent;
  std::int64_t started_ms = 0;
  std::uint32_t attempt = 1;        // this message's delivery count: MaxDeliver counts it
  std::uint32_t prior_attempts = 0; // attempts before a requeue from the dead-letter stream
  std::optional<std::int64_t> deadline_ms;
  bool cancel_requested = false;
  bool announced = false;     // its `started` event went out
  std::optional<int> percent; // the handler's last progress, for task pings
  std::string progress_message;
  phase ph = phase::running;
  then finally = then::ack;
  int stores_pending = 0;
  bool store_failed = false; // for good (refused): the attempt is retried
  bool store_retry = false;  // for now (timed out, link lost): published again, same ids
  std::vector<transport::outgoing> outs; // what store() published, for publishing again
  std::string outcome_name;
  std::string error_type;
  std::string error;
};

// Finished attempts' messages are freed this many at a time (dispatcher_state::spent).
constexpr std::size_t spent_batch = 512;

struct dispatcher_state {
  dispatcher_config cfg;
  std::shared_ptr<dispatcher_port> port;         // set once bound
  std::map<std::uint64_t, entry> inflight;       // by stream sequence
  std::map<caf::actor_addr, std::uint64_t> busy; // worker → the seq it runs
  std::deque<caf::actor> idle;
  std::deque<delivery> waiting; // delivered while no worker was idle (prefetched)
  // Task ids cancelled lately: a task delivered after its cancel notice never starts.
  std::map<std::string, clock_type::time_point, std::less<>> cancelled_ids;
  // Attempts whose handler is done and whose outcome is being stored or settled. They hold no
  // worker: a worker takes its next task as soon as its handler returns, while the store and
  // the ack go on here, at most settle_window of them at once (MaxAckPending still caps the
  // fleet at the server).
  std::int64_t storing = 0;
  // How long attempts take lately from hand-over to a worker to its answer (an exponential
  // average, microseconds; negative: none ran yet): it sizes the prefetch.
  double run_average_us = -1;
  // The messages of attempts just finished, freed spent_batch at a time, and all at once when
  // none is left in flight (transport::batched_release says why).
  transport::batched_release<message_ptr> spent{spent_batch};
  bool announce_armed = false; // an announce sweep is due
  bool draining = false;
  bool drain_expired = false;
  static inline const char* name = "smith.dispatcher";

  dispatcher_state() = default;
  dispatcher_state(const dispatcher_state&) = delete;
  dispatcher_state& operator=(const dispatcher_state&) = delete;

  /// A dispatcher that ends with work in hand (a drain past its timeout, a crash, a restart)
  /// hands it back at once: running and storing attempts and parked deliveries are nak'd
  /// (a redelivery whose result did get stored is acked, not run), handlers are told to stop.
  /// The port's fetcher, destroyed after this, hands back what was still in transit.
  ~dispatcher_state();
};

using dispatcher_actor = caf::stateful_actor<dispatcher_state>;

constexpr milliseconds settle_timeout{5000};
// Attempts being stored and acked at once; past it the dispatcher fetches nothing more.
constexpr std::int64_t settle_window = 256;
// Tasks are prefetched while handlers are short: as many as the workers get through in this
// time at the recent pace, so a worker finds its next task in hand instead of waiting a pull
// round trip for it, and a prefetched task waits about this long at most. Handlers that take
// longer on average get no prefetch: a task then never waits behind one while another worker
// of the fleet is idle.
constexpr std::chrono::microseconds prefetch_budget{10'000};
constexpr std::int64_t max_prefetch = 256;
// The worker's connection gathers writes for up to a millisecond (transport::connection,
// coalesce_writes). A result stored while fewer attempts than this are storing is written at
// once: an idle worker answers without that wait, and a busy one, with many results and acks
// under way, writes them in batches, which costs it and the server far less per task.
constexpr std::int64_t write_at_once_below = 4;
// After a store that may not have happened (its publish ack timed out), the same messages go
// out again after this pause; their Nats-Msg-Ids make a second copy harmless.
constexpr milliseconds restore_pause{500};
// A handler that runs this long gets its `started` event: a task that ends sooner has its
// result instead, and costs no event (most tasks, by far).
constexpr milliseconds announce_after{20};
// The longest a deadline timer is armed for; a later deadline re-arms it when it fires.
constexpr milliseconds longest_timer{86'400'000};
// How long a cancel notice is remembered for tasks not yet delivered to this dispatcher.
constexpr milliseconds cancel_memory{600'000};

// -- intake (dispatcher_intake.cpp) -------------------------------------------------------

/// What the fetch thread does with each message before the dispatcher sees it: decodes it,
/// and acks a redelivery whose result is stored already (never running it again).
std::optional<delivery> screen(const dispatcher_config& cfg, message_ptr m);

/// Screens a delivery (Not-Before, cancelled, past deadline), then hands it to an idle worker
/// or parks it.
void process(dispatcher_actor* self, delivery d);

/// Hands parked deliveries to idle workers.
void dispatch_waiting(dispatcher_actor* self);

// -- outcome (dispatcher_outcome.cpp) -----------------------------------------------------

/// A worker finished an attempt.
void on_done(dispatcher_actor* self, job_done& d);

/// Stores a result and/or a dead letter for `e`, then acks or terms once both are in.
void store(dispatcher_actor* self, std::uint64_t seq, entry& e, bool ok, const std::string& output,
           bool dead_letter, const std::string& reason, const char* status = nullptr);

/// The attempt of `seq` is over: metrics, the task_duration line, the slot.
void finish(dispatcher_actor* self, std::uint64_t seq, const std::string& outcome_name);

/// A publish of a result or dead letter was acknowledged, or failed.
void on_stored(dispatcher_actor* self, const store_outcome& o);

/// Publishes the stored messages of the attempt at `seq` again (same ids) after a store that
/// timed out.
void on_restore(dispatcher_actor* self, std::uint64_t seq);

/// The server confirmed an ack or term.
void on_settled(dispatcher_actor* self, std::uint64_t seq);

/// The task id of `e` for its log lines; empty when the task did not decode.
std::string_view task_id(const entry& e) noexcept;

/// The trace id of the task message's W3C `traceparent` header, when it has a valid one.
std::optional<std::string_view> trace_id(const message_ptr& m);

// -- watch (dispatcher_watch.cpp) ---------------------------------------------------------

/// The nak delay after a failed attempt `attempt`.
milliseconds retry_delay(const dispatcher_config& cfg, std::uint32_t attempt);

/// Tells the fetch thread how many deliveries the dispatcher can take now.
void update_capacity(dispatcher_actor* self);

/// Quits once draining and nothing runs any more.
void check_drained(dispatcher_actor* self);

/// Heartbeats, deadlines, stuck stores and confirmations; re-arms itself.
void on_tick(dispatcher_actor* self);

/// Publishes the `started` events of the attempts running for announce_after; re-arms itself
/// while attempts run that have none yet.
void on_announce(dispatcher_actor* self);

/// The wait until `deadline_ms` for a timer: 0 when past, at most longest_timer (the timer
/// then fires early and is armed again).
milliseconds deadline_timer(std::int64_t deadline_ms, std::int64_t now_ms);

/// The deadline timer of the attempt at `seq` fired.
void on_deadline(dispatcher_actor* self, std::uint64_t seq);

/// A cancel notice for task `id`.
void on_cancel(dispatcher_actor* self, const std::string& id);

/// A handler's progress for the attempt at `seq` (`attempt` counts prior attempts too).
void on_progress(dispatcher_actor* self, std::uint64_t seq, std::uint32_t attempt, int percent,
                 const std::string& message);

/// The status document of task `id` as the orchestrator shows a running task, when a worker
/// of this dispatcher runs it: the answer to a task ping (docs/WIRE.md §1).
std::optional<std::string> running_status(const dispatcher_state& st, std::string_view id);

/// A task ping for `id`: answered on `reply` when the task runs here, else not at all.
void on_task_ping(dispatcher_actor* self, const std::string& id, const std::string& reply);

} // namespace smith::actors
