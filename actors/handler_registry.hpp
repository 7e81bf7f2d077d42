// Task type → handler. A worker binary fills one registry before it starts; it is read-only
// afterwards, so workers share it without locks.
#pragma once

#include "actors/handler.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smith::actors {

struct handler_options {
  /// Whether the handler may block (sleep, I/O, child processes). Blocking handlers run on
  /// detached actors, each with its own thread, never on CAF's scheduler threads.
  bool blocking = true;
};

class handler_registry {
public:
  struct entry {
    handler_fn fn;
    handler_options options;
  };

  /// Registers `fn` for `type`. Throws std::invalid_argument for a type that cannot stand in a
  /// subject or is registered twice: wiring errors surface at start-up.
  handler_registry& add(std::string type, handler_fn fn, handler_options options = {});

  /// Runs every type that has no handler of its own (handler processes: docs/HANDLER-PROTOCOL.md).
  handler_registry& set_fallback(handler_fn fn, handler_options options = {});

  /// The handler for `type` (else the fallback), nullptr when there is neither.
  const entry* find(std::string_view type) const;

  std::vector<std::string> types() const;

  bool empty() const noexcept {
    return entries_.empty() && !fallback_;
  }

private:
  std::map<std::string, entry, std::less<>> entries_;
  std::optional<entry> fallback_;
};

} // namespace smith::actors
