// The fuzz targets' assertion: a property that does not hold aborts, which libFuzzer reports as
// a crash and keeps the input of (assert() would vanish under NDEBUG).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "fuzz: property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
