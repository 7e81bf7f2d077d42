// Writes the seed corpora of the wire targets: task, result and dead-letter bodies made by the
// encoder, from the smallest record to one with every optional field. Run it with the corpus
// directory (tests/fuzz/corpus) after the wire format changes.
#include "transport/wire/envelope.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace wire = smith::transport::wire;

namespace {

void write(const std::filesystem::path& dir, const std::string& name, const std::string& body) {
  std::filesystem::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary} << body;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: wire_seeds <corpus directory>\n");
    return 2;
  }
  std::filesystem::path corpus{argv[1]};
  auto tasks = corpus / "wire_task";
  write(tasks, "minimal", wire::encode(wire::task{.id = "t-1", .type = "echo"}));
  write(tasks, "text-payload",
        wire::encode(wire::task{.id = "hello-1",
                                .type = "echo",
                                .payload = R"({"text":"hi"})",
                                .created_ms = 1'795'939'565'940}));
  write(tasks, "full",
        wire::encode(wire::task{.id = "k-0123456789abcdef0123456789abcdef",
                                .type = "exec",
                                .payload = std::string{"\x00\xff\x80 bytes", 9},
                                .created_ms = 1'795'939'565'940,
                                .deadline_ms = 1'795'939'625'940,
                                .meta = {{"trace", "abc"}, {"owner", "ops"}}}));
  auto results = corpus / "wire_result";
  write(results, "succeeded",
        wire::encode(wire::result{.id = "hello-1",
                                  .ok = true,
                                  .output = R"({"text":"hi"})",
                                  .attempts = 1,
                                  .worker = "vm:25554",
                                  .started_ms = 1'795'939'565'940,
                                  .finished_ms = 1'795'939'565'941}));
  write(results, "failed",
        wire::encode(wire::result{.id = "t-2",
                                  .error = "deadline exceeded",
                                  .attempts = 3,
                                  .worker = "host/123",
                                  .started_ms = 1,
                                  .finished_ms = 2}));
  write(results, "cancelled",
        wire::encode(wire::result{.id = "nap-1",
                                  .output = std::string{"\x00\x01", 2},
                                  .error = "cancelled",
                                  .worker = "orchestrator",
                                  .status = "cancelled"}));
  auto dead = corpus / "wire_dead_letter";
  auto original = wire::encode(wire::task{.id = "doomed-1", .type = "fail"});
  write(dead, "max-deliveries",
        wire::encode(wire::dead_letter{.id = "doomed-1",
                                       .role = "execute",
                                       .type = "fail",
                                       .reason = "used up 3 attempts",
                                       .attempts = 3,
                                       .subject = "smith.task.execute.fail.doomed-1",
                                       .stream_seq = 42,
                                       .failed_ms = 1'795'939'565'940,
                                       .original = original}));
  write(dead, "undecodable",
        wire::encode(wire::dead_letter{.reason = "the body did not decode",
                                       .attempts = 1,
                                       .subject = "smith.task.execute.echo.x",
                                       .stream_seq = 7,
                                       .original = "\x92\x01"}));
  return 0;
}
