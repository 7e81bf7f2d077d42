#include "services/common/signals.hpp"

#include <pthread.h>

namespace smith::services::common {

sigset_t stop_signal_set() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  return sigs;
}

void block_stop_signals() {
  auto sigs = stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
}

} // namespace smith::services::common
