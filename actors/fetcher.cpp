#include "actors/fetcher.hpp"

#include "actors/log.hpp"
#include "actors/messages.hpp"

namespace smith::actors {

fetcher::fetcher(std::unique_ptr<transport::pull_consumer> consumer, caf::actor dispatcher,
                 std::chrono::milliseconds expiry, screen_fn screen)
  : consumer_(std::move(consumer)), dispatcher_(std::move(dispatcher)), expiry_(expiry),
    screen_(std::move(screen)) {
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

void fetcher::delivered(const delivery_batch& batch) {
  {
    std::lock_guard guard{mtx_};
    for (const auto& d : batch.items)
      // Only this very message: a redelivery of the same sequence may be in transit behind it.
      if (auto it = in_transit_.find(d.msg->stream_sequence());
          it != in_transit_.end() && it->second == d.msg)
        in_transit_.erase(it);
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
  delivery_batch sent;
  sent.items.reserve(batch.size());
  for (auto& m : batch)
    if (auto d = screen_(std::make_shared<transport::message>(std::move(m))))
      sent.items.push_back(std::move(*d));
  if (sent.items.empty())
    return;
  {
    std::lock_guard guard{mtx_};
    // A redelivery of a sequence still in transit replaces it: one nak at most.
    for (auto& d : sent.items)
      in_transit_.insert_or_assign(d.msg->stream_sequence(), d.msg);
  }
  caf::anon_send(dispatcher_, deliver_atom::value, std::move(sent));
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
