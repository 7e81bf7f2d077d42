#include "actors/handlers/process_pool.hpp"

#include "actors/handlers/handler_frames.hpp"
#include "actors/handlers/live_child.hpp"
#include "transport/wire/utf8.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <deque>
#include <filesystem>
#include <stdexcept>

#include <poll.h>
#include <unistd.h>

namespace smith::actors::handlers {

namespace {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr std::size_t max_stderr_line = 4096;

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Texts go into results, logs and metrics, which are UTF-8: a process's bytes are made so.
outcome outcome_of(const frames::result& r) {
  using transport::wire::to_utf8_lossy;
  auto error = to_utf8_lossy(r.error);
  auto type = to_utf8_lossy(r.error_type.substr(0, 64));
  switch (r.how) {
    case frames::result::status::succeeded:
      return outcome::success(r.output);
    case frames::result::status::failed:
      return outcome::failure(error, type.empty() ? "failed" : type, r.output);
    case frames::result::status::retry:
      break;
  }
  return outcome::retry_later(error, type.empty() ? "retry" : type);
}

} // namespace

struct process_pool::pending {
  std::uint64_t seq = 0;
  std::string id;
  bool done = false;
  outcome result;
  std::deque<std::pair<int, std::string>> progress;
  bool cancel_sent = false;
};

struct process_pool::process {
  std::unique_ptr<live_child> child;
  std::uint32_t capacity = 1;
  std::vector<std::string> types;
  std::map<std::uint64_t, std::shared_ptr<pending>> running; ///< guarded by the pool's mtx_
  bool dead = false;                                         ///< guarded by the pool's mtx_
  std::mutex write_mtx;                                      ///< one frame at a time

  bool send(const std::string& frame) {
    std::lock_guard guard{write_mtx};
    return child->write(frame);
  }

