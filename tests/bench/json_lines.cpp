#include "json_lines.hpp"

#include "raw_pipeline.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

namespace smith::bench {

json_lines::json_lines(std::string bench, const std::string& path) : bench_(std::move(bench)) {
  if (path.empty())
    return;
  out_ = std::fopen(path.c_str(), "a");
  if (out_ == nullptr)
    die("cannot open --json " + path + ": " + std::strerror(errno));
}

json_lines::~json_lines() {
  if (out_ != nullptr)
    std::fclose(out_);
}

void json_lines::write(const measurement& m) {
  if (out_ == nullptr)
    return;
  // ordered_json: the keys in the order the schema lists them, easier to read by eye.
  nlohmann::ordered_json j;
  j["bench"] = bench_;
  j["system"] = m.system;
  j["metric"] = m.metric;
  j["value"] = m.value;
  if (m.round)
    j["round"] = *m.round;
  j["workers"] = m.workers;
  j["concurrency"] = m.concurrency ? nlohmann::ordered_json(*m.concurrency) : nullptr;
  if (m.rate)
    j["rate"] = *m.rate;
  auto line = j.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0)
    die("cannot write the JSON results: " + std::string{std::strerror(errno)});
}

} // namespace smith::bench
