// How a connection logs in and secures itself: user and password, token, credentials (a file,
// or its text kept in memory), TLS.
#pragma once

#include "transport/config.hpp"
#include "transport/expected.hpp"

#include <nats/nats.h>

#include <string>
#include <string_view>
#include <vector>

namespace smith::transport {

/// A secret given as text for a nats.c call that takes only a path. It lives in an anonymous memory
/// file (memfd): no file on any disk, closed on exec, sealed against change, and reachable by path
/// only as "/proc/self/fd/<n>", which other processes cannot open through /proc/<pid>/fd while the
/// owner is not dumpable (the worker). So a program the worker runs, with the worker's uid, has no
/// path to it.
class secret_file {
public:
  /// Creates the file holding `content`. `name` shows in /proc/<pid>/fd of the owner only.
  static expected<secret_file> create(std::string_view name, std::string_view content);

  secret_file(secret_file&& other) noexcept;
  secret_file& operator=(secret_file&& other) noexcept;
  secret_file(const secret_file&) = delete;
  secret_file& operator=(const secret_file&) = delete;
  ~secret_file();

  /// "/proc/self/fd/<n>": each open() of it reads the content from the start.
  std::string path() const;

private:
  explicit secret_file(int fd) noexcept : fd_(fd) {
  }

  int fd_ = -1;
};

/// Sets the login and TLS options of `cfg` on `opts`. nats.c takes credentials and keys only as
/// paths, and reads the credentials again at each reconnect: text given in the environment goes
/// into a memory file, appended to `keep`, which must live as long as the connection.
expected<void> set_login_options(natsOptions* opts, const connection_config& cfg,
                                 std::vector<secret_file>& keep);

} // namespace smith::transport
