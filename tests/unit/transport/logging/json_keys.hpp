// Test helper: parses one JSON line and says whether any object in it has a key twice (a
// plain nlohmann::json parse would keep the last one silently).
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace smith::testing {

struct parsed_line {
  nlohmann::json doc; ///< discarded when the line is not JSON
  bool unique_keys = true;
};

inline parsed_line parse_line(const std::string& line) {
  parsed_line out;
  std::vector<std::set<std::string>> open;
  out.doc = nlohmann::json::parse(
    line,
    [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      using ev = nlohmann::json::parse_event_t;
      if (event == ev::object_start)
        open.emplace_back();
      else if (event == ev::object_end && !open.empty())
        open.pop_back();
      else if (event == ev::key && !open.empty()
               && !open.back().insert(parsed.get<std::string>()).second)
        out.unique_keys = false;
      return true;
    },
    false);
  return out;
}

} // namespace smith::testing
