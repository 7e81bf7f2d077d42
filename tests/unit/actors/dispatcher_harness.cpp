#include "dispatcher_harness.hpp"

#include "actors/metrics.hpp"
#include "transport/handle.hpp"
#include "transport/wire/subjects.hpp"

#include <nats/nats.h>

namespace smith::testing {

namespace {

// Registers with the dispatcher, queues each job it gets for the test, and relays the test's
// answer (done_atom) to the dispatcher as its own, as a real worker would send it.
caf::behavior scripted_worker(caf::event_based_actor* self, caf::actor dispatcher,
                              std::function<void(handed)> got) {
  self->send(dispatcher, actors::register_atom::value, caf::actor_cast<caf::actor>(self));
  return {
    [self, got](actors::run_atom, const actors::job& j) {
      got({caf::actor_cast<caf::actor>(self), j});
    },
    [self, dispatcher](actors::done_atom, actors::job_done& d) {
      self->send(dispatcher, actors::done_atom::value, std::move(d));
    },
  };
}

} // namespace

transport::wire::task echo_task(const std::string& id) {
  transport::wire::task t;
  t.id = id;
  t.type = "echo";
  t.payload = "p-" + id;
  t.created_ms = 1;
  return t;
}

dispatcher_harness::dispatcher_harness(int workers) {
  actors::dispatcher_config cfg;
  cfg.role = "test";
  cfg.worker_name = "unit:1";
  cfg.names = transport::wire::subjects{"smith"};
  cfg.ack_wait = 30s; // heartbeats every 10 s: none in these tests
  cfg.max_deliver = 3;
  cfg.stats = std::make_shared<actors::metrics>("test");
  cfg.port = rec;
  dispatcher = actors::spawn_dispatcher(self.ptr(), cfg);
  auto queue = jobs_;
  for (int i = 0; i < workers; ++i)
    workers_.push_back(self->spawn(scripted_worker, dispatcher, [queue](handed h) {
      std::lock_guard guard{queue->mtx};
      queue->jobs.push_back(std::move(h));
      queue->cv.notify_all();
    }));
}

dispatcher_harness::~dispatcher_harness() {
  for (auto& w : workers_)
    self->send_exit(w, caf::exit_reason::user_shutdown);
  self->send_exit(dispatcher, caf::exit_reason::user_shutdown);
}

actors::delivery dispatcher_harness::delivery(std::uint64_t seq, const transport::wire::task& t,
                                              std::uint64_t count) const {
  auto body = transport::wire::encode(t);
  auto reply = "$JS.ACK.SMITH_TASKS.role-test." + std::to_string(count) + "." + std::to_string(seq)
               + "." + std::to_string(seq) + ".0.0";
  natsMsg* raw = nullptr;
  auto subject = "smith.task.test." + t.type + "." + t.id;
  REQUIRE(
    natsMsg_Create(&raw, subject.c_str(), reply.c_str(), body.data(), static_cast<int>(body.size()))
    == NATS_OK);
  auto info = transport::parse_ack_subject(reply);
  REQUIRE(info);
  actors::delivery d;
  d.msg = std::make_shared<transport::message>(transport::msg_handle{raw}, rec, *info);
  auto decoded = transport::wire::decode_task(d.msg->data());
  if (decoded)
    d.task = std::make_shared<const transport::wire::task>(std::move(*decoded));
  else
    d.malformed = decoded.error().message();
  return d;
}

void dispatcher_harness::deliver(std::vector<actors::delivery> items) {
  caf::anon_send(dispatcher, actors::deliver_atom::value, actors::delivery_batch{std::move(items)});
}

handed dispatcher_harness::next_job() {
  std::unique_lock lock{jobs_->mtx};
  REQUIRE(jobs_->cv.wait_for(lock, 10s, [&] { return !jobs_->jobs.empty(); }));
  auto h = std::move(jobs_->jobs.front());
  jobs_->jobs.pop_front();
  return h;
}

bool dispatcher_harness::job_waiting() {
  std::lock_guard guard{jobs_->mtx};
  return !jobs_->jobs.empty();
}

void dispatcher_harness::finish(const handed& h, actors::outcome result) {
  actors::job_done d;
  d.seq = h.j.seq;
  d.result = std::move(result);
  caf::anon_send(h.worker, actors::done_atom::value, std::move(d));
}

void dispatcher_harness::stored(std::uint64_t seq, bool ok, bool retryable) {
  caf::anon_send(dispatcher, actors::stored_atom::value,
                 actors::store_outcome{seq, ok, ok ? "" : "refused by the test", retryable});
}

transport::wire::result dispatcher_harness::result_of(const recorder::stored& s) {
  auto r = transport::wire::decode_result(s.out.body);
  REQUIRE(r);
  return *r;
}

} // namespace smith::testing
