#include "transport/config.hpp"

#include "transport/wire/subjects.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace smith::transport {

namespace {

error bad(std::string_view var, std::string_view value, std::string_view why) {
  std::string msg{var};
  msg += "=\"";
  msg += value;
  msg += "\": ";
  msg += why;
  return error{errc::invalid_argument, std::move(msg)};
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto pos = text.find(',');
    auto item = text.substr(0, pos);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (!item.empty())
      out.emplace_back(item);
    if (pos == std::string_view::npos)
      break;
    text.remove_prefix(pos + 1);
  }
  return out;
}

template <class Int>
expected<Int> parse_int(std::string_view var, std::string_view text) {
  Int value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size())
    return bad(var, text, "expected an integer");
  return value;
}

expected<bool> parse_bool(std::string_view var, std::string_view text) {
  if (text == "1" || text == "true" || text == "yes" || text == "on")
    return true;
  if (text == "0" || text == "false" || text == "no" || text == "off")
    return false;
  return bad(var, text, "expected 1/0, true/false, yes/no or on/off");
}

// Each setter reads one variable when it is set; the first failure wins.
class reader {
public:
  explicit reader(const env_lookup& env) : env_(env) {
  }

  void str(std::string_view var, std::string& out) {
    if (auto v = env_(var))
      out = *v;
  }

  void list(std::string_view var, std::vector<std::string>& out) {
    if (auto v = env_(var)) {
      auto items = split_list(*v);
      if (items.empty())
        fail(bad(var, *v, "expected a comma-separated list with at least one entry"));
      else
        out = std::move(items);
    }
  }

  void duration(std::string_view var, milliseconds& out) {
    if (auto v = env_(var)) {
      if (auto d = parse_duration(*v))
        out = *d;
      else
        fail(bad(var, *v, d.error().message()));
    }
  }

  void durations(std::string_view var, std::vector<milliseconds>& out) {
    if (auto v = env_(var)) {
      std::vector<milliseconds> values;
      for (auto& item : split_list(*v)) {
        auto d = parse_duration(item);
        if (!d)
          return fail(bad(var, *v, d.error().message()));
        values.push_back(*d);
      }
      out = std::move(values);
    }
  }

  template <class Int>
  void integer(std::string_view var, Int& out) {
    if (auto v = env_(var)) {
      if (auto i = parse_int<Int>(var, *v))
        out = *i;
      else
        fail(i.error());
    }
  }

  void boolean(std::string_view var, bool& out) {
    if (auto v = env_(var)) {
      if (auto b = parse_bool(var, *v))
        out = *b;
      else
        fail(b.error());
    }
  }

  const std::optional<error>& failure() const {
    return failure_;
  }

private:
  void fail(error err) {
    if (!failure_)
      failure_ = std::move(err);
  }

  const env_lookup& env_;
  std::optional<error> failure_;
};

} // namespace

env_lookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    std::string key{name};
    if (const char* v = std::getenv(key.c_str()))
      return std::string{v};
    return std::nullopt;
  };
}

// The longest duration taken: what the server (Go, int64 nanoseconds) can hold, about 292 years.
constexpr long long max_duration_ms = std::numeric_limits<long long>::max() / 1'000'000;

expected<milliseconds> parse_duration(std::string_view text) {
  if (text.empty())
    return error{errc::invalid_argument, "empty duration: write e.g. 250ms, 30s, 2m, 1h or 14d"};
  if (text == "0")
    return milliseconds{0};
  long long total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    long long n = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc{} || n < 0)
      return error{errc::invalid_argument,
                   "bad duration \"" + std::string{text} + "\": write e.g. 250ms, 30s, 2m, 1h"};
    rest.remove_prefix(static_cast<std::size_t>(ptr - rest.data()));
    long long unit = 0;
    if (rest.starts_with("ms")) {
      unit = 1;
      rest.remove_prefix(2);
    } else if (!rest.empty()
               && (rest[0] == 's' || rest[0] == 'm' || rest[0] == 'h' || rest[0] == 'd')) {
      unit = rest[0] == 's'   ? 1000
             : rest[0] == 'm' ? 60'000
             : rest[0] == 'h' ? 3'600'000
                              : 86'400'000;
      rest.remove_prefix(1);
    } else {
      return error{errc::invalid_argument, "duration \"" + std::string{text}
                                             + "\" needs a unit: ms, s, m, h or d (e.g. 30s)"};
    }
    if (n > (max_duration_ms - total) / unit)
      return error{errc::invalid_argument, "duration \"" + std::string{text} + "\" is too large"};
    total += n * unit;
  }
  return milliseconds{total};
}

