// A scrape of /metrics read by prometheus_client's own text parser (parse_metrics.py, run with
// the Python of .venv-test/ that scripts/test-venv makes), as a Prometheus server would read it.
#pragma once

#include "support/command.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

namespace smith::testing {

/// What the parser read: families and samples (parse_metrics.py says the shape).
struct parsed_scrape {
  nlohmann::json doc;

  /// The type the parser gave family `name` ("counter", "gauge", "histogram"), or "".
  std::string family_type(const std::string& name) const {
    for (const auto& f : doc["families"])
      if (f["name"] == name)
        return f["type"].get<std::string>();
    return {};
  }

  /// The samples named `name` whose labels include all of `want`.
  std::vector<nlohmann::json> samples(const std::string& name,
                                      const std::map<std::string, std::string>& want = {}) const {
    std::vector<nlohmann::json> out;
    for (const auto& s : doc["samples"]) {
      bool match = s["name"] == name;
      for (const auto& [k, v] : want)
        match = match && s["labels"].contains(k) && s["labels"][k] == v;
      if (match)
        out.push_back(s);
    }
    return out;
  }

  /// The value of the one sample that matches, or -1 when none or several do.
  double value(const std::string& name, const std::map<std::string, std::string>& want) const {
    auto found = samples(name, want);
    return found.size() == 1 ? found.front()["value"].get<double>() : -1;
  }
};

/// Parses `scrape`; fails the test when the parser is missing or refuses the scrape.
inline parsed_scrape parse_scrape(const std::string& scrape) {
  const char* python = std::getenv("PROMETHEUS_PYTHON");
  const char* script = std::getenv("PARSE_METRICS");
  REQUIRE_MESSAGE((python != nullptr && script != nullptr),
                  "PROMETHEUS_PYTHON / PARSE_METRICS are not set: run through meson test");
  REQUIRE_MESSAGE(std::filesystem::exists(python),
                  (std::string{python}
                   + " is missing: run scripts/test-venv (./dev test does) to create the test "
                     "venv with the pinned prometheus_client"));
  auto r = run_command({python, script}, {}, scrape);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err << "\nthe scrape was:\n" << scrape);
  return {nlohmann::json::parse(r.out)};
}

} // namespace smith::testing
