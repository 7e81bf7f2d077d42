// Recent tasks (GET /v1/tasks): finished ones from the results stream, scheduled and queued
// ones from the tasks stream, running ones from the tracker; merged newest first. The streams
// are read back from their last sequence in windows that double in size, each read forward
// with direct gets (deleted sequences cost nothing), within a budget of reads per request.
#include "services/orchestrator/task_service.hpp"

#include "services/orchestrator/request_fields.hpp"
#include "transport/clock.hpp"
#include "transport/pull_consumer.hpp"
#include "transport/stream_reader.hpp"
#include "transport/wire/envelope.hpp"
#include "transport/wire/headers.hpp"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>
#include <tuple>

namespace smith::services::orchestrator {

namespace tp = smith::transport;
using json = nlohmann::json;

namespace {

// One listed task and what it is sorted by: the time of its last change, then its sequence.
// Sorted newest first by when_ms; in the same millisecond a finished task before a running one,
// a running one before one waiting (rank), then by sequence within the same stream.
struct list_entry {
  std::int64_t when_ms = 0;
  int rank = 0; ///< 2 finished, 1 running (tracker), 0 waiting (tasks stream)
  std::uint64_t seq = 0;
  json doc;
};

// The direct gets one request may make, all scans together (docs/API.md).
constexpr std::size_t list_read_budget = 10'000;

// Calls `take` with the messages of `stream` matching `filter` and `want` in [lower, upper),
// newest first, until it returns false, `lower` is reached or the budget is spent. A window is
// handed on only when it was read whole, so what is taken is always the newest there is; of a
// window with more than `keep` wanted messages the rest is read again by the next one.
void scan_back(const tp::connection& conn, const std::string& stream, const std::string& filter,
               std::uint64_t lower, std::uint64_t upper, std::size_t keep, std::size_t& budget,
               const std::function<bool(const tp::stored_message&)>& want,
               const std::function<bool(const tp::stored_message&)>& take) {
  lower = std::max<std::uint64_t>(lower, 1); // an empty stream reports 0
  std::uint64_t hi = upper;
  std::uint64_t span = 64;
  while (hi > lower && budget > 0) {
    auto lo = hi - lower > span ? hi - span : lower;
    std::deque<tp::stored_message> got; // the newest `keep` wanted ones, oldest first
    bool overflowed = false;
    for (auto from = lo;;) {
      if (budget == 0)
        return;
      --budget;
      auto m = must(tp::next_message(conn, stream, from, filter), "read " + stream);
      if (!m || m->sequence >= hi)
        break;
      from = m->sequence + 1;
      if (!want(*m))
        continue;
      got.push_back(std::move(*m));
      if (got.size() > keep) {
        got.pop_front();
        overflowed = true;
      }
    }
    for (auto it = got.rbegin(); it != got.rend(); ++it)
      if (!take(*it))
        return;
    if (overflowed) {
      hi = got.front().sequence;
    } else {
      hi = lo;
      span *= 2;
    }
  }
}

// When a queued or delayed task was submitted, to the millisecond (the stored time a direct
// get reports has whole seconds).
std::int64_t submitted_ms(const tp::stored_message& m) {
  auto t = tp::wire::decode_task(m.data);
  return t && t->created_ms > 0 ? t->created_ms : m.time_ms;
}

bool finished(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "dead" || state == "cancelled";
}

} // namespace

json task_service::list(const std::string& role, const std::string& state, std::size_t limit) {
  static const std::set<std::string> states{"scheduled", "queued", "running",  "succeeded",
                                            "failed",    "dead",   "cancelled"};
  if (!state.empty() && !states.contains(state))
    throw api_error(400, "invalid_field",
                    "state " + json_text(state)
                      + " is not one of scheduled, queued, running, succeeded, failed, dead, "
                        "cancelled");
  if (limit < 1 || limit > 1000)
    throw api_error(400, "invalid_field",
                    "limit " + std::to_string(limit) + " is out of range: 1 to 1000");
  if (!role.empty())
    check_role(role);
  std::size_t budget = list_read_budget;
  std::set<std::string> seen; // ids already listed, or shadowed by a later state
  std::vector<list_entry> out;
  // Up to `limit` of each source: the newest `limit` of all are among them.
  auto room = [&](std::size_t from) { return out.size() - from < limit; };

  if (state.empty() || finished(state)) {
    auto stream = names_.results_stream();
    auto info = must(tp::stream_info(*conn_, stream), "read " + stream);
    auto prefix = names_.prefix() + ".result.";
    auto first = out.size();
    scan_back(
      *conn_, stream, role.empty() ? names_.all_results() : names_.role_results(role),
      info.first_seq, info.last_seq + 1, limit, budget,
      [&](const tp::stored_message& m) {
        if (!m.subject.starts_with(prefix)
            || m.subject.find('.', prefix.size()) == std::string::npos)
          return false;
        return state.empty() || finished_json("", m.data).value("state", "") == state;
      },
      [&](const tp::stored_message& m) {
        auto rest = std::string_view{m.subject}.substr(prefix.size());
        auto dot = rest.find('.');
        auto id = std::string{rest.substr(dot + 1)};
        if (!seen.insert(id).second) // an older result of a task already listed
          return true;
        auto doc = finished_json(id, m.data);
        doc["role"] = std::string{rest.substr(0, dot)};
        doc["type"] = std::string{m.header(tp::wire::headers::type).value_or("")};
        put_trace_id(doc, m);
        out.push_back({doc.value("finished_ms", std::int64_t{0}), 2, m.sequence, doc});
        return room(first);
      });
  }
  if ((state.empty() || state == "running") && tracker_ != nullptr) {
    for (auto& [id, t] : tracker_->running(role, limit)) {
      if (seen.contains(id) || budget == 0)
        continue;
      // Its result may have come while the tracker was not listening (core NATS): as status,
      // a stored result wins.
      --budget;
      if (!seen.insert(id).second || final_state(id))
        continue;
      json doc{{"id", id},
               {"state", "running"},
               {"role", t.role},
               {"type", t.type},
               {"worker", t.worker},
               {"attempts", t.attempt},
               {"started_ms", t.started_ms}};
      if (t.percent)
        doc["progress"] = {{"percent", *t.percent}, {"message", t.message}};
      out.push_back({t.started_ms, 1, 0, std::move(doc)});
    }
  }
  auto tasks = names_.tasks_stream();
  std::optional<tp::stream_state> info;
  if (state.empty() || state == "scheduled" || state == "queued" || state == "running")
    info = must(tp::stream_info(*conn_, tasks), "read " + tasks);
  if (state.empty() || state == "scheduled") {
    auto first = out.size();
    auto filter = names_.prefix() + ".schedule." + (role.empty() ? "" : role + ".") + ">";
    scan_back(
      *conn_, tasks, filter, info->first_seq, info->last_seq + 1, limit, budget,
      [&](const tp::stored_message& m) { return names_.parse_schedule(m.subject).has_value(); },
      [&](const tp::stored_message& m) {
        auto addr = names_.parse_schedule(m.subject);
        if (!seen.insert(addr->id).second)
          return true;
        auto when = m.header(tp::wire::headers::schedule).value_or("");
        if (when.starts_with("@at "))
          when.remove_prefix(4);
        json doc{{"id", addr->id},     {"state", "scheduled"},     {"role", addr->role},
                 {"type", addr->type}, {"stream_seq", m.sequence}, {"due", when}};
        if (auto due = tp::parse_rfc3339_ms(when))
          doc["due_ms"] = *due;
        put_trace_id(doc, m);
        out.push_back({submitted_ms(m), 0, m.sequence, std::move(doc)});
        return room(first);
      });
  }
  if (state.empty() || state == "queued" || state == "running") {
    // Delivered is running (as status says it when the tracker does not know the task).
    std::map<std::string, std::uint64_t, std::less<>> delivered;
    auto delivered_of = [&](const std::string& r) {
      auto it = delivered.find(r);
      if (it == delivered.end()) {
        budget -= std::min<std::size_t>(budget, 1);
        auto ci = tp::consumer_info(*conn_, tasks, tp::wire::subjects::consumer(r));
        it = delivered.emplace(r, ci ? ci->delivered_stream_seq : 0).first;
      }
      return it->second;
    };
    auto lower = info->first_seq;
    auto upper = info->last_seq + 1;
    if (!role.empty() && state == "queued")
      lower = std::max(lower, delivered_of(role) + 1);
    if (!role.empty() && state == "running")
      upper = std::min(upper, delivered_of(role) + 1);
    auto first = out.size();
    scan_back(
      *conn_, tasks, role.empty() ? names_.all_tasks() : names_.task_filter(role), lower, upper,
      limit, budget,
      [&](const tp::stored_message& m) {
        auto addr = names_.parse_task(m.subject);
        if (!addr)
          return false;
        auto s = m.sequence <= delivered_of(addr->role) ? "running" : "queued";
        return state.empty() || state == s;
      },
      [&](const tp::stored_message& m) {
        auto addr = names_.parse_task(m.subject);
        if (!seen.insert(addr->id).second)
          return true;
        auto s = m.sequence <= delivered_of(addr->role) ? "running" : "queued";
        json doc{{"id", addr->id},           {"state", s},
                 {"role", addr->role},       {"type", addr->type},
                 {"stream_seq", m.sequence}, {"queued_ms", m.time_ms}};
        put_trace_id(doc, m);
        out.push_back({submitted_ms(m), 0, m.sequence, std::move(doc)});
        return room(first);
      });
  }
  std::stable_sort(out.begin(), out.end(), [](const list_entry& a, const list_entry& b) {
    return std::tie(a.when_ms, a.rank, a.seq) > std::tie(b.when_ms, b.rank, b.seq);
  });
  json docs = json::array();
  for (std::size_t i = 0; i < out.size() && i < limit; ++i)
    docs.push_back(std::move(out[i].doc));
  return {{"tasks", docs}};
}

} // namespace smith::services::orchestrator
