#include "services/task_service.hpp"

#include "services/api_error.hpp"
#include "services/base64.hpp"
#include "transport/clock.hpp"
#include "transport/envelope.hpp"
#include "transport/headers.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_reader.hpp"
#include "transport/subscription.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>

namespace smith::services {

namespace tp = smith::transport;
using json = nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds api_timeout{5000};

std::string random_hex(std::size_t bytes) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = rng() & 0xff;
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

// Sortable by creation time, unique without coordination.
std::string new_task_id() {
  char ms[17];
  std::snprintf(ms, sizeof(ms), "%012llx", static_cast<unsigned long long>(tp::unix_ms()));
  return std::string{"t-"} + ms + random_hex(8);
}

// A transport failure as the API reports it: retryable trouble is 503, the rest 500.
[[noreturn]] void fail(const tp::error& e, const std::string& what) {
  if (e.retryable() || e.code() == tp::errc::closed)
    throw api_error(503, "unavailable", what + ": " + e.message() + ". Hint: is NATS reachable?");
  throw api_error(500, "internal", what + ": " + e.message());
}

template <class T>
T must(tp::expected<T> r, const std::string& what) {
  if (!r)
    fail(r.error(), what);
  return std::move(*r);
}

void must(tp::expected<void> r, const std::string& what) {
  if (!r)
    fail(r.error(), what);
}

std::string field_string(const json& req, const char* key) {
  if (!req.contains(key))
    throw api_error(400, "missing_field", std::string{"field `"} + key + "` is required");
  if (!req[key].is_string())
    throw api_error(400, "invalid_field", std::string{"field `"} + key + "` must be a string");
  return req[key].get<std::string>();
}

std::optional<std::int64_t> field_int(const json& req, const char* key) {
  if (!req.contains(key) || req[key].is_null())
    return std::nullopt;
  if (!req[key].is_number_integer())
    throw api_error(400, "invalid_field", std::string{"field `"} + key + "` must be an integer");
  return req[key].get<std::int64_t>();
}

void check_token(const std::string& value, const char* what) {
  if (!tp::is_subject_token(value) || value.size() > 1024)
    throw api_error(400, "invalid_field",
                    std::string{what} + " \"" + value
                      + "\" must be 1 to 1024 bytes without '.', '*', '>' or whitespace");
}

// Output bytes as JSON: a string when they are text, else base64 under another key.
void put_bytes(json& out, const char* key, const std::string& bytes) {
  if (is_utf8(bytes))
    out[key] = bytes;
  else
    out[std::string{key} + "_base64"] = base64_encode(bytes);
}

// <prefix>.task.<role>.<type> → role, type
std::pair<std::string, std::string> role_type(std::string_view subject, std::size_t prefix_len) {
  auto rest = subject.substr(std::min(subject.size(), prefix_len));
  auto dot = rest.find('.');
  if (dot == std::string_view::npos)
    return {std::string{rest}, ""};
  return {std::string{rest.substr(0, dot)}, std::string{rest.substr(dot + 1)}};
}

} // namespace

std::string state_of(const tp::result& r) {
  if (r.status)
    return *r.status;
  return r.ok ? "succeeded" : "failed";
}

task_service::task_service(std::shared_ptr<tp::connection> conn, tp::topology_config topo,
                           const task_tracker* tracker)
  : conn_(std::move(conn)), topo_(std::move(topo)), names_(topo_.prefix), tracker_(tracker) {
  pub_ = must(tp::publisher::create(conn_, {}), "create a publisher");
}

void task_service::check_role(const std::string& role) const {
  if (std::find(topo_.roles.begin(), topo_.roles.end(), role) != topo_.roles.end())
    return;
  std::string known;
  for (const auto& r : topo_.roles)
    known += (known.empty() ? "" : ", ") + r;
  throw api_error(400, "unknown_role",
                  "role \"" + role + "\" is not served here; known roles: " + known
                    + ". Hint: SMITH_ROLES lists them");
}

