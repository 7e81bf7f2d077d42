// The built-in hash handler: known SHA-256 vectors, chunked input and cancellation.
#include "actors/handlers/hash_handler.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <type_traits>

namespace ac = smith::actors;
namespace tp = smith::transport;

static_assert(std::is_constructible_v<ac::handler_fn, decltype(&ac::handlers::hash_handler)>);

namespace {

ac::outcome hash_of(std::string payload, bool cancelled = false) {
  tp::wire::task task{.id = "t-1", .type = "hash", .payload = std::move(payload)};
  std::atomic<bool> flag{cancelled};
  ac::task_context ctx{task, 1, flag};
  return ac::handlers::hash_handler(ctx);
}

} // namespace

TEST_CASE("the hash of an empty payload is the sha256 of nothing") {
  auto out = hash_of("");
  CHECK(out.what == ac::outcome::kind::succeeded);
  CHECK(out.output == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("the hash of abc is the FIPS 180-2 vector in lowercase hex") {
  auto out = hash_of("abc");
  CHECK(out.what == ac::outcome::kind::succeeded);
  CHECK(out.output == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("the hash of a million a's matches the long FIPS vector") {
  CHECK(hash_of(std::string(1000000, 'a')).output
        == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a payload of several 1 MiB chunks and a remainder hashes as one stream") {
  std::string payload(std::size_t{3} * 1024 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i % 251);
  CHECK(hash_of(std::move(payload)).output
        == "f578a61853ca2f4272dba551bd868420e22302fbb6d6dfc0cc80da1d2c7b779f");
}

TEST_CASE("a cancelled hash fails as cancelled instead of returning a digest") {
  auto out = hash_of(std::string(std::size_t{2} * 1024 * 1024, 'x'), true);
  CHECK(out.what == ac::outcome::kind::fail);
  CHECK(out.error_type == "cancelled");
  CHECK(out.error == "cancelled");
  CHECK(out.output.empty());
}
