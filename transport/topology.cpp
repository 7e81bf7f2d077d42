#include "transport/topology.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/wire/subjects.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace smith::transport {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using json = nlohmann::json;

namespace {

std::int64_t ns(milliseconds d) {
  return duration_cast<nanoseconds>(d).count();
}

error conflict(const std::string& what, std::string_view field, std::string_view server,
               std::string_view declared) {
  return error{errc::conflict,
               what + ": field `" + std::string{field} + "` is " + std::string{server}
                 + " on the server but " + std::string{declared}
                 + " is declared, and it cannot change in place. Hint: drain and delete " + what
                 + " (nats stream rm / nats consumer rm) or declare the server's value"};
}

applied drifted(applied out, std::vector<std::string> fields) {
  out.what = applied::change::drifted;
  out.fields = std::move(fields);
  return out;
}

// -- streams -------------------------------------------------------------------------------------

// Streams are read and written as JSON through the JetStream API: nats.c 3.4.1's jsStreamConfig
// has no allow_msg_schedules, and its update would send the stream without it (which the server
// refuses once it is on).
json to_json(const stream_spec& s) {
  return json{{"name", s.name},
              {"subjects", s.subjects},
              {"retention", s.retention == retention::work_queue ? "workqueue" : "limits"},
              {"storage", "file"},
              {"num_replicas", s.replicas},
              {"max_age", ns(s.max_age)},
              {"max_msgs", s.max_msgs},
              {"max_bytes", -1},
              {"max_msgs_per_subject", s.max_msgs_per_subject},
              {"max_consumers", -1},
              {"discard", s.discard_new ? "new" : "old"},
              {"max_msg_size", s.max_msg_size},
              {"duplicate_window", ns(s.duplicate_window)},
              {"allow_direct", s.allow_direct},
              {"allow_msg_schedules", s.allow_msg_schedules}};
}

// Returns the fields that differ, or the error for one that cannot change.
expected<std::vector<std::string>> diff(const json& have, const json& want) {
  std::string what = "stream " + want["name"].get<std::string>();
  for (const char* fixed : {"retention", "storage"})
    if (have.value(fixed, "") != want[fixed])
      return conflict(what, fixed, have.value(fixed, "(none)"), want[fixed].get<std::string>());
  if (have.value("allow_msg_schedules", false) && !want["allow_msg_schedules"].get<bool>())
    return conflict(what, "allow_msg_schedules", "true", "false");
  std::vector<std::string> fields;
  auto subjects = [](const json& j) {
    auto v = j.value("subjects", std::vector<std::string>{});
    std::sort(v.begin(), v.end());
    return v;
  };
  if (subjects(have) != subjects(want))
    fields.emplace_back("subjects");
  for (const char* key :
       {"num_replicas", "max_age", "max_msgs", "max_msgs_per_subject", "discard", "max_msg_size",
        "duplicate_window", "allow_direct", "allow_msg_schedules"}) {
    // A field the server leaves out is at its zero value.
    auto have_value = have.contains(key) ? have[key] : json{};
    const auto& want_value = want.at(key);
    bool same =
      have_value == want_value
      || (have_value.is_null() && (want_value == false || want_value == 0 || want_value == ""));
    if (!same)
      fields.emplace_back(key);
  }
  return fields;
}

// One JetStream API request; the response's "error" becomes ours.
expected<json> js_api(const connection& conn, const std::string& subject, const json& body,
                      const std::string& what) {
  auto text = body.is_null() ? std::string{} : body.dump();
  natsMsg* raw = nullptr;
  auto st =
    natsConnection_Request(&raw, conn.native(), subject.c_str(), text.data(),
                           static_cast<int>(text.size()), conn.config().request_timeout.count());
  msg_handle reply{raw};
  if (st != NATS_OK)
    return from_nats(st, what);
  auto out = json::parse(
    std::string_view{natsMsg_GetData(raw), static_cast<std::size_t>(natsMsg_GetDataLength(raw))},
    nullptr, false);
  if (!out.is_object())
    return error{errc::malformed, what + ": the server's answer is not a JSON object"};
  if (out.contains("error") && out["error"].is_object()) {
    const auto& e = out["error"];
    auto description = e.value("description", std::string{"(no description)"});
    return from_nats(NATS_ERR, what + ": " + description,
                     static_cast<jsErrCode>(e.value("err_code", 0)));
  }
  return out;
}

expected<applied> apply_stream(const connection& conn, const stream_spec& spec, apply_mode mode) {
  auto want = to_json(spec);
  applied out{"stream", spec.name, applied::change::unchanged, {}};
  auto info = js_api(conn, "$JS.API.STREAM.INFO." + spec.name, {}, "read stream " + spec.name);
  if (!info && info.error().code() == errc::not_found) {
    auto created =
      js_api(conn, "$JS.API.STREAM.CREATE." + spec.name, want, "create stream " + spec.name);
    if (!created)
      return created.error();
    if (spec.allow_msg_schedules
        && !created->value("config", json::object()).value("allow_msg_schedules", false))
      return error{errc::unsupported, "create stream " + spec.name
                                        + ": the server ignored allow_msg_schedules. Hint: "
                                          "delayed tasks need nats-server 2.12 or later"};
    out.what = applied::change::created;
    return out;
  }
  if (!info)
    return info.error();
  auto fields = diff(info->value("config", json::object()), want);
  if (!fields)
    return fields.error();
  if (fields->empty())
    return out;
  if (mode == apply_mode::create_only)
    return drifted(std::move(out), std::move(*fields));
  std::string list;
  for (const auto& f : *fields)
    list += (list.empty() ? "" : ", ") + f;
  auto updated = js_api(conn, "$JS.API.STREAM.UPDATE." + spec.name, want,
                        "update stream " + spec.name + " (fields " + list + ")");
  if (!updated)
    return updated.error();
  out.what = applied::change::updated;
  out.fields = std::move(*fields);
  return out;
}

// -- consumers -----------------------------------------------------------------------------------

struct native_consumer {
  jsConsumerConfig cfg;
  std::vector<int64_t> backoff;
};

void fill(native_consumer& n, const consumer_spec& c) {
  jsConsumerConfig_Init(&n.cfg);
  n.cfg.Durable = c.durable.c_str();
  n.cfg.FilterSubject = c.filter_subject.c_str();
  n.cfg.AckPolicy = js_AckExplicit;
  n.cfg.DeliverPolicy = js_DeliverAll;
  n.cfg.MaxDeliver = c.max_deliver;
  n.cfg.MaxAckPending = c.max_ack_pending;
  n.backoff.clear();
  for (auto step : c.backoff)
    n.backoff.push_back(ns(step));
  // With BackOff set the server times the first delivery by its first step; declaring the
  // same keeps apply idempotent.
  n.cfg.AckWait = n.backoff.empty() ? ns(c.ack_wait) : n.backoff.front();
  n.cfg.BackOff = n.backoff.empty() ? nullptr : n.backoff.data();
  n.cfg.BackOffLen = static_cast<int>(n.backoff.size());
}

expected<std::vector<std::string>> diff(const std::string& what, const jsConsumerConfig& have,
                                        const jsConsumerConfig& want) {
  std::string_view have_filter = have.FilterSubject != nullptr ? have.FilterSubject : "";
  if (have_filter != want.FilterSubject)
    return conflict(what, "filter_subject", have_filter.empty() ? "(none)" : have_filter,
                    want.FilterSubject);
  if (have.AckPolicy != want.AckPolicy)
    return conflict(what, "ack_policy", "not explicit", "explicit");
  if (have.DeliverSubject != nullptr && *have.DeliverSubject != '\0')
    return conflict(what, "deliver_subject", "set (a push consumer)", "empty (a pull consumer)");
  std::vector<std::string> fields;
  if (have.AckWait != want.AckWait)
    fields.emplace_back("ack_wait");
  if (have.MaxDeliver != want.MaxDeliver)
    fields.emplace_back("max_deliver");
  if (have.MaxAckPending != want.MaxAckPending)
    fields.emplace_back("max_ack_pending");
  if (!std::equal(have.BackOff, have.BackOff + have.BackOffLen, want.BackOff,
                  want.BackOff + want.BackOffLen))
    fields.emplace_back("backoff");
  return fields;
}

expected<applied> apply_consumer(const connection& conn, const consumer_spec& spec,
                                 apply_mode mode) {
  native_consumer want;
  fill(want, spec);
  std::string what = "consumer " + spec.stream + "/" + spec.durable;
  applied out{"consumer", spec.stream + "/" + spec.durable, applied::change::unchanged, {}};
  jsConsumerInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_GetConsumerInfo(&raw, conn.jetstream(), spec.stream.c_str(), spec.durable.c_str(),
                               nullptr, &jerr);
  consumer_info_handle info{raw};
  if (st == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
    jsConsumerInfo* created = nullptr;
    jerr = static_cast<jsErrCode>(0);
    st = js_AddConsumer(&created, conn.jetstream(), spec.stream.c_str(), &want.cfg, nullptr, &jerr);
    consumer_info_handle hold{created};
    if (st != NATS_OK)
      return from_nats(st, "create " + what, jerr);
    out.what = applied::change::created;
    return out;
  }
  if (st != NATS_OK)
    return from_nats(st, "read " + what, jerr);
  auto fields = diff(what, *info->Config, want.cfg);
  if (!fields)
    return fields.error();
  if (fields->empty())
    return out;
  if (mode == apply_mode::create_only)
    return drifted(std::move(out), std::move(*fields));
  jsConsumerInfo* updated = nullptr;
  jerr = static_cast<jsErrCode>(0);
  st =
    js_UpdateConsumer(&updated, conn.jetstream(), spec.stream.c_str(), &want.cfg, nullptr, &jerr);
  consumer_info_handle hold{updated};
  if (st != NATS_OK)
    return from_nats(st, "update " + what, jerr);
  out.what = applied::change::updated;
  out.fields = std::move(*fields);
  return out;
}

} // namespace