expected<connection_config> parse_connection_config(const env_lookup& env) {
  connection_config cfg;
  reader r{env};
  r.list("SMITH_NATS_URL", cfg.servers);
  r.str("SMITH_NATS_NAME", cfg.name);
  r.str("SMITH_NATS_USER", cfg.user);
  r.str("SMITH_NATS_PASSWORD", cfg.password);
  r.str("SMITH_NATS_TOKEN", cfg.token);
  r.str("SMITH_NATS_CREDS", cfg.credentials_file);
  r.str("SMITH_NATS_CREDS_DATA", cfg.credentials_data);
  r.str("SMITH_NATS_TLS_CA", cfg.tls_ca);
  r.str("SMITH_NATS_TLS_CERT", cfg.tls_cert);
  r.str("SMITH_NATS_TLS_KEY", cfg.tls_key);
  r.str("SMITH_NATS_TLS_KEY_DATA", cfg.tls_key_data);
  r.duration("SMITH_NATS_CONNECT_TIMEOUT", cfg.connect_timeout);
  r.duration("SMITH_NATS_RECONNECT_WAIT", cfg.reconnect_wait);
  r.duration("SMITH_NATS_RECONNECT_WAIT_MAX", cfg.reconnect_wait_max);
  r.duration("SMITH_NATS_RECONNECT_JITTER", cfg.reconnect_jitter);
  r.duration("SMITH_NATS_REQUEST_TIMEOUT", cfg.request_timeout);
  if (r.failure())
    return *r.failure();
  if (auto ok = validate(cfg); !ok)
    return ok.error();
  return cfg;
}

expected<topology_config> parse_topology_config(const env_lookup& env) {
  topology_config cfg;
  reader r{env};
  r.str("SMITH_PREFIX", cfg.prefix);
  r.integer("SMITH_REPLICAS", cfg.replicas);
  r.duration("SMITH_ACK_WAIT", cfg.ack_wait);
  r.integer("SMITH_MAX_DELIVER", cfg.max_deliver);
  r.durations("SMITH_BACKOFF", cfg.backoff);
  r.integer("SMITH_MAX_ACK_PENDING", cfg.max_ack_pending);
  r.duration("SMITH_DUPLICATE_WINDOW", cfg.duplicate_window);
  r.integer("SMITH_MAX_MSG_BYTES", cfg.max_msg_bytes);
  r.integer("SMITH_MAX_TASKS", cfg.max_tasks);
  r.duration("SMITH_RESULTS_MAX_AGE", cfg.results_max_age);
  r.duration("SMITH_DLQ_MAX_AGE", cfg.dlq_max_age);
  r.list("SMITH_ROLES", cfg.roles);
  if (r.failure())
    return *r.failure();
  if (auto ok = validate(cfg); !ok)
    return ok.error();
  return cfg;
}

