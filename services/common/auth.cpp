#include "services/common/auth.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace smith::services::common {

std::string api_token() {
  const char* value = std::getenv("SMITH_API_TOKEN");
  const char* file = std::getenv("SMITH_API_TOKEN_FILE");
  bool has_value = value != nullptr && *value != '\0';
  if (file == nullptr || *file == '\0')
    return has_value ? value : "";
  if (has_value)
    throw std::invalid_argument("set SMITH_API_TOKEN or SMITH_API_TOKEN_FILE, not both");
  constexpr std::size_t max_token = 4096;
  std::ifstream in{file, std::ios::binary};
  std::string token(max_token + 1, '\0'); // one more: a longer file is refused, not cut
  if (in)
    in.read(token.data(), static_cast<std::streamsize>(token.size()));
  if (!in.is_open() || in.bad())
    throw std::invalid_argument(std::string{"SMITH_API_TOKEN_FILE "} + file + " cannot be read");
  token.resize(static_cast<std::size_t>(in.gcount()));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.pop_back();
  if (token.empty() || token.size() > max_token
      || !std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
    throw std::invalid_argument(std::string{"SMITH_API_TOKEN_FILE "} + file
                                + " must hold one token: 1 to 4096 printable ASCII characters"
                                  " without spaces");
  return token;
}

bool loopback_only(const std::string& host) {
  if (host == "localhost")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1)
    return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6))
    return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

void require_token_beyond_loopback(const std::string& host, const std::string& token, bool insecure,
                                   const std::string& what, transport::logging::logger& log) {
  if (!token.empty() || loopback_only(host))
    return;
  if (!insecure)
    throw std::invalid_argument("no API token, and --http-host " + host
                                + " is not a loopback address: anyone who reaches it could " + what
                                + ". Set SMITH_API_TOKEN or SMITH_API_TOKEN_FILE, serve on "
                                  "127.0.0.1, or pass --insecure-no-auth");
  SMITH_LOG(log, warn, "serving without a token beyond loopback (--insecure-no-auth)",
            {"http_host", host});
}

bool bearer_matches(const std::string& authorization, const std::string& token) {
  const std::string prefix = "Bearer ";
  if (authorization.size() <= prefix.size() || authorization.compare(0, prefix.size(), prefix) != 0)
    return false;
  // Constant time in the length of the token: a wrong guess reveals nothing of where it
  // went wrong.
  auto given = std::string_view{authorization}.substr(prefix.size());
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(token[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

} // namespace smith::services::common