bool has_schedules(const topology_config& cfg) noexcept {
  return cfg.max_tasks <= 0;
}

topology declare(const topology_config& cfg) {
  wire::subjects names{cfg.prefix};
  topology t;
  stream_spec tasks;
  tasks.name = names.tasks_stream();
  // Delayed tasks wait in the same stream under <prefix>.schedule.> until the server publishes
  // them to their task subject (a schedule's target must be in its own stream).
  tasks.subjects = {names.all_tasks(), names.all_schedules()};
  if (has_schedules(cfg))
    tasks.subjects.push_back(names.all_recurring());
  tasks.retention = retention::work_queue;
  tasks.replicas = cfg.replicas;
  tasks.max_msgs = cfg.max_tasks;
  tasks.discard_new = cfg.max_tasks > 0; // a full queue refuses new tasks, never drops old ones
  tasks.allow_msg_schedules = has_schedules(cfg);
  tasks.max_msg_size = cfg.max_msg_bytes;
  tasks.duplicate_window = cfg.duplicate_window;
  // Direct get lets status and cancel find a queued task, and the depth reporter its oldest.
  tasks.allow_direct = true;
  t.streams.push_back(tasks);

  stream_spec results;
  results.name = names.results_stream();
  results.subjects = {names.all_results()};
  results.replicas = cfg.replicas;
  results.max_age = cfg.results_max_age;
  results.max_msg_size = cfg.max_msg_bytes;
  // A redelivery of an attempt whose result was stored but never acked must dedup against
  // it for as long as the server may redeliver (DESIGN.md §8): at least the horizon.
  const auto stored_window = std::max(cfg.duplicate_window, redelivery_horizon(cfg));
  results.duplicate_window = stored_window;
  results.allow_direct = true;
  t.streams.push_back(results);

  stream_spec dlq;
  dlq.name = names.dlq_stream();
  dlq.subjects = {names.all_dlq()};
  dlq.replicas = cfg.replicas;
  dlq.max_age = cfg.dlq_max_age;
  // A dead letter carries the original body plus its reason and bookkeeping.
  dlq.max_msg_size = cfg.max_msg_bytes + 64 * 1024;
  dlq.duplicate_window = stored_window;
  dlq.allow_direct = true; // listing dead letters reads them one by one
  t.streams.push_back(dlq);

  // The last firings of each recurring schedule, for `smith schedule show`: the server keeps the
  // ten newest per schedule.
  stream_spec firings;
  firings.name = names.firings_stream();
  firings.subjects = {names.all_fired()};
  firings.replicas = cfg.replicas;
  firings.max_age = cfg.results_max_age;
  firings.max_msgs_per_subject = 10;
  firings.max_msg_size = 64 * 1024;
  firings.duplicate_window = cfg.duplicate_window;
  firings.allow_direct = true;
  t.streams.push_back(firings);

  // The server's MAX_DELIVERIES advisories, kept until an orchestrator has moved the task to
  // the dead-letter stream: a core subscription would lose them while no orchestrator runs, and
  // would hand each to every replica. One durable consumer shares them among the replicas.
  stream_spec advisories;
  advisories.name = names.advisories_stream();
  advisories.subjects = {names.max_deliveries_advisories()};
  advisories.retention = retention::work_queue;
  advisories.replicas = cfg.replicas;
  advisories.max_age = cfg.dlq_max_age;
  advisories.duplicate_window = cfg.duplicate_window;
  t.streams.push_back(advisories);

  consumer_spec mover;
  mover.stream = names.advisories_stream();
  mover.durable = wire::subjects::dead_letter_consumer();
  mover.filter_subject = names.max_deliveries_advisories();
  mover.ack_wait = std::chrono::milliseconds{30'000};
  mover.max_deliver = -1;
  mover.max_ack_pending = 1000;
  t.consumers.push_back(mover);

  for (const auto& role : cfg.roles) {
    consumer_spec c;
    c.stream = names.tasks_stream();
    c.durable = wire::subjects::consumer(role);
    c.filter_subject = names.task_filter(role);
    c.ack_wait = cfg.ack_wait;
    c.max_deliver = cfg.max_deliver;
    c.backoff = cfg.backoff;
    c.max_ack_pending = cfg.max_ack_pending;
    t.consumers.push_back(c);
  }
  return t;
}

expected<std::vector<applied>> apply(const connection& conn, const topology& t, apply_mode mode) {
  std::vector<applied> out;
  for (const auto& s : t.streams) {
    auto r = apply_stream(conn, s, mode);
    if (!r)
      return r.error();
    out.push_back(std::move(*r));
  }
  for (const auto& c : t.consumers) {
    auto r = apply_consumer(conn, c, mode);
    if (!r)
      return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

} // namespace smith::transport
