#include "transport/library.hpp"

#include <nats/nats.h>
#include <openssl/ssl.h>

namespace smith::transport {

library::library() {
  nats_Open(-1);
  // nats.c 3.4.1's exit handler (after nats_Close, once TLS was used) frees OpenSSL's list of
  // compression methods, and OpenSSL 3's own exit handler frees the same list again: every
  // process that had used TLS ended with SIGSEGV or an abort. The list is taken out of
  // OpenSSL's hands here (loaded first, so it is not made again later) and kept reachable, so
  // both handlers find nothing to free. TLS compression is off in OpenSSL 3 regardless.
  (void)SSL_COMP_get_compression_methods();
  static STACK_OF(SSL_COMP)* const kept = SSL_COMP_set0_compression_methods(nullptr);
  (void)kept;
}

library::~library() {
  nats_CloseAndWait(5000);
}

} // namespace smith::transport
