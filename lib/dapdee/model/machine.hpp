// The machine a profile was measured on: what dapdee-profile records and dapdee-plan compares.
#pragma once

#include <string>

#include "dapdee/support/json_field.hpp"

namespace dapdee {

// A machine as a profile records it (the "machine" object, docs/FORMATS.md). Empty strings and
// zeros are unknown: profiles from before issue 25 record only cpu, cores and threads.
struct Machine {
  std::string cpu;              // CPU model ("unknown" when /proc/cpuinfo does not say)
  unsigned cores = 0;           // logical cores of the machine
  int threads = 0;              // threads the runtime was given for the measurement
  std::string arch;             // uname -m: x86_64, aarch64, armv7l
  std::string os;               // PRETTY_NAME of /etc/os-release
  std::string kernel;           // uname -r
  std::string runtime;          // e.g. "OpenCV DNN"
  std::string runtime_version;  // e.g. "4.6.0"
  std::string governor;         // cpu0's cpufreq scaling governor; empty when not readable
};

// This machine: the CPU model from /proc/cpuinfo ("model name"; on ARM the board's "Model", the
// device tree's model or the core's name from "CPU part"; else "unknown"), logical cores, uname,
// /etc/os-release and the governor. Never fails: what cannot be read is left empty.
Machine this_machine();

// The "machine" object of a profile, as JSON text (unknown strings left out). Never fails.
std::string machine_json(const Machine& m);

// Reads a profile's "machine" object (absent: all unknown); throws Error(where, path: ...) when
// a member has the wrong type.
Machine parse_machine(const JsonField& profile_root);

// One line for people: "aarch64, Cortex-A72, 4 cores (1 thread), Debian GNU/Linux 12 (bookworm),
// Linux 6.1.0, OpenCV DNN 4.6.0, governor ondemand"; unknown parts left out, "unknown machine"
// when nothing is known. Never fails.
std::string machine_summary(const Machine& m);

// True when both machines record their identity (arch and kernel: profiles from issue 25 on) and
// it is the same: CPU model, cores, arch, OS and kernel. Never fails.
bool same_machine(const Machine& a, const Machine& b);

}  // namespace dapdee
