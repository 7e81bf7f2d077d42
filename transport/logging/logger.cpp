#include "transport/logging/logger.hpp"

#include "transport/logging/encoder.hpp"

#include <spdlog/sinks/sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>

namespace smith::transport::logging {

namespace {

static_assert(static_cast<int>(level::trace) == spdlog::level::trace);
static_assert(static_cast<int>(level::warn) == spdlog::level::warn);
static_assert(static_cast<int>(level::error) == spdlog::level::err);
static_assert(static_cast<int>(level::fatal) == spdlog::level::critical);
static_assert(static_cast<int>(level::off) == spdlog::level::off);

spdlog::level::level_enum to_spdlog(level l) noexcept {
  return static_cast<spdlog::level::level_enum>(l);
}

// The one output all sinks share: whole lines, so lines never interleave (with each other, or
// with other whole-line writers of stdout such as the EMF metric lines). A busy worker logs a
// line per task: writing each at once would cost a system call per task, so those lines are
// gathered for about a millisecond by a writer thread and written together. Any other line is
// written at once, after those gathered before it; so is everything at exit and on flush().
struct output {
  static constexpr std::size_t write_at = std::size_t{64} * 1024;
  static constexpr auto gather = std::chrono::milliseconds{1};

  std::mutex mtx;
  std::condition_variable wake;
  std::FILE* file = stdout;
  std::string pending;
  bool writer = false;

  void write(std::string_view line, bool urgent) {
    std::lock_guard guard{mtx};
    bool was_empty = pending.empty();
    pending.append(line);
    if (urgent || pending.size() >= write_at) {
      write_pending();
      return;
    }
    if (!writer) {
      writer = true;
      std::atexit([] { the_output().flush(); });
      // Never joined: the output lives as long as the process.
      std::thread{[this] { gather_and_write(); }}.detach();
    }
    if (was_empty)
      wake.notify_one();
  }

  void flush() {
    std::lock_guard guard{mtx};
    write_pending();
  }

  // Under mtx.
  void write_pending() {
    if (!pending.empty())
      std::fwrite(pending.data(), 1, pending.size(), file);
    std::fflush(file);
    pending.clear();
  }

  [[noreturn]] void gather_and_write() {
    std::unique_lock lock{mtx};
    for (;;) {
      wake.wait(lock, [this] { return !pending.empty(); });
      lock.unlock();
      std::this_thread::sleep_for(gather);
      lock.lock();
      write_pending();
    }
  }

  static output& the_output();
};

// Never destroyed: threads may still log while static objects are torn down at exit.
output& output::the_output() {
  static auto* out = new output;
  return *out;
}

output& the_output() {
  return output::the_output();
}

// An spdlog sink that writes each message as one JSON line. The message of our loggers is a
// body from append_body; that of spdlog's default logger is plain text, made the "msg".
class line_sink final : public spdlog::sinks::sink {
public:
  enum class payload : std::uint8_t { body, text };

  explicit line_sink(payload p) : payload_(p) {
  }

  void log(const spdlog::details::log_msg& m) override {
    std::string_view text{m.payload.data(), m.payload.size()};
    std::string body;
    if (payload_ == payload::text) {
      append_body(body, text, {});
      text = body;
    }
    std::string line;
    line.reserve(text.size() + 96);
    append_line(line, m.time, static_cast<logging::level>(m.level),
                {m.logger_name.data(), m.logger_name.size()}, text);
    the_output().write(line, true);
  }

  void flush() override {
    the_output().flush();
  }

  // The shape of a line is fixed.
  void set_pattern(const std::string&) override {
  }

  void set_formatter(std::unique_ptr<spdlog::formatter>) override {
  }

private:
  payload payload_;
};

struct registry {
  std::mutex mtx;
  std::map<std::string, std::unique_ptr<logger>, std::less<>> loggers;
  level current = level::info;
  std::shared_ptr<line_sink> sink = std::make_shared<line_sink>(line_sink::payload::body);
};

registry& the_registry() {
  static auto* r = new registry;
  return *r;
}

} // namespace

logger::logger(std::string name)
  : name_(std::move(name)), impl_(std::make_shared<spdlog::logger>(name_, the_registry().sink)) {
}

logger::~logger() = default;

bool logger::enabled(level l) const noexcept {
  return l != level::off && impl_->should_log(to_spdlog(l));
}

void logger::set_level(level l) noexcept {
  impl_->set_level(to_spdlog(l));
}

namespace {

std::string make_body(std::string_view msg, std::initializer_list<field> fields) {
  std::string body;
  body.reserve(64 + msg.size() + 32 * fields.size());
  append_body(body, msg, std::span<const field>{fields.begin(), fields.size()});
  return body;
}

} // namespace

void logger::write(level l, std::string_view msg, std::initializer_list<field> fields) const {
  if (l == level::off)
    return;
  auto body = make_body(msg, fields);
  impl_->log(to_spdlog(l), spdlog::string_view_t{body.data(), body.size()});
}

void logger::write_gathered(level l, std::string_view msg,
                            std::initializer_list<field> fields) const {
  if (!enabled(l))
    return;
  auto body = make_body(msg, fields);
  std::string line;
  line.reserve(body.size() + 96);
  append_line(line, std::chrono::system_clock::now(), l, name_, body);
  the_output().write(line, false);
}

logger& get(std::string_view name) {
  auto& r = the_registry();
  std::lock_guard guard{r.mtx};
  if (auto it = r.loggers.find(name); it != r.loggers.end())
    return *it->second;
  auto made = std::unique_ptr<logger>{new logger{std::string{name}}};
  made->set_level(r.current);
  return *r.loggers.emplace(std::string{name}, std::move(made)).first->second;
}

void set_level(level l) noexcept {
  auto& r = the_registry();
  std::lock_guard guard{r.mtx};
  r.current = l;
  for (auto& [name, lg] : r.loggers)
    lg->set_level(l);
  spdlog::set_level(to_spdlog(l));
}

void set_output(std::FILE* out) noexcept {
  auto& o = the_output();
  std::lock_guard guard{o.mtx};
  o.write_pending();
  o.file = out;
}

void flush() noexcept {
  the_output().flush();
}

void route_spdlog_default(std::string_view name) {
  auto sink = std::make_shared<line_sink>(line_sink::payload::text);
  auto lg = std::make_shared<spdlog::logger>(std::string{name}, std::move(sink));
  {
    auto& r = the_registry();
    std::lock_guard guard{r.mtx};
    lg->set_level(to_spdlog(r.current));
  }
  spdlog::set_default_logger(std::move(lg));
}

} // namespace smith::transport::logging
