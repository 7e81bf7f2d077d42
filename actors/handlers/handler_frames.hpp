// The frames of the handler process protocol (docs/HANDLER-PROTOCOL.md): a 4-byte big-endian
// length and one msgpack map with str keys. What the worker sends (task, cancel) is encoded
// here; what a process sends (hello, progress, log, result) is decoded strictly: anything a
// process writes is untrusted, and a frame that breaks the protocol is an error naming why.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace smith::actors::handlers::frames {

inline constexpr std::uint32_t protocol_version = 1;
inline constexpr std::size_t max_frame_bytes = std::size_t{16} * 1024 * 1024;
inline constexpr std::uint32_t max_concurrency = 1024;

// -- worker → process ----------------------------------------------------------------------------

struct task_frame {
  std::uint64_t seq = 0;
  std::string id;
  std::string type;
  std::string payload;
  std::uint32_t attempt = 1;
  std::map<std::string, std::string> meta;
  std::optional<std::int64_t> deadline_ms;
};

struct cancel_frame {
  std::uint64_t seq = 0;
  std::string reason; ///< "cancelled" or "deadline"
};

/// The whole frame: length prefix and body.
std::string encode(const task_frame& f);
std::string encode(const cancel_frame& f);

// -- process → worker ----------------------------------------------------------------------------

struct hello {
  std::uint32_t protocol = 0;
  std::uint32_t concurrency = 1;
  std::vector<std::string> types; ///< empty: every type
};

struct progress {
  std::uint64_t seq = 0;
  int percent = 0;
  std::string message;
};

struct log_line {
  std::optional<std::uint64_t> seq;
  std::string level; ///< debug, info, warn or error
  std::string message;
};

struct result {
  enum class status : std::uint8_t { succeeded, failed, retry };
  std::uint64_t seq = 0;
  status how = status::succeeded;
  std::string output;
  std::string error;
  std::string error_type;
};

using message = std::variant<hello, progress, log_line, result>;

/// A frame's body decoded, or why it breaks the protocol.
struct decoded {
  std::optional<message> value;
  std::string error;
};

/// Decodes one body (without its length prefix).
decoded decode(std::string_view body);

/// Reads frames out of a byte stream as it arrives.
class reader {
public:
  /// Appends bytes read from the process.
  void feed(std::string_view bytes);

  /// The next whole body, nothing when more bytes are needed. A length of 0 or over
  /// max_frame_bytes sets `error` and returns nothing from then on.
  std::optional<std::string> next();

  const std::string& error() const noexcept {
    return error_;
  }

private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::string error_;
};

} // namespace smith::actors::handlers::frames
