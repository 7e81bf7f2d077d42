// The atoms and message types the actors of a worker process exchange, in one place.
#pragma once

#include "actors/handler.hpp"
#include "transport/message.hpp"
#include "transport/wire/envelope.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace smith::actors {

// -- atoms ---------------------------------------------------------------------------------------

/// fetcher → dispatcher: messages arrived (a delivery_batch).
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
/// worker → dispatcher: I am up and idle.
using register_atom = caf::atom_constant<caf::atom("register")>;
/// dispatcher → worker: run this task.
using run_atom = caf::atom_constant<caf::atom("run")>;
/// worker → dispatcher: the attempt ended.
using done_atom = caf::atom_constant<caf::atom("done")>;
/// publisher callback → dispatcher: a result or dead letter is stored (or not).
using stored_atom = caf::atom_constant<caf::atom("stored")>;
/// confirmation callback → dispatcher: the server took the ack or term of an attempt.
using settled_atom = caf::atom_constant<caf::atom("settled")>;
/// dispatcher → itself: heartbeats and deadlines.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
/// service → dispatcher: stop fetching, finish in-flight work, nak the rest.
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// dispatcher → itself: the drain timeout passed.
using drain_deadline_atom = caf::atom_constant<caf::atom("drainend")>;
/// A task's deadline is due (to the dispatcher itself, with the stream sequence): one timer per
/// task with a deadline, so it fires on time instead of at the next tick.
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
/// Publish an attempt's result (and dead letter) again after a store that timed out.
using restore_atom = caf::atom_constant<caf::atom("restore")>;
/// dispatcher → itself: publish the `started` events of attempts running for a while.
using announce_atom = caf::atom_constant<caf::atom("announce")>;
/// dispatcher → itself: try to bind the consumer again.
using bind_atom = caf::atom_constant<caf::atom("bind")>;
/// cancel notice → dispatcher: stop task <id> if it runs here, never start it if it comes.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// worker → dispatcher: a handler reported progress (seq, attempt, percent, message); kept in
/// the in-flight table for task pings.
using progress_atom = caf::atom_constant<caf::atom("progress")>;
/// task ping (<prefix>.ping.task.<id>) → dispatcher: answer on the reply subject if task <id>
/// runs here.
using task_ping_atom = caf::atom_constant<caf::atom("taskping")>;
/// The key under which the dispatcher registers itself, so restarted workers find it.
using dispatcher_atom = caf::atom_constant<caf::atom("dispatch")>;

// -- message types -------------------------------------------------------------------------------

// Local only (never serialized): shared pointers move ownership between actors without copies.
using message_ptr = std::shared_ptr<transport::message>;
using task_ptr = std::shared_ptr<const transport::wire::task>;
using cancel_flag = std::shared_ptr<std::atomic<bool>>;

/// A message as the fetch thread hands it over: decoded there, off the dispatcher's thread.
struct delivery {
  message_ptr msg;
  task_ptr task;         ///< null when the body did not decode
  std::string malformed; ///< why it did not
  /// Set by the dispatcher when it parks the delivery: heartbeats count from here.
  std::chrono::steady_clock::time_point last_beat{};
};

/// What one fetch brought, in one actor message.
struct delivery_batch {
  std::vector<delivery> items;
};

/// What the dispatcher hands a worker.
struct job {
  std::uint64_t seq = 0; ///< the stream sequence: the in-flight key
  task_ptr task;
  std::uint32_t attempt = 1;
  cancel_flag cancelled;
};

/// What a worker hands back.
struct job_done {
  std::uint64_t seq = 0;
  outcome result;
  bool handler_threw = false;
};

/// A publisher outcome for in-flight key `seq`.
struct store_outcome {
  std::uint64_t ref = 0;
  bool ok = false;
  std::string error;
  /// The store may have failed for a passing reason (a timeout, a lost link): publish it again
  /// with the same Nats-Msg-Id rather than run the task again.
  bool retryable = false;
};

} // namespace smith::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(smith::actors::message_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(smith::actors::delivery_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(smith::actors::job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(smith::actors::job_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(smith::actors::store_outcome)
