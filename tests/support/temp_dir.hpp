// A fresh directory for one test fixture, removed with everything in it when the fixture goes.
#pragma once

#include <filesystem>
#include <string>

namespace smith::testing {

class temp_dir {
public:
  /// Creates `<$TMPDIR or /tmp>/<prefix>XXXXXX` with mkdtemp(). Throws std::system_error.
  explicit temp_dir(const std::string& prefix);

  /// Removes the directory recursively; errors are ignored, a destructor cannot report them.
  ~temp_dir();

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept {
    return path_;
  }

private:
  std::filesystem::path path_;
};

} // namespace smith::testing