json task_service::submit(const json& req) {
  if (!req.is_object())
    throw api_error(400, "invalid_json", "the request body must be a JSON object");
  auto role = field_string(req, "role");
  check_token(role, "role");
  check_role(role);
  tp::task t;
  t.type = field_string(req, "type");
  check_token(t.type, "type");
  t.id = req.contains("id") && !req["id"].is_null() ? field_string(req, "id") : new_task_id();
  check_token(t.id, "id");
  if (req.contains("payload") && req.contains("payload_base64"))
    throw api_error(400, "invalid_field", "give `payload` or `payload_base64`, not both");
  if (req.contains("payload_base64")) {
    auto bytes = base64_decode(field_string(req, "payload_base64"));
    if (!bytes)
      throw api_error(400, "invalid_field", "field `payload_base64` is not valid base64");
    t.payload = std::move(*bytes);
  } else if (req.contains("payload")) {
    // A string travels as its text; any other JSON value as its compact JSON.
    const auto& p = req["payload"];
    t.payload = p.is_string() ? p.get<std::string>() : p.dump();
  }
  auto limit = static_cast<std::size_t>(topo_.max_msg_bytes) - 4096;
  if (t.payload.size() > limit)
    throw api_error(413, "payload_too_large",
                    "the payload has " + std::to_string(t.payload.size()) + " bytes; at most "
                      + std::to_string(limit)
                      + " fit in a task. Hint: store large inputs elsewhere and pass a reference,"
                        " or raise SMITH_MAX_MSG_BYTES");
  t.created_ms = tp::unix_ms();
  t.deadline_ms = field_int(req, "deadline_ms");
  auto delay = field_int(req, "delay_ms");
  if (delay && *delay < 0)
    throw api_error(400, "invalid_field", "field `delay_ms` must not be negative");
  if (t.deadline_ms && *t.deadline_ms <= t.created_ms)
    throw api_error(400, "invalid_field",
                    "field `deadline_ms` is unix time in ms and must be in the future");
  if (req.contains("meta")) {
    if (!req["meta"].is_object())
      throw api_error(400, "invalid_field", "field `meta` must be an object of strings");
    for (const auto& [k, v] : req["meta"].items()) {
      if (!v.is_string())
        throw api_error(400, "invalid_field", "meta `" + k + "` must be a string");
      t.meta.emplace(k, v.get<std::string>());
    }
  }
  tp::task_headers extra;
  if (delay && *delay > 0)
    extra.not_before_ms = t.created_ms + *delay;
  auto msg = tp::task_message(names_, role, t, extra);
  if (!msg)
    throw api_error(400, "invalid_field", msg.error().message());
  auto ack = pub_->publish(*msg, api_timeout);
  if (!ack) {
    if (ack.error().code() == tp::errc::too_large)
      throw api_error(413, "payload_too_large", ack.error().message());
    fail(ack.error(), "publish the task");
  }
  return {{"id", t.id}, {"duplicate", ack->duplicate}, {"stream_seq", ack->sequence}};
}

std::optional<json> task_service::final_state(const std::string& id) {
  auto last = must(tp::last_message(*conn_, names_.results_stream(), names_.result(id)),
                   "read the result of " + id);
  if (!last)
    return std::nullopt;
  auto r = tp::decode_result(last->data);
  if (!r)
    return json{
      {"id", id}, {"state", "failed"}, {"error", "unreadable result: " + r.error().message()}};
  json out{{"id", id},
           {"state", state_of(*r)},
           {"attempts", r->attempts},
           {"worker", r->worker},
           {"started_ms", r->started_ms},
           {"finished_ms", r->finished_ms}};
  put_bytes(out, "output", r->output);
  if (r->error)
    out["error"] = *r->error;
  return out;
}

std::optional<task_service::queued> task_service::find_queued(const std::string& id) {
  auto tasks = names_.tasks_stream();
  auto filter = names_.all_tasks();
  auto prefix_len = filter.size() - 1; // "<prefix>.task."
  std::uint64_t from = 1;
  std::map<std::string, std::uint64_t> delivered; // role → consumer's delivered stream seq
  for (std::size_t n = 0; n < max_scan; ++n) {
    auto m = must(tp::next_message(*conn_, tasks, from, filter), "read the queue");
    if (!m)
      return std::nullopt;
    from = m->sequence + 1;
    // A requeued task carries <id>-requeue-<dead-letter seq> (docs/WIRE.md §2).
    auto msg_id = m->header(tp::headers::msg_id);
    if (!msg_id || !msg_id->starts_with(id)
        || (msg_id->size() != id.size() && !msg_id->substr(id.size()).starts_with("-requeue-")))
      continue;
    queued q;
    q.seq = m->sequence;
    std::tie(q.role, q.type) = role_type(m->subject, prefix_len);
    q.stored_ms = m->time_ms;
    if (!delivered.contains(q.role)) {
      auto info = tp::consumer_info(*conn_, tasks, tp::subjects::consumer(q.role));
      delivered[q.role] = info ? info->delivered_stream_seq : 0;
    }
    q.delivered = delivered[q.role] >= q.seq;
    return q;
  }
  return std::nullopt;
}