  bool handles(std::string_view type) const {
    return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
  }
};

process_pool::process_pool(process_pool_config cfg) : cfg_(std::move(cfg)) {
  // A process that has gone leaves its stdin pipe without a reader: writing to it must give
  // EPIPE, not end the worker. (Programs start with default signal handling: child_launch.)
  std::signal(SIGPIPE, SIG_IGN);
}

process_pool::~process_pool() {
  stop();
}

void process_pool::stop() {
  stopping_ = true;
  cv_.notify_all();
}

outcome process_pool::run(task_context& ctx) {
  const auto& task = ctx.task();
  std::unique_lock lock{mtx_};
  std::shared_ptr<process> p;
  for (;;) {
    for (const auto& c : live_)
      if (!c->dead && c->running.size() < c->capacity && c->handles(task.type)) {
        p = c;
        break;
      }
    if (p)
      break;
    if (ctx.cancelled())
      return outcome::failure("cancelled", "cancelled");
    if (stopping_)
      return outcome::retry_later("the worker is stopping", "draining");
    if (!live_.empty() && std::none_of(live_.begin(), live_.end(), [&](const auto& c) {
          return c->handles(task.type);
        }))
      return outcome::failure("no handler process handles type " + task.type, "unknown_type");
    cv_.wait_for(lock, milliseconds{20});
  }
  auto pd = std::make_shared<pending>();
  pd->seq = next_seq_++;
  pd->id = task.id;
  p->running[pd->seq] = pd;
  lock.unlock();
  // A failed write means the process is going: its serve() buries it, which ends this task.
  (void)p->send(frames::encode(frames::task_frame{pd->seq, task.id, task.type, task.payload,
                                                  ctx.attempt(), task.meta, task.deadline_ms}));
  lock.lock();
  auto kill_at = clock_type::time_point::max();
  while (!pd->done) {
    if (!pd->progress.empty()) {
      auto [percent, message] = std::move(pd->progress.front());
      pd->progress.pop_front();
      lock.unlock();
      ctx.progress(percent, message);
      lock.lock();
      continue;
    }
    if (ctx.cancelled() && !pd->cancel_sent) {
      pd->cancel_sent = true;
      kill_at = clock_type::now() + cfg_.cancel_grace;
      auto reason = task.deadline_ms && now_ms() >= *task.deadline_ms ? "deadline" : "cancelled";
      lock.unlock();
      (void)p->send(frames::encode(frames::cancel_frame{pd->seq, reason}));
      lock.lock();
      continue;
    }
    if (clock_type::now() >= kill_at) {
      // The process did not answer its cancel in time: it goes, with its other tasks.
      kill_at = clock_type::time_point::max();
      p->child->stop();
    }
    cv_.wait_for(lock, milliseconds{20});
  }
  return pd->result;
}

void process_pool::bury(const std::shared_ptr<process>& p, const std::string& why) {
  std::lock_guard guard{mtx_};
  p->dead = true;
  std::erase(live_, p);
  for (auto& [seq, pd] : p->running) {
    pd->done = true;
    pd->result = pd->cancel_sent
                   ? outcome::failure("cancelled", "cancelled")
                   : outcome::retry_later("handler process " + why, "handler_crashed");
  }
  p->running.clear();
  cv_.notify_all();
}

std::string process_pool::serve(std::size_t slot) {
  if (stopping_)
    return {};
  child_spec spec;
  spec.path = cfg_.path;
  spec.argv = cfg_.argv;
  spec.env = cfg_.env;
  spec.cwd = cfg_.cwd;
  spec.limits = cfg_.limits;
  std::string error;
  auto p = std::make_shared<process>();
  p->child = live_child::start(spec, error);
  if (!p->child)
    return "handler process " + std::to_string(slot) + " could not start: " + error;
  const pid_t pid = p->child->pid();
  frames::reader frames_in;
  std::string err_line;
  bool said_hello = false;
  bool stdin_closed = false;
  auto hello_by = clock_type::now() + cfg_.hello_timeout;
  auto kill_at = clock_type::time_point::max();
  std::string why;
  // One frame from the process; false (with `why`) when it breaks the protocol.
  auto take = [&](const std::string& body) {
    auto d = frames::decode(body);
    if (!d.value) {
      why = "broke the protocol: " + d.error;
      return false;
    }
    if (auto* h = std::get_if<frames::hello>(&*d.value)) {
      if (said_hello || h->protocol != frames::protocol_version) {
        why = said_hello ? "broke the protocol: a second hello"
                         : "speaks protocol " + std::to_string(h->protocol)
                             + "; this worker speaks " + std::to_string(frames::protocol_version);
        return false;
      }
      said_hello = true;
      p->capacity = h->concurrency;
      p->types = h->types;
      std::lock_guard guard{mtx_};
      live_.push_back(p);
      cv_.notify_all();
      return true;
    }
    if (!said_hello) {
      why = "broke the protocol: its first frame is not hello";
      return false;
    }
    std::lock_guard guard{mtx_};
    if (auto* pr = std::get_if<frames::progress>(&*d.value)) {
      if (auto it = p->running.find(pr->seq); it != p->running.end())
        it->second->progress.emplace_back(pr->percent, transport::wire::to_utf8_lossy(pr->message));
    } else if (auto* l = std::get_if<frames::log_line>(&*d.value)) {
      std::string id;
      if (l->seq)
        if (auto it = p->running.find(*l->seq); it != p->running.end())
          id = it->second->id;
      if (cfg_.on_log)
        cfg_.on_log(pid, id, l->level, transport::wire::to_utf8_lossy(l->message));
    } else if (auto* r = std::get_if<frames::result>(&*d.value)) {
      auto it = p->running.find(r->seq);
      if (it == p->running.end()) {
        why = "broke the protocol: a result for seq " + std::to_string(r->seq)
              + ", which is not running";
        return false;
      }
      it->second->done = true;
      it->second->result = outcome_of(*r);
      p->running.erase(it);
    }
    cv_.notify_all();
    return true;
  };
  auto flush_line = [&] {
    if (cfg_.on_stderr && !err_line.empty())
      cfg_.on_stderr(pid, transport::wire::to_utf8_lossy(err_line));
    err_line.clear();
  };
  bool out_open = true;
  bool err_open = true;
  while (why.empty()) {
    auto now = clock_type::now();
    if (!said_hello && now >= hello_by) {
      why = "said no hello within " + std::to_string(cfg_.hello_timeout.count()) + " ms";
      break;
    }
    if (now >= kill_at)
      break; // stopping: it had its grace
    if (stopping_ && !stdin_closed) {
      std::unique_lock lock{mtx_};
      if (p->running.empty() || !said_hello) {
        lock.unlock();
        std::lock_guard guard{p->write_mtx};
        p->child->close_stdin();
        stdin_closed = true;
        kill_at = now + cfg_.stop_grace;
      }
    }
    if (!out_open) {
      why = stopping_ ? "" : "closed its stdout";
      break;
    }
    // A closed stderr is polled no more (-1 is skipped): it would wake poll() at once forever.
    std::array<pollfd, 2> fds{pollfd{p->child->stdout_fd(), POLLIN, 0},
                              pollfd{err_open ? p->child->stderr_fd() : -1, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), 50) <= 0)
      continue;
    std::array<char, 65536> buf; // uninitialised on purpose: read() fills it
    if (fds[1].revents != 0) {
      auto n = ::read(p->child->stderr_fd(), buf.data(), buf.size());
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        err_open = false;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[static_cast<std::size_t>(i)] == '\n')
          flush_line();
        else if (err_line.size() < max_stderr_line)
          err_line += buf[static_cast<std::size_t>(i)];
      }
    }
    if (fds[0].revents != 0) {
      auto n = ::read(p->child->stdout_fd(), buf.data(), buf.size());
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        out_open = false;
        continue;
      }
      if (n > 0)
        frames_in.feed({buf.data(), static_cast<std::size_t>(n)});
      while (why.empty())
        if (auto body = frames_in.next()) {
          if (!take(*body))
            break;
        } else {
          break;
        }
      if (why.empty() && !frames_in.error().empty())
        why = "broke the protocol: " + frames_in.error();
    }
  }
  flush_line();
  p->child->stop();
  auto ending = p->child->reap();
  if (why.empty() && stopping_) {
    bury(p, "stopped with the worker (" + ending + ")");
    return {};
  }
  why = "pid " + std::to_string(pid) + " " + (why.empty() ? "ended" : why) + " (" + ending + ")";
  bury(p, why);
  return why;
}