expected<void> validate(const connection_config& cfg) {
  if (cfg.servers.empty())
    return error{errc::invalid_argument, "SMITH_NATS_URL: no server given"};
  for (const auto& url : cfg.servers) {
    if (!url.starts_with("nats://") && !url.starts_with("tls://"))
      return bad("SMITH_NATS_URL", url, "each URL must start with nats:// or tls://");
  }
  if (!cfg.token.empty() && !cfg.user.empty())
    return error{errc::invalid_argument,
                 "SMITH_NATS_TOKEN and SMITH_NATS_USER are both set: use one way to log in"};
  if (!cfg.password.empty() && cfg.user.empty())
    return error{errc::invalid_argument, "SMITH_NATS_PASSWORD is set without SMITH_NATS_USER"};
  if (!cfg.credentials_file.empty() && !cfg.credentials_data.empty())
    return error{errc::invalid_argument,
                 "SMITH_NATS_CREDS and SMITH_NATS_CREDS_DATA are both set: use one of them"};
  if (!cfg.tls_key.empty() && !cfg.tls_key_data.empty())
    return error{errc::invalid_argument,
                 "SMITH_NATS_TLS_KEY and SMITH_NATS_TLS_KEY_DATA are both set: use one of them"};
  if (cfg.tls_cert.empty() != (cfg.tls_key.empty() && cfg.tls_key_data.empty()))
    return error{errc::invalid_argument,
                 "SMITH_NATS_TLS_CERT and SMITH_NATS_TLS_KEY (or SMITH_NATS_TLS_KEY_DATA) go "
                 "together: set both or neither"};
  if (cfg.reconnect_wait_max < cfg.reconnect_wait)
    return error{errc::invalid_argument,
                 "SMITH_NATS_RECONNECT_WAIT_MAX is below SMITH_NATS_RECONNECT_WAIT"};
  if (cfg.connect_timeout.count() <= 0 || cfg.request_timeout.count() <= 0)
    return error{errc::invalid_argument, "connect and request timeouts must be above zero"};
  return {};
}

namespace {

// "SMITH_ACK_WAIT=5m × SMITH_MAX_DELIVER=3" or "SMITH_BACKOFF=10s,1m over SMITH_MAX_DELIVER=3"
std::string horizon_formula(const topology_config& cfg) {
  auto deliveries = "SMITH_MAX_DELIVER=" + std::to_string(cfg.max_deliver);
  if (cfg.backoff.empty())
    return "SMITH_ACK_WAIT=" + duration_text(cfg.ack_wait) + " × " + deliveries;
  std::string steps;
  for (auto step : cfg.backoff)
    steps += (steps.empty() ? "" : ",") + duration_text(step);
  return "SMITH_BACKOFF=" + steps + " over " + deliveries;
}

} // namespace

milliseconds redelivery_horizon(const topology_config& cfg) {
  // A step counts for at least 0, and the arithmetic saturates at the longest milliseconds: a
  // horizon past any setting compares as such, where SMITH_MAX_DELIVER=2147483647 times a long
  // AckWait would overflow.
  using rep = milliseconds::rep;
  constexpr rep most = std::numeric_limits<rep>::max();
  auto times = [](milliseconds step, rep n) {
    auto each = std::max<rep>(step.count(), 0);
    return n != 0 && each > most / n ? most : each * n;
  };
  auto plus = [](rep a, rep b) { return a > most - b ? most : a + b; };
  rep deliveries = std::max(cfg.max_deliver, 1);
  if (cfg.backoff.empty())
    return milliseconds{times(cfg.ack_wait, deliveries)};
  // The steps in order, the last one repeating for the deliveries past them.
  rep sum = 0;
  auto listed = std::min<rep>(deliveries, static_cast<rep>(cfg.backoff.size()));
  for (rep i = 0; i < listed; ++i)
    sum = plus(sum, times(cfg.backoff[static_cast<std::size_t>(i)], 1));
  return milliseconds{plus(sum, times(cfg.backoff.back(), deliveries - listed))};
}

