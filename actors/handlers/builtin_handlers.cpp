#include "actors/handlers/builtin_handlers.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <thread>

namespace smith::actors::handlers {

namespace {

// A number given as the whole payload ("250") or as one field of a JSON object.
std::optional<std::int64_t> number_in(std::string_view payload, const char* field) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), n);
  if (ec == std::errc{} && ptr == payload.data() + payload.size())
    return n;
  auto doc = nlohmann::json::parse(payload, nullptr, false);
  if (doc.is_object() && doc.contains(field) && doc[field].is_number_integer())
    return doc[field].get<std::int64_t>();
  return std::nullopt;
}

} // namespace

outcome echo_handler(task_context& ctx) {
  return outcome::success(std::string{ctx.payload()});
}

namespace {

// Sleeps `ms` in slices so a cancel or a deadline stops the task within ~10 ms; false when it
// was cancelled. With `report`, a long sleep reports its progress in steps of 10 %, so status
// and `smith watch` have something to show.
bool sleep_unless_cancelled(task_context& ctx, std::int64_t ms, bool report) {
  using clock_type = std::chrono::steady_clock;
  auto until = clock_type::now() + std::chrono::milliseconds{ms};
  auto begin = clock_type::now();
  int reported = 0;
  while (clock_type::now() < until) {
    if (ctx.cancelled())
      return false;
    if (report && ms >= 200) {
      auto pct = static_cast<int>((clock_type::now() - begin) * 100 / (until - begin));
      if (pct / 10 > reported / 10) {
        reported = pct / 10 * 10;
        ctx.progress(reported, "slept " + std::to_string(reported * ms / 100) + " ms");
      }
    }
    auto left = until - clock_type::now();
    std::this_thread::sleep_for(
      std::min<clock_type::duration>(left, std::chrono::milliseconds{10}));
  }
  return true;
}

} // namespace

outcome sleep_handler(task_context& ctx) {
  auto ms = number_in(ctx.payload(), "ms");
  if (!ms || *ms < 0)
    return outcome::failure("sleep: payload must be a non-negative integer of milliseconds or "
                            "{\"ms\": n}",
                            "bad_payload");
  if (!sleep_unless_cancelled(ctx, *ms, true))
    return outcome::failure("cancelled", "cancelled");
  return outcome::success("slept " + std::to_string(*ms) + " ms");
}

outcome fail_handler(task_context& ctx) {
  auto k = number_in(ctx.payload(), "fail_times");
  if (!k || *k < 0)
    return outcome::failure("fail: payload must be a non-negative integer or {\"fail_times\": k}",
                            "bad_payload");
  auto doc = nlohmann::json::parse(ctx.payload(), nullptr, false);
  if (doc.is_object() && doc.contains("ms")) {
    // {"ms": n}: each attempt works n ms first, as a task that fails late does (cancellable).
    if (!doc["ms"].is_number_integer() || doc["ms"].get<std::int64_t>() < 0)
      return outcome::failure("fail: \"ms\" must be a non-negative integer", "bad_payload");
    if (!sleep_unless_cancelled(ctx, doc["ms"].get<std::int64_t>(), false))
      return outcome::failure("cancelled", "cancelled");
  }
  if (static_cast<std::int64_t>(ctx.attempt()) <= *k) {
    auto why = "fail: attempt " + std::to_string(ctx.attempt()) + " of the " + std::to_string(*k)
               + " meant to fail";
    // By default the handler crashes (throws), so the worker actor is restarted too; with
    // {"mode": "error"} it returns a retryable error instead.
    if (doc.is_object() && doc.value("mode", "throw") == "error")
      return outcome::retry_later(why, "deliberate");
    throw std::runtime_error(why);
  }
  return outcome::success("succeeded on attempt " + std::to_string(ctx.attempt()));
}

} // namespace smith::actors::handlers
