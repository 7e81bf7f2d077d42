// Opens nats.c's global state on construction and releases it, waiting for its threads, on
// destruction. One per process, in main(), so leak checkers see a clean exit.
#pragma once

namespace smith::transport {

class library {
public:
  library();
  ~library();

  library(const library&) = delete;
  library& operator=(const library&) = delete;
};

} // namespace smith::transport
