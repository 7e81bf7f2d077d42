#include "transport/wire/subjects.hpp"

#include <doctest/doctest.h>

using smith::transport::wire::is_subject_token;
using smith::transport::wire::subjects;

TEST_CASE("the default prefix names the streams and subjects of docs/WIRE.md") {
  subjects s;
  CHECK(s.task("compile", "build", "t-1") == "smith.task.compile.build.t-1");
  CHECK(s.task_of("t-1") == "smith.task.*.*.t-1");
  CHECK(s.task_filter("compile") == "smith.task.compile.>");
  CHECK(s.schedule("compile", "build", "t-1") == "smith.schedule.compile.build.t-1");
  CHECK(s.schedule_of("t-1") == "smith.schedule.*.*.t-1");
  CHECK(s.all_schedules() == "smith.schedule.>");
  CHECK(s.result("compile", "t-1") == "smith.result.compile.t-1");
  CHECK(s.result_of("t-1") == "smith.result.*.t-1");
  CHECK(s.role_results("compile") == "smith.result.compile.>");
  CHECK(s.event("t-1") == "smith.event.t-1");
  CHECK(s.dlq("compile", "build") == "smith.dlq.compile.build");
  CHECK(s.tasks_stream() == "SMITH_TASKS");
  CHECK(s.results_stream() == "SMITH_RESULTS");
  CHECK(s.dlq_stream() == "SMITH_DLQ");
  CHECK(subjects::consumer("compile") == "role-compile");
}

TEST_CASE("another prefix is another tenant with its own streams") {
  subjects s{"acme-prod"};
  CHECK(s.task("analyze", "lint", "x") == "acme-prod.task.analyze.lint.x");
  CHECK(s.tasks_stream() == "ACME_PROD_TASKS");
  CHECK(s.parse_task("acme-prod.task.analyze.lint.x").has_value());
  CHECK_FALSE(s.parse_task("smith.task.analyze.lint.x").has_value());
}

TEST_CASE("a task subject parses into role, type and id only in the version 2 form") {
  subjects s;
  auto a = s.parse_task("smith.task.compile.build.t-1");
  REQUIRE(a.has_value());
  CHECK(a->role == "compile");
  CHECK(a->type == "build");
  CHECK(a->id == "t-1");
  auto sched = s.parse_schedule("smith.schedule.compile.build.t-2");
  REQUIRE(sched.has_value());
  CHECK(sched->id == "t-2");
  CHECK_FALSE(s.parse_task("smith.schedule.compile.build.t-2").has_value());
  for (const char* bad : {"smith.task.compile.build", "smith.task.compile.build.t-1.x",
                          "smith.task.compile", "smith.task.", "smith.task..build.t", "smith.task",
                          "smith.taskx.compile.build.t", "smith.task.compile.build.", ""})
    CHECK_MESSAGE(!s.parse_task(bad).has_value(), bad);
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
