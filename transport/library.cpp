#include "transport/library.hpp"

#include <nats/nats.h>

namespace smith::transport {

library::library() {
  nats_Open(-1);
}

library::~library() {
  nats_CloseAndWait(5000);
}

} // namespace smith::transport
