// The dashboard's live views as Server-Sent Events under /v1/stream/ (docs/DASHBOARD.md):
// the overview (queues, workers, throughput) every 2 s, and one task's status on each change
// until it ends. Without `Accept: text/event-stream` a route answers one JSON snapshot.
#pragma once

#include "services/common/http_server.hpp"
#include "services/orchestrator/task_service.hpp"
#include "services/orchestrator/throughput.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace smith::services::orchestrator {

class live_streams {
public:
  /// Streams open at once, at most (each holds a server thread); past it 503 `busy`.
  static constexpr int max_clients = 8;
  static constexpr std::chrono::milliseconds overview_every{2000};
  /// How often a task stream reads the task's status, and sends a keep-alive comment.
  static constexpr std::chrono::milliseconds task_poll{500};
  static constexpr std::chrono::milliseconds keep_alive{15000};

  /// `token`: the API's bearer token (empty: none asked).
  live_streams(task_service& service, const throughput& counts, std::string token);

  /// The route to add to the server's endpoints: every method on /v1/stream/...
  common::stream_route route();

  /// Ends every open stream now and refuses new ones (503 `unavailable`).
  void stop();

  /// {queues, workers, throughput: {bucket_s, end_ms, roles: {role: [counts]}}}: read at most
  /// once a second, whatever the number of streams.
  nlohmann::json overview();

private:
  common::stream_reply serve(const common::stream_request& req);
  common::stream_reply overview_stream();
  common::stream_reply task_stream(const std::string& id);
  /// Waits `d`; false once stopping.
  bool pause(std::chrono::milliseconds d);
  bool stopping() const;

  task_service& service_;
  const throughput& counts_;
  std::string token_;
  mutable std::mutex mtx_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point read_at_;
  nlohmann::json last_;
  std::mutex overview_mtx_; // one reader of the queues at a time
};

} // namespace smith::services::orchestrator
