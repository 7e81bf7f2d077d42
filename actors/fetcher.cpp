#include "actors/fetcher.hpp"

#include "actors/messages.hpp"

#include <spdlog/spdlog.h>

namespace smith::actors {

fetcher::fetcher(std::unique_ptr<transport::pull_consumer> consumer, caf::actor dispatcher,
                 std::chrono::milliseconds expiry)
  : consumer_(std::move(consumer)), dispatcher_(std::move(dispatcher)), expiry_(expiry) {
  thread_ = std::thread{[this] { run(); }};
}

fetcher::~fetcher() {
  stop();
}

void fetcher::set_capacity(std::int64_t idle) {
  {
    std::lock_guard guard{mtx_};
    capacity_ = idle;
  }
  cv_.notify_one();
}

void fetcher::delivered() {
  {
    std::lock_guard guard{mtx_};
    --in_transit_;
  }
  cv_.notify_one();
}

void fetcher::stop() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void fetcher::hand_over(std::vector<transport::message>& batch) {
  {
    std::lock_guard guard{mtx_};
    in_transit_ += static_cast<std::int64_t>(batch.size());
  }
  for (auto& m : batch)
    caf::anon_send(dispatcher_, deliver_atom::value,
                   std::make_shared<transport::message>(std::move(m)));
}

void fetcher::run() {
  for (;;) {
    std::size_t want = 0;
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] { return stop_ || capacity_ - in_transit_ > 0; });
      if (stop_)
        break;
      want = static_cast<std::size_t>(capacity_ - in_transit_);
    }
    auto batch = consumer_->fetch(want, expiry_);
    if (!batch) {
      spdlog::warn(R"({{"msg":"fetch failed","error_type":"{}","error":"{}"}})",
                   transport::to_string(batch.error().code()), batch.error().message());
      std::unique_lock lock{mtx_};
      cv_.wait_for(lock, std::chrono::milliseconds{250}, [this] { return stop_; });
      continue;
    }
    hand_over(*batch);
  }
  // Deliveries already in hand go to the dispatcher rather than waiting out AckWait.
  if (auto left = consumer_->buffered(); left > 0)
    if (auto rest = consumer_->fetch(left, std::chrono::milliseconds{1}); rest)
      hand_over(*rest);
}

} // namespace smith::actors
