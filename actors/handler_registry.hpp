// Task type → handler. A worker binary fills one registry before it starts; it is read-only
// afterwards, so workers share it without locks.
#pragma once

#include "actors/handler.hpp"

#include <map>
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

  /// The handler for `type`, nullptr when none is registered.
  const entry* find(std::string_view type) const;

  std::vector<std::string> types() const;

  bool empty() const noexcept {
    return entries_.empty();
  }

private:
  std::map<std::string, entry, std::less<>> entries_;
};

} // namespace smith::actors
