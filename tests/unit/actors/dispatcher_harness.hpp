// The dispatcher without a server: a recorder stands in for NATS (the port's stores, events
// and fetch capacity, and the task messages' acknowledgements), scripted workers answer when a
// test says so, and the test plays the fetch thread and the publisher by sending the dispatcher
// their messages (deliver_atom, stored_atom, settled_atom).
#pragma once

#include "actors/dispatcher.hpp"
#include "actors/messages.hpp"
#include "transport/library.hpp"
#include "transport/message.hpp"
#include "transport/wire/envelope.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace smith::testing {

using namespace std::chrono_literals;

/// What the dispatcher did to the world, in order.
class recorder final : public transport::ack_sink, public actors::dispatcher_port {
public:
  // -- ack_sink: "<body> <stream seq> dc<delivery count>[ confirmed]" ----------------------

  transport::expected<void> send_ack(const char* reply, std::string_view body,
                                     std::string_view confirm_to) override {
    auto info = transport::parse_ack_subject(reply);
    REQUIRE(info);
    record(acks_, std::string{body} + " " + std::to_string(info->stream_sequence) + " dc"
                    + std::to_string(info->delivery_count)
                    + (confirm_to.empty() ? "" : " confirmed"));
    return {};
  }

  transport::expected<void> request_ack(const char* reply, std::string_view body,
                                        std::chrono::milliseconds) override {
    return send_ack(reply, body, "sync");
  }

  // -- dispatcher_port ----------------------------------------------------------------------

  transport::expected<void> store(const transport::outgoing& out, std::uint64_t ref) override {
    std::lock_guard guard{mtx_};
    stores_.push_back({out, ref});
    cv_.notify_all();
    return {};
  }

  void flush_soon() override {
    std::lock_guard guard{mtx_};
    ++flushes_;
    cv_.notify_all();
  }

  void wait_stored(std::chrono::milliseconds) override {
  }

  void announce(const std::string& subject, const std::string& body) override {
    std::lock_guard guard{mtx_};
    events_.push_back(subject);
    bodies_.push_back(body);
    cv_.notify_all();
  }

  void set_capacity(std::int64_t deliveries) override {
    std::lock_guard guard{mtx_};
    capacity_ = deliveries;
    cv_.notify_all();
  }

  void delivered(const actors::delivery_batch&) override {
  }

  void stop_fetching() override {
    std::lock_guard guard{mtx_};
    stopped_ = true;
    cv_.notify_all();
  }

  std::string confirm_to(std::uint64_t seq) override {
    return "confirm." + std::to_string(seq);
  }

  // -- reading it ---------------------------------------------------------------------------

  struct stored {
    transport::outgoing out;
    std::uint64_t ref = 0;
  };

  /// Waits until `pred(*this)` holds (10 s at most).
  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock lock{mtx_};
    return cv_.wait_for(lock, 10s, [&] { return pred(*this); });
  }

  // Under wait()'s lock, or once the dispatcher is quiet.
  const std::vector<std::string>& acks() const {
    return acks_;
  }

  const std::vector<stored>& stores() const {
    return stores_;
  }

  const std::vector<std::string>& events() const {
    return events_;
  }

  /// The bodies of events() (and of answers to task pings), in the same order.
  std::vector<std::string> events_now() {
    std::lock_guard guard{mtx_};
    return events_;
  }

  std::vector<std::string> bodies_now() {
    std::lock_guard guard{mtx_};
    return bodies_;
  }

  std::int64_t capacity() const {
    return capacity_;
  }

  bool stopped() const {
    return stopped_;
  }

  /// How many times the dispatcher asked for its stores to be written at once.
  int flushes() const {
    return flushes_;
  }

  bool acked(const std::string& line) const {
    return std::find(acks_.begin(), acks_.end(), line) != acks_.end();
  }

  /// A copy, taken under the lock.
  std::vector<std::string> acks_now() {
    std::lock_guard guard{mtx_};
    return acks_;
  }

  std::vector<stored> stores_now() {
    std::lock_guard guard{mtx_};
    return stores_;
  }

private:
  void record(std::vector<std::string>& into, std::string line) {
    std::lock_guard guard{mtx_};
    into.push_back(std::move(line));
    cv_.notify_all();
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> acks_;
  std::vector<stored> stores_;
  std::vector<std::string> events_;
  std::vector<std::string> bodies_;
  std::int64_t capacity_ = -1;
  bool stopped_ = false;
  int flushes_ = 0;
};

/// A job a scripted worker got, and the worker, which answers for it.
struct handed {
  caf::actor worker;
  actors::job j;
};

/// The dispatcher of role "test" with `workers` scripted workers (concurrency), over a recorder.
class dispatcher_harness {
public:
  explicit dispatcher_harness(int workers = 1);
  ~dispatcher_harness();

  dispatcher_harness(const dispatcher_harness&) = delete;
  dispatcher_harness& operator=(const dispatcher_harness&) = delete;

  /// A task message at stream sequence `seq`, delivered for the `count`th time, decoded as the
  /// fetch thread would.
  actors::delivery delivery(std::uint64_t seq, const transport::wire::task& t,
                            std::uint64_t count = 1) const;

  /// Hands the dispatcher one fetch's worth, as the fetch thread does.
  void deliver(std::vector<actors::delivery> items);

  /// The next job a worker got (waits up to 10 s; a test fails without one).
  handed next_job();

  /// Whether a job is waiting to be taken by next_job().
  bool job_waiting();

  /// The worker of `h` answers for its job.
  void finish(const handed& h, actors::outcome result);

  /// The publisher reports the store of attempt `seq`.
  void stored(std::uint64_t seq, bool ok, bool retryable = false);

  /// Decodes the body of a stored result.
  static transport::wire::result result_of(const recorder::stored& s);

  transport::library lib;
  std::shared_ptr<recorder> rec = std::make_shared<recorder>();
  caf::actor_system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  caf::scoped_actor self{sys};
  caf::actor dispatcher;

private:
  struct job_queue {
    std::mutex mtx;
    std::condition_variable cv;
    std::deque<handed> jobs;
  };

  std::shared_ptr<job_queue> jobs_ = std::make_shared<job_queue>();
  std::vector<caf::actor> workers_;
};

/// A task of type "echo" with id `id`.
transport::wire::task echo_task(const std::string& id);

} // namespace smith::testing