std::string duration_text(milliseconds d) {
  auto ms = d.count();
  if (ms == 0)
    return "0s";
  if (ms % 1000 != 0)
    return std::to_string(ms) + "ms";
  std::string out;
  auto s = ms / 1000;
  for (auto [unit, size] : {std::pair{"d", 86'400LL}, {"h", 3600LL}, {"m", 60LL}, {"s", 1LL}})
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  return out;
}

expected<void> validate(const topology_config& cfg) {
  auto fail = [](std::string msg) { return error{errc::invalid_argument, std::move(msg)}; };
  if (!wire::is_subject_token(cfg.prefix))
    return fail("SMITH_PREFIX=\"" + cfg.prefix
                + "\": must be one subject token (no '.', '*', '>' or spaces)");
  if (cfg.replicas < 1 || cfg.replicas > 5)
    return fail("SMITH_REPLICAS=" + std::to_string(cfg.replicas)
                + ": must be 1 to 5 (3 on a three-node cluster)");
  if (cfg.ack_wait.count() < 1000)
    return fail("SMITH_ACK_WAIT must be at least 1s: below that, a busy worker loses its tasks");
  if (cfg.max_deliver < 1)
    return fail("SMITH_MAX_DELIVER=" + std::to_string(cfg.max_deliver)
                + ": must be at least 1. Unbounded redelivery (-1) has no horizon that the "
                + "duplicate window could cover, so a task could run twice; pick a number");
  if (cfg.max_deliver > 0 && static_cast<int>(cfg.backoff.size()) >= cfg.max_deliver)
    return fail("SMITH_BACKOFF has " + std::to_string(cfg.backoff.size())
                + " steps but SMITH_MAX_DELIVER=" + std::to_string(cfg.max_deliver)
                + ": the server needs fewer steps than deliveries. Hint: raise SMITH_MAX_DELIVER");
  for (auto step : cfg.backoff)
    if (step.count() < 1000)
      return fail("SMITH_BACKOFF: each step must be at least 1s");
  if (cfg.max_ack_pending < 1 && cfg.max_ack_pending != -1)
    return fail("SMITH_MAX_ACK_PENDING must be at least 1, or -1 for no cap");
  if (cfg.duplicate_window.count() < 1000)
    return fail("SMITH_DUPLICATE_WINDOW must be at least 1s");
  if (cfg.max_msg_bytes < 1024)
    return fail("SMITH_MAX_MSG_BYTES=" + std::to_string(cfg.max_msg_bytes)
                + ": must be at least 1024");
  if (cfg.max_tasks == 0 || cfg.max_tasks < -1)
    return fail("SMITH_MAX_TASKS must be at least 1, or -1 for no cap");
  if (cfg.results_max_age.count() < 1000 || cfg.dlq_max_age.count() < 1000)
    return fail("SMITH_RESULTS_MAX_AGE and SMITH_DLQ_MAX_AGE must be at least 1s");
  // A redelivered attempt looks for its stored result (and dedups against it) as long as the
  // server may redeliver: results and dead letters must live at least that long.
  auto horizon = redelivery_horizon(cfg);
  auto why = " (" + horizon_formula(cfg) + ")";
  if (cfg.results_max_age < horizon)
    return fail("SMITH_RESULTS_MAX_AGE=" + duration_text(cfg.results_max_age)
                + " is shorter than the redelivery horizon " + duration_text(horizon) + why
                + ": a task redelivered after its result expired would run again. Hint: raise "
                + "SMITH_RESULTS_MAX_AGE or lower SMITH_ACK_WAIT / SMITH_MAX_DELIVER");
  if (cfg.dlq_max_age < horizon)
    return fail("SMITH_DLQ_MAX_AGE=" + duration_text(cfg.dlq_max_age)
                + " is shorter than the redelivery horizon " + duration_text(horizon) + why
                + ". Hint: raise SMITH_DLQ_MAX_AGE or lower SMITH_ACK_WAIT / SMITH_MAX_DELIVER");
  if (cfg.roles.empty())
    return fail("SMITH_ROLES: at least one role is needed");
  for (const auto& role : cfg.roles)
    if (!wire::is_subject_token(role))
      return fail("SMITH_ROLES: role \"" + role
                  + "\" must be one subject token (no '.', '*', '>' or spaces)");
  return {};
}

} // namespace smith::transport
