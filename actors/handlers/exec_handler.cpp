// The exec handler: payload checks, the allow-list, the temp directory and environment of a
// run, and the mapping of how the child ended to an outcome. The process mechanics live in
// child_runner.cpp.
#include "actors/handlers/exec_handler.hpp"

#include "actors/handlers/child_runner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include <stdlib.h> // mkdtemp (POSIX, not in <cstdlib>)

namespace smith::actors::handlers {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

/// The config after start-up checks, shared by every copy of the handler.
struct exec_state {
  exec_config config;
  fs::path work_root;
  /// keep_env as read from the worker's environment when the handler was made.
  std::map<std::string, std::string> kept_env;
};

/// A checked payload.
struct exec_request {
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{0};
  std::optional<std::string> stdin_data;
  std::map<std::string, std::string> env;
};

// -- start-up checks -----------------------------------------------------------------------------

bool valid_env_name(std::string_view name) {
  return !name.empty() && name.find_first_of(std::string_view{"=\0", 2}) == std::string_view::npos;
}

void check_config(const exec_config& cfg) {
  for (const auto& [name, path] : cfg.allow) {
    if (name.empty())
      throw std::invalid_argument("exec allow-list: a program name is empty");
    if (!fs::path{path}.is_absolute()) {
      std::string msg{"exec allow-list: the path \""};
      msg.append(path).append("\" of program \"").append(name);
      msg.append("\" is not absolute. Hint: give the full path, e.g. /usr/bin/").append(name);
      msg.append(" (no PATH search is done)");
      throw std::invalid_argument(msg);
    }
  }
  if (cfg.timeout.count() <= 0 || cfg.max_timeout.count() <= 0 || cfg.timeout > cfg.max_timeout)
    throw std::invalid_argument("exec: timeout (" + std::to_string(cfg.timeout.count())
                                + " ms) and max_timeout (" + std::to_string(cfg.max_timeout.count())
                                + " ms) must be positive, with timeout <= max_timeout");
  for (const auto* names : {&cfg.keep_env, &cfg.env_allow})
    for (const auto& name : *names)
      if (!valid_env_name(name))
        throw std::invalid_argument("exec: \"" + name + "\" is not an environment variable name");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

// -- payload -------------------------------------------------------------------------------------

constexpr std::string_view payload_example = R"({"argv": ["ls", "-l"]})";

outcome bad_payload(std::string error) {
  return outcome::failure(std::move(error), "bad_payload");
}

/// "number 3", "string \"abc\"": what a person needs to find the culprit in their payload.
std::string describe(const json& value) {
  auto text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60)
    text = text.substr(0, 57) + "...";
  return std::string{value.type_name()} + " " + text;
}

std::variant<exec_request, outcome> parse_request(std::string_view payload, const exec_state& st) {
  json doc;
  try {
    doc = json::parse(payload);
  } catch (const json::exception& e) {
    return bad_payload("payload is not JSON (" + std::string{e.what()}
                       + "). Hint: exec expects an object like " + std::string{payload_example});
  }
  if (!doc.is_object())
    return bad_payload("payload must be a JSON object like " + std::string{payload_example}
                       + ", got " + describe(doc));
  for (const auto& [key, value] : doc.items())
    if (key != "argv" && key != "timeout_ms" && key != "stdin" && key != "env")
      return bad_payload("payload has an unknown key \"" + key
                         + "\" (known: argv, timeout_ms, stdin, env)");
  exec_request req;
  auto argv = doc.find("argv");
  if (argv == doc.end())
    return bad_payload("payload has no \"argv\": give the program and its arguments, e.g. "
                       + std::string{payload_example});
  if (!argv->is_array())
    return bad_payload("\"argv\" must be an array of strings, got " + describe(*argv));
  if (argv->empty())
    return bad_payload("\"argv\" is empty: it needs at least the program name");
  for (std::size_t i = 0; i < argv->size(); ++i) {
    const auto& arg = (*argv)[i];
    if (!arg.is_string())
      return bad_payload("\"argv\"[" + std::to_string(i) + "] must be a string, got "
                         + describe(arg));
    auto text = arg.get<std::string>();
    if (text.find('\0') != std::string::npos)
      return bad_payload("\"argv\"[" + std::to_string(i)
                         + "] contains a NUL character, which no program argument can hold");
    req.argv.push_back(std::move(text));
  }
  req.timeout = st.config.timeout;
  if (auto t = doc.find("timeout_ms"); t != doc.end()) {
    if (!t->is_number_unsigned() || t->get<std::uint64_t>() == 0)
      return bad_payload("\"timeout_ms\" must be a positive integer (milliseconds), got "
                         + describe(*t));
    auto max = static_cast<std::uint64_t>(st.config.max_timeout.count());
    req.timeout = std::chrono::milliseconds{std::min(t->get<std::uint64_t>(), max)};
  }
  if (auto in = doc.find("stdin"); in != doc.end()) {
    if (!in->is_string())
      return bad_payload("\"stdin\" must be a string, got " + describe(*in));
    req.stdin_data = in->get<std::string>();
  }
  if (auto env = doc.find("env"); env != doc.end()) {
    if (!env->is_object())
      return bad_payload("\"env\" must be an object of strings, got " + describe(*env));
    for (const auto& [name, value] : env->items()) {
      if (!value.is_string())
        return bad_payload("\"env\".\"" + name + "\" must be a string, got " + describe(value));
      auto text = value.get<std::string>();
      if (text.find('\0') != std::string::npos)
        return bad_payload("\"env\".\"" + name + "\" contains a NUL character");
      req.env.emplace(name, std::move(text));
    }
  }
  // The shape is right: now what this role permits.
  const auto& allow = st.config.allow;
  if (!allow.contains(req.argv.front())) {
    std::vector<std::string> names;
    names.reserve(allow.size());
    for (const auto& entry : allow)
      names.push_back(entry.first);
    return outcome::failure("program \"" + req.argv.front()
                              + "\" is not on the allow-list of this role (allowed: " + join(names)
                              + ")",
                            "not_allowed");
  }
  const auto& env_allow = st.config.env_allow;
  for (const auto& entry : req.env)
    if (std::find(env_allow.begin(), env_allow.end(), entry.first) == env_allow.end())
      return outcome::failure("environment variable \"" + entry.first
                                + "\" may not be set by a task of this role (allowed: "
                                + join(env_allow) + ")",
                              "not_allowed");
  return req;
}

// -- the run's directory and environment ---------------------------------------------------------

/// A program may leave a directory without write or search permission, which stops
/// remove_all: give the owner full rights again, top down. Symlinks are not followed.
void make_removable(const fs::path& dir, int depth) {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  if (depth > 64)
    return;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec))
    if (it->symlink_status(ec).type() == fs::file_type::directory)
      make_removable(it->path(), depth + 1);
}

