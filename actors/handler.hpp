// The handler API: what a task type runs. A user's own worker binary registers functions with
// `registry.add("thumbnail", fn)`; the built-in types (echo, sleep, fail, hash, exec) are
// registered the same way.
#pragma once

#include "transport/wire/envelope.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace smith::actors {

/// What a handler sees of the task it runs.
class task_context {
public:
  using progress_fn = std::function<void(int percent, std::string_view message)>;

  task_context(const transport::wire::task& task, std::uint32_t attempt,
               const std::atomic<bool>& cancelled, progress_fn progress = {})
    : task_(task), attempt_(attempt), cancelled_(cancelled), progress_(std::move(progress)) {
  }

  const transport::wire::task& task() const noexcept {
    return task_;
  }

  std::string_view payload() const noexcept {
    return task_.payload;
  }

  /// 1 on the first delivery.
  std::uint32_t attempt() const noexcept {
    return attempt_;
  }

  /// Set when the task is cancelled or its deadline passed: a long handler polls it and stops.
  bool cancelled() const noexcept {
    return cancelled_.load(std::memory_order_relaxed);
  }

  const std::atomic<bool>& cancel_flag() const noexcept {
    return cancelled_;
  }

  /// Reports progress (0-100) to subscribers of <prefix>.event.<id>.
  void progress(int percent, std::string_view message = {}) const {
    if (progress_)
      progress_(percent, message);
  }

private:
  const transport::wire::task& task_;
  std::uint32_t attempt_;
  const std::atomic<bool>& cancelled_;
  progress_fn progress_;
};

/// How an attempt ended.
struct outcome {
  enum class kind : std::uint8_t {
    /// Done: ack and publish a successful result.
    succeeded,
    /// Failed, worth another attempt: nak with backoff (MaxDeliver counts it).
    retry,
    /// Failed for good (bad input, refused program): term, failed result, dead letter.
    fail,
  };

  kind what = kind::succeeded;
  std::string output;     ///< result bytes (success) or detail (failure)
  std::string error;      ///< what went wrong, for a person
  std::string error_type; ///< a short stable name for logs and metrics, e.g. "timeout"

  static outcome success(std::string output) {
    return {kind::succeeded, std::move(output), {}, {}};
  }

  static outcome retry_later(std::string error, std::string error_type) {
    return {kind::retry, {}, std::move(error), std::move(error_type)};
  }

  static outcome failure(std::string error, std::string error_type, std::string output = {}) {
    return {kind::fail, std::move(output), std::move(error), std::move(error_type)};
  }
};

/// A handler. It may throw: that is a failed attempt (retried), and the worker actor that ran
/// it is restarted by its supervisor.
using handler_fn = std::function<outcome(task_context&)>;

} // namespace smith::actors
