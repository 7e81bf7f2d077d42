#include "transport/login.hpp"
#include "transport/nats_error.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace smith::transport {

expected<secret_file> secret_file::create(std::string_view name, std::string_view content) {
  auto failed = [&](const char* step) {
    return error{errc::internal,
                 "keep " + std::string{name} + " in memory: " + step + ": " + std::strerror(errno)};
  };
  int fd = ::memfd_create(std::string{name}.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return failed("memfd_create");
  secret_file file{fd};
  while (!content.empty()) {
    auto n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return failed("write");
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return failed("seal");
  return file;
}

secret_file::secret_file(secret_file&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {
}

secret_file& secret_file::operator=(secret_file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

secret_file::~secret_file() {
  if (fd_ >= 0)
    ::close(fd_);
}

std::string secret_file::path() const {
  return "/proc/self/fd/" + std::to_string(fd_);
}

expected<void> set_login_options(natsOptions* opts, const connection_config& cfg,
                                 std::vector<secret_file>& keep) {
  auto* o = opts;
  if (!cfg.user.empty())
    SMITH_TRY(natsOptions_SetUserInfo(o, cfg.user.c_str(), cfg.password.c_str()),
              "set user and password");
  if (!cfg.token.empty())
    SMITH_TRY(natsOptions_SetToken(o, cfg.token.c_str()), "set token");
  if (!cfg.credentials_file.empty())
    SMITH_TRY(natsOptions_SetUserCredentialsFromFiles(o, cfg.credentials_file.c_str(), nullptr),
              "load credentials file " + cfg.credentials_file);
  // Never onto a disk, where a program of the worker's uid could read it.
  if (!cfg.credentials_data.empty()) {
    auto file = secret_file::create("smith-nats-creds", cfg.credentials_data);
    if (!file)
      return file.error();
    SMITH_TRY(natsOptions_SetUserCredentialsFromFiles(o, file->path().c_str(), nullptr),
              "load credentials from SMITH_NATS_CREDS_DATA");
    keep.push_back(std::move(*file));
  }
  bool tls = !cfg.tls_ca.empty() || !cfg.tls_cert.empty();
  for (const auto& url : cfg.servers)
    tls = tls || url.starts_with("tls://");
  if (tls) {
    SMITH_TRY(natsOptions_SetSecure(o, true), "enable TLS");
    if (!cfg.tls_ca.empty())
      SMITH_TRY(natsOptions_LoadCATrustedCertificates(o, cfg.tls_ca.c_str()),
                "load TLS CA file " + cfg.tls_ca);
    if (!cfg.tls_cert.empty() && !cfg.tls_key_data.empty()) {
      // Read once, here: the memory file can go when this call has loaded the key.
      auto key = secret_file::create("smith-nats-tls-key", cfg.tls_key_data);
      if (!key)
        return key.error();
      SMITH_TRY(natsOptions_LoadCertificatesChain(o, cfg.tls_cert.c_str(), key->path().c_str()),
                "load TLS certificate " + cfg.tls_cert + " and SMITH_NATS_TLS_KEY_DATA");
    } else if (!cfg.tls_cert.empty()) {
      SMITH_TRY(natsOptions_LoadCertificatesChain(o, cfg.tls_cert.c_str(), cfg.tls_key.c_str()),
                "load TLS certificate " + cfg.tls_cert + " and key " + cfg.tls_key);
    }
  }
  return {};
}

} // namespace smith::transport
