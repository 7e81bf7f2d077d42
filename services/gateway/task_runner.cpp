#include "services/gateway/task_runner.hpp"

#include "services/orchestrator/api_error.hpp"
#include "services/orchestrator/task_ids.hpp"
#include "transport/clock.hpp"
#include "transport/subscription.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace smith::services::gateway {

using json = nlohmann::json;
namespace tp = smith::transport;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// What the subscriptions bring, taken by the waiting thread: a result is there to be read,
// and progress events in order.
struct inbox {
  std::mutex mtx;
  std::condition_variable cv;
  bool result = false;
  std::deque<std::pair<double, std::string>> progress;
};

tool_outcome outcome_of(const json& st, const std::string& id) {
  auto state = st.value("state", "");
  tool_outcome o;
  o.task_id = id;
  if (state == "succeeded") {
    o.how = tool_outcome::kind::succeeded;
    o.output = st.contains("output") ? st["output"].get<std::string>()
                                     : st.value("output_base64", std::string{});
    return o;
  }
  o.error = st.value("error", "");
  o.how = state == "dead"        ? tool_outcome::kind::dead
          : state == "cancelled" ? tool_outcome::kind::cancelled
                                 : tool_outcome::kind::failed;
  return o;
}

bool finished(const json& st) {
  auto state = st.value("state", "");
  return state == "succeeded" || state == "failed" || state == "dead" || state == "cancelled";
}

} // namespace

task_runner::task_runner(std::shared_ptr<transport::connection> conn,
                         std::shared_ptr<orchestrator::task_service> tasks)
  : conn_(std::move(conn)), tasks_(std::move(tasks)) {
}

std::string task_runner::submit(const tool& t, const json& arguments, const std::string& task_id) {
  try {
    (void)tasks_->submit(json{
      {"role", t.role}, {"type", t.type}, {"id", task_id}, {"payload", payload_for(t, arguments)}});
    return {};
  } catch (const orchestrator::api_error& e) {
    return e.what();
  }
}

std::optional<task_view> task_runner::look(const std::string& task_id) {
  json st;
  try {
    st = tasks_->status(task_id);
  } catch (const orchestrator::api_error& e) {
    if (e.status() == 404)
      return std::nullopt;
    throw;
  }
  task_view v;
  v.state = st.value("state", "");
  v.finished = finished(st);
  if (v.finished)
    v.outcome = outcome_of(st, task_id);
  auto ms = [&](const char* key) { return st.value(key, std::int64_t{0}); };
  v.created_ms = ms("queued_ms") != 0 ? ms("queued_ms") : ms("started_ms");
  v.updated_ms = std::max({ms("queued_ms"), ms("started_ms"), ms("finished_ms")});
  if (v.created_ms == 0)
    v.created_ms = v.updated_ms = transport::unix_ms();
  if (v.state == "running" && st.contains("progress") && st["progress"].is_object()) {
    const auto& p = st["progress"];
    if (p.contains("percent") && p["percent"].is_number())
      v.message = std::to_string(p["percent"].get<int>()) + "%";
    if (p.contains("message") && p["message"].is_string())
      v.message += (v.message.empty() ? "" : " ") + p["message"].get<std::string>();
  }
  return v;
}

void task_runner::cancel(const std::string& task_id) {
  try {
    (void)tasks_->cancel(task_id);
  } catch (const orchestrator::api_error&) {
    // Finished already (409) or unknown (404): nothing to stop.
  }
}

tool_outcome task_runner::wait(const std::string& id, milliseconds timeout,
                               const std::function<void(double, const std::string&)>& progress,
                               const std::function<bool()>& stop) {
  const auto& names = tasks_->names();
  auto box = std::make_shared<inbox>();
  auto on_result =
    tp::subscription::create(conn_, names.result_of(id), [box](const tp::core_message&) {
      std::lock_guard guard{box->mtx};
      box->result = true;
      box->cv.notify_all();
    });
  auto on_event =
    tp::subscription::create(conn_, names.event(id), [box](const tp::core_message& m) {
      auto ev = json::parse(m.data, nullptr, false);
      if (!ev.is_object() || ev.value("kind", "") != "progress" || !ev["percent"].is_number())
        return;
      std::lock_guard guard{box->mtx};
      box->progress.emplace_back(ev["percent"].get<double>(), ev.value("message", ""));
      box->cv.notify_all();
    });
  auto deadline = steady_clock::now() + timeout;
  auto next_look = steady_clock::now(); // the status is read at once: a result may be stored
  while (true) {
    if (steady_clock::now() >= next_look) {
      try {
        auto st = tasks_->status(id);
        if (finished(st))
          return outcome_of(st, id);
      } catch (const std::exception&) {
        // NATS away for a moment: look again below.
      }
      next_look = steady_clock::now() + milliseconds{1000};
    }
    if (stop())
      return tool_outcome{tool_outcome::kind::cancelled, "", "", id};
    if (steady_clock::now() >= deadline)
      return tool_outcome{tool_outcome::kind::timed_out, "", "", id};
    std::deque<std::pair<double, std::string>> steps;
    {
      std::unique_lock lock{box->mtx};
      box->cv.wait_for(lock, milliseconds{50},
                       [&] { return box->result || !box->progress.empty(); });
      if (box->result) {
        box->result = false;
        next_look = steady_clock::now();
      }
      steps.swap(box->progress);
    }
    for (const auto& [percent, message] : steps)
      progress(percent, message);
  }
}

} // namespace smith::services::gateway
