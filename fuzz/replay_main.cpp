// Replays committed fuzz inputs with any compiler (ctest): dapdee_fuzz_replay READER PATH...
// Each PATH is a file or a folder of files; every input must be accepted or refused with
// dapdee::Error. Exit 0 when all pass, 2 on a usage error; a finding aborts.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_readers.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 3 || !dapdee_fuzz::find_reader(argv[1])) {
    std::fprintf(stderr, "usage: dapdee_fuzz_replay READER PATH...\nreaders:");
    for (const auto& r : dapdee_fuzz::readers()) std::fprintf(stderr, " %s", r.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  const auto& reader = *dapdee_fuzz::find_reader(argv[1]);
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& e : fs::directory_iterator(argv[i]))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    } else if (fs::exists(argv[i], ec)) {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "%s: no input found: a replay with nothing to replay proves nothing\n", reader.name);
    return 1;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "%s: %s (%zu bytes)\n", reader.name, f.c_str(), data.size());
    dapdee_fuzz::run_one(reader, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  std::printf("%s: %zu input(s) replayed, all accepted or refused cleanly\n", reader.name, files.size());
  return 0;
}
