#include "transport/topology.hpp"
#include "transport/nats_error.hpp"

#include "transport/connection.hpp"
#include "transport/wire/subjects.hpp"

#include <algorithm>

namespace smith::transport {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

namespace {

std::int64_t ns(milliseconds d) {
  return duration_cast<nanoseconds>(d).count();
}

std::string_view name_of(jsRetentionPolicy p) {
  switch (p) {
    case js_LimitsPolicy:
      return "limits";
    case js_InterestPolicy:
      return "interest";
    case js_WorkQueuePolicy:
      return "workqueue";
  }
  return "unknown";
}

jsRetentionPolicy to_native(retention r) {
  return r == retention::work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
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

struct native_stream {
  jsStreamConfig cfg;
  std::vector<const char*> subjects;
};

void fill(native_stream& n, const stream_spec& s) {
  jsStreamConfig_Init(&n.cfg);
  n.subjects.clear();
  for (const auto& subj : s.subjects)
    n.subjects.push_back(subj.c_str());
  n.cfg.Name = s.name.c_str();
  n.cfg.Subjects = n.subjects.data();
  n.cfg.SubjectsLen = static_cast<int>(n.subjects.size());
  n.cfg.Retention = to_native(s.retention);
  n.cfg.Storage = js_FileStorage;
  n.cfg.Replicas = s.replicas;
  n.cfg.MaxAge = ns(s.max_age);
  n.cfg.MaxMsgs = s.max_msgs;
  n.cfg.Discard = s.discard_new ? js_DiscardNew : js_DiscardOld;
  n.cfg.MaxMsgSize = s.max_msg_size;
  n.cfg.Duplicates = ns(s.duplicate_window);
  n.cfg.AllowDirect = s.allow_direct;
}

// Returns the fields that differ, or the error for one that cannot change.
expected<std::vector<std::string>> diff(const jsStreamConfig& have, const jsStreamConfig& want) {
  std::string what = std::string{"stream "} + want.Name;
  if (have.Retention != want.Retention)
    return conflict(what, "retention", name_of(have.Retention), name_of(want.Retention));
  if (have.Storage != want.Storage)
    return conflict(what, "storage", have.Storage == js_FileStorage ? "file" : "memory",
                    want.Storage == js_FileStorage ? "file" : "memory");
  std::vector<std::string> fields;
  std::vector<std::string> have_subjects(have.Subjects, have.Subjects + have.SubjectsLen);
  std::vector<std::string> want_subjects(want.Subjects, want.Subjects + want.SubjectsLen);
  std::sort(have_subjects.begin(), have_subjects.end());
  std::sort(want_subjects.begin(), want_subjects.end());
  if (have_subjects != want_subjects)
    fields.emplace_back("subjects");
  if (have.Replicas != want.Replicas)
    fields.emplace_back("num_replicas");
  if (have.MaxAge != want.MaxAge)
    fields.emplace_back("max_age");
  if (have.MaxMsgs != want.MaxMsgs)
    fields.emplace_back("max_msgs");
  if (have.Discard != want.Discard)
    fields.emplace_back("discard");
  if (have.MaxMsgSize != want.MaxMsgSize)
    fields.emplace_back("max_msg_size");
  if (have.Duplicates != want.Duplicates)
    fields.emplace_back("duplicate_window");
  if (have.AllowDirect != want.AllowDirect)
    fields.emplace_back("allow_direct");
  return fields;
}

expected<applied> apply_stream(const connection& conn, const stream_spec& spec, apply_mode mode) {
  native_stream want;
  fill(want, spec);
  applied out{"stream", spec.name, applied::change::unchanged, {}};
  jsStreamInfo* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  auto st = js_GetStreamInfo(&raw, conn.jetstream(), spec.name.c_str(), nullptr, &jerr);
  stream_info_handle info{raw};
  if (st == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    jsStreamInfo* created = nullptr;
    jerr = static_cast<jsErrCode>(0);
    st = js_AddStream(&created, conn.jetstream(), &want.cfg, nullptr, &jerr);
    stream_info_handle hold{created};
    if (st != NATS_OK)
      return from_nats(st, "create stream " + spec.name, jerr);
    out.what = applied::change::created;
    return out;
  }
  if (st != NATS_OK)
    return from_nats(st, "read stream " + spec.name, jerr);
  auto fields = diff(*info->Config, want.cfg);
  if (!fields)
    return fields.error();
  if (fields->empty())
    return out;
  if (mode == apply_mode::create_only)
    return drifted(std::move(out), std::move(*fields));
  jsStreamInfo* updated = nullptr;
  jerr = static_cast<jsErrCode>(0);
  st = js_UpdateStream(&updated, conn.jetstream(), &want.cfg, nullptr, &jerr);
  stream_info_handle hold{updated};
  if (st != NATS_OK) {
    std::string list;
    for (const auto& f : *fields)
      list += (list.empty() ? "" : ", ") + f;
    return from_nats(st, "update stream " + spec.name + " (fields " + list + ")", jerr);
  }
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

topology declare(const topology_config& cfg) {
  wire::subjects names{cfg.prefix};
  topology t;
  stream_spec tasks;
  tasks.name = names.tasks_stream();
  tasks.subjects = {names.all_tasks()};
  tasks.retention = retention::work_queue;
  tasks.replicas = cfg.replicas;
  tasks.max_msgs = cfg.max_tasks;
  tasks.discard_new = cfg.max_tasks > 0; // a full queue refuses new tasks, never drops old ones
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