/// The run's working directory: fresh, empty, 0700, removed with everything in it at the end.
class scratch_dir {
public:
  explicit scratch_dir(const fs::path& root) {
    auto name = (root / "smith-exec-XXXXXX").string();
    if (::mkdtemp(name.data()) != nullptr)
      path_ = name;
    else
      error_ = errno;
  }

  ~scratch_dir() {
    if (path_.empty())
      return;
    std::error_code ec;
    if (fs::remove_all(path_, ec) == static_cast<std::uintmax_t>(-1) || ec) {
      make_removable(path_, 0);
      fs::remove_all(path_, ec); // nothing more to do if this fails too
    }
  }

  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const fs::path& path() const noexcept {
    return path_;
  }

  int error() const noexcept {
    return error_;
  }

private:
  fs::path path_;
  int error_ = 0;
};

std::vector<std::string> child_env(const exec_state& st, const exec_request& req,
                                   const fs::path& dir) {
  std::map<std::string, std::string> vars{{"PATH", "/usr/bin:/bin"},
                                          {"LANG", "C.UTF-8"},
                                          {"HOME", dir.string()},
                                          {"TMPDIR", dir.string()}};
  for (const auto* layer : {&st.kept_env, &req.env})
    for (const auto& [name, value] : *layer)
      vars.insert_or_assign(name, value);
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) {
    auto& kv = out.emplace_back(name);
    kv += '=';
    kv += value;
  }
  return out;
}

// -- the result ----------------------------------------------------------------------------------

