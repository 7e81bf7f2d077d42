#include "transport/wire/subjects.hpp"

#include <doctest/doctest.h>

using smith::transport::wire::is_subject_token;
using smith::transport::wire::subjects;

TEST_CASE("the default prefix names the streams and subjects of docs/WIRE.md") {
  subjects s;
  CHECK(s.task("compile", "build") == "smith.task.compile.build");
  CHECK(s.task_filter("compile") == "smith.task.compile.>");
  CHECK(s.result("t-1") == "smith.result.t-1");
  CHECK(s.event("t-1") == "smith.event.t-1");
  CHECK(s.dlq("compile", "build") == "smith.dlq.compile.build");
  CHECK(s.tasks_stream() == "SMITH_TASKS");
  CHECK(s.results_stream() == "SMITH_RESULTS");
  CHECK(s.dlq_stream() == "SMITH_DLQ");
  CHECK(subjects::consumer("compile") == "role-compile");
}

TEST_CASE("another prefix is another tenant with its own streams") {
  subjects s{"acme-prod"};
  CHECK(s.task("analyze", "lint") == "acme-prod.task.analyze.lint");
  CHECK(s.tasks_stream() == "ACME_PROD_TASKS");
}

TEST_CASE("a subject token refuses separators, wildcards and whitespace") {
  CHECK(is_subject_token("compile"));
  CHECK(is_subject_token("01HZX-abc_9"));
  CHECK_FALSE(is_subject_token(""));
  CHECK_FALSE(is_subject_token("a.b"));
  CHECK_FALSE(is_subject_token("*"));
  CHECK_FALSE(is_subject_token("a>"));
  CHECK_FALSE(is_subject_token("a b"));
  CHECK_FALSE(is_subject_token("a\tb"));
}