json task_service::status(const std::string& id) {
  check_token(id, "task id");
  if (auto done = final_state(id))
    return *done;
  if (tracker_ != nullptr)
    if (auto live = tracker_->find(id)) {
      json out{{"id", id},
               {"state", "running"},
               {"role", live->role},
               {"type", live->type},
               {"worker", live->worker},
               {"attempts", live->attempt},
               {"started_ms", live->started_ms}};
      if (live->percent)
        out["progress"] = {{"percent", *live->percent}, {"message", live->message}};
      return out;
    }
  if (auto q = find_queued(id))
    return {{"id", id},
            {"state", q->delivered ? "running" : "queued"},
            {"role", q->role},
            {"type", q->type},
            {"stream_seq", q->seq},
            {"queued_ms", q->stored_ms}};
  // It may have finished between the two reads.
  if (auto done = final_state(id))
    return *done;
  throw api_error(404, "not_found",
                  "no task \"" + id
                    + "\": not queued, not running, and no result (results are "
                      "kept for SMITH_RESULTS_MAX_AGE)");
}

void task_service::store_result(const tp::result& r, std::uint64_t task_seq) {
  auto out = tp::result_message(names_, r);
  out.msg_id = tp::result_msg_id(task_seq);
  must(pub_->publish(out, api_timeout), "store the result of " + r.id);
}

json task_service::cancel(const std::string& id) {
  check_token(id, "task id");
  if (auto done = final_state(id))
    throw api_error(409, "already_finished",
                    "task \"" + id + "\" already ended: " + (*done)["state"].get<std::string>());
  // Tell the workers first: one that holds the task stops it, one that receives it later
  // never starts it.
  must(tp::publish_core(*conn_, names_.cancel(id), id), "send the cancel notice");
  must(conn_->flush(api_timeout), "send the cancel notice");
  auto q = find_queued(id);
  bool running = tracker_ != nullptr && tracker_->find(id).has_value();
  if (!q && !running)
    throw api_error(404, "not_found", "no task \"" + id + "\" is queued or running");
  if (q) {
    // Gone from the stream, it is never delivered (again). A worker running it now was told
    // above and stores its own "cancelled" result.
    auto deleted =
      must(tp::delete_message(*conn_, names_.tasks_stream(), q->seq), "remove the task");
    if (deleted && !q->delivered) {
      tp::result r;
      r.id = id;
      r.ok = false;
      r.error = "cancelled";
      r.status = "cancelled";
      r.worker = "orchestrator";
      r.started_ms = r.finished_ms = tp::unix_ms();
      store_result(r, q->seq);
      return {{"id", id}, {"state", "cancelled"}};
    }
  }
  return {{"id", id}, {"state", "cancelling"}};
}

