// The readers under fuzzing: one table, one line per reader (issue 13). Each entry feeds
// arbitrary bytes to one input format the tools read; a dapdee::Error is the expected outcome
// of bad input, anything else (another exception, a crash, a sanitizer report) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dapdee_fuzz {

// One reader: its name (corpus folder fuzz/corpus/<name>/) and the call that reads `data`.
struct Reader {
  const char* name;
  void (*read)(const std::string& data);
};

// Every reader, in a fixed order.
const std::vector<Reader>& readers();

// The reader called `name`, or nullptr.
const Reader* find_reader(const std::string& name);

// Runs one input through `reader`: returns normally when it is accepted or refused with
// dapdee::Error; aborts (a finding) on any other exception.
void run_one(const Reader& reader, const uint8_t* data, size_t size);

}  // namespace dapdee_fuzz
