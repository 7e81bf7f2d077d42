// mkdtemp() under $TMPDIR, so parallel tests never share a store directory.
#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace smith::testing {

temp_dir::temp_dir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  auto pattern = (base / (prefix + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(),
                            "cannot create a directory like " + pattern
                              + " (is $TMPDIR writable?)");
  path_ = buf.data();
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

} // namespace smith::testing