std::string output_json(const child_result& r) {
  nlohmann::ordered_json out;
  out["exit_code"] = r.exit_code ? json(*r.exit_code) : json(nullptr);
  out["signal"] = r.term_signal ? json(*r.term_signal) : json(nullptr);
  out["stdout"] = r.out.bytes;
  out["stderr"] = r.err.bytes;
  out["stdout_truncated"] = r.out.truncated;
  out["stderr_truncated"] = r.err.truncated;
  out["duration_ms"] = r.duration.count();
  // Output is text for people and scripts: invalid UTF-8 becomes U+FFFD instead of an error.
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

outcome to_outcome(const exec_state& st, const exec_request& req, const std::string& path,
                   const child_result& r) {
  auto program = "program \"" + req.argv.front() + "\"";
  using ending = child_result::ending;
  switch (r.how) {
    case ending::setup_failed:
      return outcome::retry_later("could not prepare to run " + program + " on this worker ("
                                    + r.error + "). Hint: check the worker's process and file "
                                    + "descriptor limits",
                                  "resources");
    case ending::spawn_failed:
      return outcome::failure("could not start " + program + " at " + path + " (" + r.error
                                + "). Hint: check this role's allow-list entry and that the "
                                + "file exists and is executable on the worker",
                              "spawn_failed");
    default:
      break;
  }
  auto output = output_json(r);
  switch (r.how) {
    case ending::exited:
      if (r.exit_code == 0)
        return outcome::success(std::move(output));
      return outcome::failure(program + " exited with " + std::to_string(r.exit_code.value_or(-1)),
                              "exit_code", std::move(output));
    case ending::signaled:
      return outcome::failure(program + " was killed by signal "
                                + std::to_string(r.term_signal.value_or(0)),
                              "signal", std::move(output));
    case ending::timed_out: {
      auto o = outcome::retry_later(
        program + " did not finish within " + std::to_string(req.timeout.count())
          + " ms and was killed with its process group. Hint: "
          + "raise \"timeout_ms\" (this role allows up to "
          + std::to_string(st.config.max_timeout.count()) + " ms) or split the work",
        "timeout");
      o.output = std::move(output);
      return o;
    }
    default:
      return outcome::failure("cancelled", "cancelled", std::move(output));
  }
}

outcome run_exec(const exec_state& st, task_context& ctx) {
  auto parsed = parse_request(ctx.payload(), st);
  if (auto* refusal = std::get_if<outcome>(&parsed))
    return std::move(*refusal);
  const auto& req = std::get<exec_request>(parsed);
  const auto& path = st.config.allow.at(req.argv.front());
  scratch_dir dir{st.work_root};
  if (dir.path().empty())
    return outcome::retry_later("could not create a temp directory under \"" + st.work_root.string()
                                  + "\" (" + std::system_category().message(dir.error())
                                  + "). Hint: check that the exec work_root exists, is "
                                  + "writable and has free space",
                                "resources");
  child_spec spec;
  spec.path = path;
  spec.argv = req.argv;
  spec.env = child_env(st, req, dir.path());
  spec.cwd = dir.path();
  spec.stdin_data = req.stdin_data;
  spec.scratch_dir = st.work_root;
  spec.timeout = req.timeout;
  spec.max_output_bytes = st.config.max_output_bytes;
  spec.limits = st.config.limits;
  spec.cancel = &ctx.cancel_flag();
  return to_outcome(st, req, path, run_child(spec));
}

} // namespace

handler_fn make_exec_handler(exec_config config) {
  check_config(config);
  auto st = std::make_shared<exec_state>();
  st->work_root = config.work_root.empty() ? fs::temp_directory_path() : config.work_root;
  if (!fs::is_directory(st->work_root))
    throw std::invalid_argument("exec: work_root \"" + st->work_root.string()
                                + "\" is not a directory. Hint: create it or point work_root "
                                + "at an existing, writable directory");
  for (const auto& name : config.keep_env)
    if (const char* value = std::getenv(name.c_str()))
      st->kept_env.emplace(name, value);
  st->config = std::move(config);
  return [st = std::shared_ptr<const exec_state>{std::move(st)}](task_context& ctx) {
    return run_exec(*st, ctx);
  };
}

} // namespace smith::actors::handlers