handler_fn make_process_handler(std::shared_ptr<process_pool> pool) {
  return [pool = std::move(pool)](task_context& ctx) { return pool->run(ctx); };
}

std::vector<std::string> handler_command(std::string_view command, std::string_view path_env,
                                         std::string& program) {
  std::vector<std::string> argv;
  std::string word;
  for (char c : command) {
    if (c == ' ' || c == '\t') {
      if (!word.empty())
        argv.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty())
    argv.push_back(std::move(word));
  if (argv.empty())
    throw std::invalid_argument("the handler process command is empty");
  auto runnable = [](const std::filesystem::path& p) {
    std::error_code ec; // a directory we may not enter is no match, not an error
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (argv[0].find('/') != std::string::npos) {
    std::error_code ec;
    program = std::filesystem::absolute(argv[0], ec).string();
    if (!runnable(program))
      throw std::invalid_argument("the handler process program " + argv[0]
                                  + " is not an executable file");
    return argv;
  }
  std::size_t start = 0;
  while (start <= path_env.size()) {
    auto end = path_env.find(':', start);
    auto dir = path_env.substr(start, end == std::string_view::npos ? end : end - start);
    if (!dir.empty() && runnable(std::filesystem::path{dir} / argv[0])) {
      program = (std::filesystem::path{dir} / argv[0]).string();
      return argv;
    }
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  throw std::invalid_argument("the handler process program " + argv[0] + " is not in PATH");
}

} // namespace smith::actors::handlers
