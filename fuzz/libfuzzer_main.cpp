// libFuzzer entry (clang -fsanitize=fuzzer): dapdee_fuzz --reader=NAME [libFuzzer flags] CORPUS...
// `dapdee_fuzz --list-readers` prints the readers this build has (plan_stream needs OpenCV).
// libFuzzer ignores flags that start with "--", so --reader is ours alone.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_readers.hpp"

namespace {
const dapdee_fuzz::Reader* g_reader = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    if (std::strncmp((*argv)[i], "--reader=", 9) == 0) g_reader = dapdee_fuzz::find_reader((*argv)[i] + 9);
    if (std::strcmp((*argv)[i], "--list-readers") == 0) {  // the readers this build has, one a line
      for (const auto& r : dapdee_fuzz::readers()) std::printf("%s\n", r.name);
      std::exit(0);
    }
  }
  if (!g_reader) {
    std::fprintf(stderr, "dapdee_fuzz: give --reader=NAME, one of:");
    for (const auto& r : dapdee_fuzz::readers()) std::fprintf(stderr, " %s", r.name);
    std::fprintf(stderr, "\n");
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dapdee_fuzz::run_one(*g_reader, data, size);
  return 0;
}
