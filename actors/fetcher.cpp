#include "actors/fetcher.hpp"

#include "actors/log.hpp"
#include "actors/messages.hpp"

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

void fetcher::delivered(std::uint64_t seq) {
  {
    std::lock_guard guard{mtx_};
    in_transit_.erase(seq);
  }
  cv_.notify_one();
}

void fetcher::stop() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  if (!thread_.joinable())
    return;
  thread_.join();
  // What the consumer holds, and what its open pull requests still bring, goes back at once.
  for (auto& m : consumer_->drain(expiry_ + std::chrono::milliseconds{100}))
    (void)m.nak();
  // Sent to the dispatcher, never read: it ends now (drained or crashed), and its mailbox with it.
  std::map<std::uint64_t, std::shared_ptr<transport::message>> left;
  {
    std::lock_guard guard{mtx_};
    left.swap(in_transit_);
  }
  for (auto& [seq, m] : left)
    (void)m->nak();
}

void fetcher::hand_over(std::vector<transport::message>& batch) {
  std::vector<std::shared_ptr<transport::message>> sent;
  sent.reserve(batch.size());
  {
    std::lock_guard guard{mtx_};
    for (auto& m : batch) {
      auto p = std::make_shared<transport::message>(std::move(m));
      // A redelivery of a sequence still in transit replaces it: one nak at most.
      in_transit_.insert_or_assign(p->stream_sequence(), p);
      sent.push_back(std::move(p));
    }
  }
  for (auto& p : sent)
    caf::anon_send(dispatcher_, deliver_atom::value, std::move(p));
}

void fetcher::run() {
  for (;;) {
    std::size_t want = 0;
    {
      std::unique_lock lock{mtx_};
      cv_.wait(lock, [this] {
        return stop_ || capacity_ - static_cast<std::int64_t>(in_transit_.size()) > 0;
      });
      if (stop_)
        break;
      want = static_cast<std::size_t>(capacity_ - static_cast<std::int64_t>(in_transit_.size()));
    }
    auto batch = consumer_->fetch(want, expiry_);
    if (!batch) {
      SMITH_LOG(log(), warn, "fetch failed",
                {"error_type", transport::to_string(batch.error().code())},
                {"error", batch.error().message()});
      std::unique_lock lock{mtx_};
      cv_.wait_for(lock, std::chrono::milliseconds{250}, [this] { return stop_; });
      continue;
    }
    hand_over(*batch);
  }
}

} // namespace smith::actors