json task_service::queues(milliseconds ping_wait) {
  // Ask the workers who is there: each answers with its role.
  std::mutex mtx;
  std::map<std::string, int> workers;
  auto inbox = "_INBOX." + random_hex(12);
  auto sub = must(tp::subscription::create(conn_, inbox,
                                           [&](const tp::core_message& m) {
                                             auto doc = json::parse(m.data, nullptr, false);
                                             if (!doc.is_object())
                                               return;
                                             std::lock_guard guard{mtx};
                                             ++workers[doc.value("role", "")];
                                           }),
                  "subscribe for worker answers");
  must(tp::publish_core(*conn_, names_.worker_ping(), "", inbox), "ping the workers");
  must(conn_->flush(api_timeout), "ping the workers");
  auto asked = std::chrono::steady_clock::now();
  json out = json::array();
  auto tasks = names_.tasks_stream();
  auto now = tp::unix_ms();
  for (const auto& role : topo_.roles) {
    auto info = must(tp::consumer_info(*conn_, tasks, tp::subjects::consumer(role)),
                     "read consumer " + tp::subjects::consumer(role));
    double oldest = 0;
    if (info.num_pending > 0) {
      auto m = must(
        tp::next_message(*conn_, tasks, info.delivered_stream_seq + 1, names_.task_filter(role)),
        "read the oldest task of " + role);
      if (m && m->time_ms > 0)
        oldest = static_cast<double>(std::max<std::int64_t>(now - m->time_ms, 0)) / 1000.0;
    }
    out.push_back({{"role", role},
                   {"pending", info.num_pending},
                   {"in_flight", info.num_ack_pending},
                   {"oldest_pending_s", oldest}});
  }
  std::this_thread::sleep_until(asked + ping_wait); // answers arrive within the wait
  sub.reset();
  std::lock_guard guard{mtx};
  for (auto& q : out)
    q["workers"] = workers[q["role"].get<std::string>()];
  return {{"queues", out}};
}

json task_service::dlq_list(std::size_t limit, std::uint64_t from_seq) {
  json out = json::array();
  auto stream = names_.dlq_stream();
  auto filter = names_.all_dlq();
  auto from = std::max<std::uint64_t>(from_seq, 1);
  while (out.size() < limit) {
    auto m = must(tp::next_message(*conn_, stream, from, filter), "read the dead letters");
    if (!m)
      break;
    from = m->sequence + 1;
    json e{{"seq", m->sequence}};
    if (auto d = tp::decode_dead_letter(m->data)) {
      e.update({{"id", d->id},
                {"role", d->role},
                {"type", d->type},
                {"reason", d->reason},
                {"attempts", d->attempts},
                {"subject", d->subject},
                {"stream_seq", d->stream_seq},
                {"failed_ms", d->failed_ms}});
    } else {
      e["reason"] = "unreadable dead letter: " + d.error().message();
    }
    out.push_back(std::move(e));
  }
  return {{"dead_letters", out}, {"next_seq", from}};
}

json task_service::dlq_requeue(std::uint64_t seq) {
  auto stream = names_.dlq_stream();
  auto m = must(tp::message_at(*conn_, stream, seq), "read dead letter " + std::to_string(seq));
  if (!m)
    throw api_error(404, "not_found", "no dead letter at sequence " + std::to_string(seq));
  auto d = tp::decode_dead_letter(m->data);
  if (!d)
    throw api_error(409, "not_requeueable",
                    "dead letter " + std::to_string(seq)
                      + " does not decode: " + d.error().message());
  auto t = tp::decode_task(d->original);
  if (!t)
    throw api_error(409, "not_requeueable",
                    "the original task of dead letter " + std::to_string(seq) + " does not decode ("
                      + t.error().message() + "); it can only be deleted");
  // The attempts so far go with it, so handlers and results count every attempt.
  t->meta["prior_attempts"] = std::to_string(d->attempts);
  auto out = tp::task_message(names_, d->role, *t);
  if (!out)
    throw api_error(409, "not_requeueable", out.error().message());
  // Its own id for dedup: the task id may still be inside the duplicate window, and a repeated
  // requeue of the same dead letter must not queue it twice.
  out->msg_id = t->id + "-requeue-" + std::to_string(seq);
  // The old "dead" result would hide the new attempt from status.
  must(tp::purge_subject(*conn_, names_.results_stream(), names_.result(t->id)),
       "clear the old result of " + t->id);
  auto ack = must(pub_->publish(*out, api_timeout), "publish the requeued task");
  must(tp::delete_message(*conn_, stream, seq), "remove dead letter " + std::to_string(seq));
  return {{"id", t->id}, {"requeued_from", seq}, {"stream_seq", ack.sequence}};
}

json task_service::dlq_delete(std::uint64_t seq) {
  auto deleted = must(tp::delete_message(*conn_, names_.dlq_stream(), seq),
                      "delete dead letter " + std::to_string(seq));
  if (!deleted)
    throw api_error(404, "not_found", "no dead letter at sequence " + std::to_string(seq));
  return {{"deleted", seq}};
}

} // namespace smith::services
