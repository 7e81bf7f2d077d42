// The task operations users touch: submit, status, cancel, lists of tasks and workers, queues
// and dead letters. The HTTP
// API (`smith orchestrator`) and the CLI talking to NATS directly share this one
// implementation; both see the same JSON documents (docs/API.md). Every error is an api_error.
#pragma once

#include "services/orchestrator/cancel_finisher.hpp"
#include "services/orchestrator/task_tracker.hpp"
#include "transport/config.hpp"
#include "transport/connection.hpp"
#include "transport/publisher.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/subjects.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smith::services::orchestrator {

class task_service {
public:
  /// `tracker` (may be null) adds who runs a task and its progress to status.
  task_service(std::shared_ptr<transport::connection> conn, transport::topology_config topo,
               const task_tracker* tracker = nullptr);

  /// {role, type, payload | payload_base64, id?, deadline_ms?, delay_ms?, meta?} →
  /// {id, duplicate, stream_seq}.
  /// `idempotency_key`: the request's Idempotency-Key header (empty: none). Without an `id` in
  /// the request, the key names the task (id_for_idempotency_key).
  /// `traceparent`: the request's W3C trace context (empty: none), carried by the task and its
  /// result; 400 invalid_field when it is not one.
  nlohmann::json submit(const nlohmann::json& request, const std::string& idempotency_key = {},
                        const std::string& traceparent = {});

  /// {id, state, ...}; state is scheduled, queued, running, succeeded, failed, dead or
  /// cancelled.
  nlohmann::json status(const std::string& id);

  /// Stops a task: a queued one never runs, a running one's handler is told.
  nlohmann::json cancel(const std::string& id);

  /// Per role: pending, in_flight, workers, oldest_pending_s.
  nlohmann::json queues(std::chrono::milliseconds ping_wait = std::chrono::milliseconds{250});

  /// The workers that answer a ping within `ping_wait`, sorted by role, then worker.
  nlohmann::json workers(std::chrono::milliseconds ping_wait = std::chrono::milliseconds{250});

  /// Removes the role's queued tasks (not yet delivered) from the tasks stream: {role, purged}.
  nlohmann::json queue_purge(const std::string& role);

  /// Recent tasks, newest first (task_list.cpp): `role` and `state` empty for all.
  nlohmann::json list(const std::string& role, const std::string& state, std::size_t limit);

  /// SMITH_ROLES, then the roles of the other durable consumers (role-<role>) on the tasks
  /// stream: a worker for a new role creates its own.
  std::vector<std::string> known_roles();

  /// 400 invalid_field or unknown_role unless `role` is one of known_roles().
  void check_role(const std::string& role);

  /// Recurring schedules (docs/WIRE.md §2.3): {name, role, type, every | cron, time_zone?,
  /// payload | payload_base64, meta?} → {name, role, type, schedule, time_zone?, replaced,
  /// stream_seq}. The server fires them; each firing is a task of its own.
  nlohmann::json schedule_create(const nlohmann::json& request);
  nlohmann::json schedule_list();
  /// The schedule, its next due time and its last firings with their tasks' states.
  nlohmann::json schedule_show(const std::string& name);
  nlohmann::json schedule_delete(const std::string& name);

  nlohmann::json dlq_list(std::size_t limit, std::uint64_t from_seq = 1);
  /// The dead letter as dlq_list has it, plus `task`: the original task's fields.
  nlohmann::json dlq_show(std::uint64_t seq);
  nlohmann::json dlq_requeue(std::uint64_t seq);
  nlohmann::json dlq_delete(std::uint64_t seq);

  /// Whether NATS is connected right now: requests are refused (503) while it is not.
  bool connected() const {
    return conn_->connected();
  }

  const transport::topology_config& topology() const noexcept {
    return topo_;
  }

  const transport::wire::subjects& names() const noexcept {
    return names_;
  }

private:
  struct queued {
    std::uint64_t seq = 0;
    std::string role;
    std::string type;
    std::int64_t stored_ms = 0;
    bool delivered = false;
    nlohmann::json trace = nlohmann::json::object(); ///< {trace_id} when the task has one
  };

  struct scheduled {
    std::uint64_t seq = 0;
    std::string role;
    std::string type;
    std::string subject;
    std::string due; ///< as the schedule says it: RFC 3339
    std::optional<std::int64_t> due_ms;
    nlohmann::json trace = nlohmann::json::object(); ///< {trace_id} when the task has one
  };

  std::optional<nlohmann::json> find_recurring(const std::string& name);

  std::optional<queued> find_queued(const std::string& id);
  std::optional<scheduled> find_scheduled(const std::string& id);
  std::optional<nlohmann::json> final_state(const std::string& id);
  /// The topology with known_roles() when `req`'s role is not in SMITH_ROLES (else topo_).
  const transport::topology_config& topology_for(const nlohmann::json& req,
                                                 std::optional<transport::topology_config>& tmp);
  /// Stores `r` under the result Nats-Msg-Id of the task's stream sequence: the first result
  /// stored for that delivery stays, a later one is a duplicate (the answer says so).
  /// `type` (when known) goes in the result's Smith-Type header.
  transport::publish_ack store_result(const std::string& role, const transport::wire::result& r,
                                      std::uint64_t task_seq, const std::string& type = {});
  /// Publishes what a request asked for, never into nats.c's reconnect buffer: 503 when NATS
  /// is down (nothing sent); 504 `outcome_unknown` naming `id` when it was sent and no ack
  /// came back (`again` says how to find out). Other errors are the caller's to answer.
  transport::expected<transport::publish_ack> publish_for_request(const transport::outgoing& msg,
                                                                  const std::string& id,
                                                                  const std::string& again);

  std::shared_ptr<transport::connection> conn_;
  transport::topology_config topo_;
  transport::wire::subjects names_;
  const task_tracker* tracker_;
  std::unique_ptr<transport::publisher> pub_;
  std::unique_ptr<cancel_finisher> finisher_; // last: its thread uses the members above
};

/// The result a cancel stores when no worker does: status "cancelled", worker "orchestrator".
transport::wire::result cancelled_result(const std::string& id);

/// The state a stored result stands for: its status, else succeeded or failed.
std::string state_of(const transport::wire::result& r);

/// A finished task as status shows it, from its stored result's `body`: {id, state, attempts,
/// worker, started_ms, finished_ms, output | output_base64, error?}.
nlohmann::json finished_json(const std::string& id, std::string_view body);

/// Adds `trace_id` (32 hex digits) to a status document when `m`, the task's message or its
/// result, carries a well-formed `traceparent`.
void put_trace_id(nlohmann::json& doc, const transport::stored_message& m);

} // namespace smith::services::orchestrator
