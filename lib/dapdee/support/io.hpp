// File helpers shared by the tools: stdin/stdout as "-", outputs that never replace what they
// should not (atomic for regular files, write-through for devices and FIFOs, all-or-nothing for
// several files), and the input/output path checks.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dapdee {

// Reads a whole file, or stdin when path is "-"; throws Error(path, ...) when it cannot.
std::string read_input(const std::string& path);

// Writes `data` to path. "-" writes stdout. An existing non-regular file (/dev/null, a FIFO,
// /dev/stdout) is opened and written through, never replaced. A regular file (through any
// symlinks, which are kept) or a new path gets a temporary file in the same folder renamed into
// place, so a failure leaves no partial file. Inside an OutputTransaction the rename waits for
// commit(). Throws Error(path, ...) when the file cannot be written.
void write_output_atomic(const std::string& path, const std::string& data);

// All-or-nothing for several outputs: while one is alive, write_output_atomic stages every
// write (temporary files for regular files, memory for devices and FIFOs); commit() puts them
// all in place, the destructor removes whatever was not committed. One at a time per process.
class OutputTransaction {
 public:
  OutputTransaction();
  ~OutputTransaction();
  OutputTransaction(const OutputTransaction&) = delete;
  OutputTransaction& operator=(const OutputTransaction&) = delete;
  // Renames the staged files into place and writes the staged device outputs; throws Error
  // naming the output that failed (files renamed before it stay written: renames rarely fail
  // once every temporary file is complete in the destination folder).
  void commit();

  // One staged output: shown path, rename target, temporary file (or data for a device).
  struct Staged {
    std::string path, target, temp, data;
    bool through = false;  // a non-regular file: written at commit
    int slot = -1;         // its entry in the signal handler's list
  };

 private:
  std::vector<Staged> staged_;
  bool committed_ = false;
  friend void write_output_atomic(const std::string& path, const std::string& data);
};

// An output written as it is produced, under write_output_atomic's rules: "-" is stdout, an
// existing non-regular file is written through, a regular file or new path gets a temporary file
// beside it that commit() renames into place and the destructor removes when not committed.
// Throws Error(path, ...) when the file cannot be created or written. Not inside an
// OutputTransaction.
class OutputStream {
 public:
  explicit OutputStream(const std::string& path);
  ~OutputStream();
  OutputStream(const OutputStream&) = delete;
  OutputStream& operator=(const OutputStream&) = delete;
  // Appends `data`; throws Error(path, ...) on a write error.
  void write(const std::string& data);
  // Finishes the output (the rename for a regular file); throws Error(path, ...) when it cannot.
  void commit();

 private:
  std::string path_, target_, temp_;
  int fd_ = -1, slot_ = -1;
  bool committed_ = false;
};

// Refuses output paths that would destroy an input or each other: throws Error(output, ...)
// when an output is the same file as an input (also through links), or when two outputs are the
// same regular file or path, or when an output could not be written (its folder is missing or
// not writable, or it is a folder), so that a tool fails before any work. "-" and non-regular
// files (/dev/null) may repeat; empty paths are ignored.
void check_output_paths(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs);

// Installs SIGINT/SIGTERM/SIGHUP handlers that remove the temporary files being written, then
// die of the same signal. Idempotent; never fails.
void install_output_cleanup();

// Parses JSON text with bounded nesting (parse_json_bounded); throws Error(where, "not valid JSON: ...").
nlohmann::json parse_json(const std::string& text, const std::string& where);

// Returns the final component of a path without its extension ("a/b/resnet18.onnx" -> "resnet18").
std::string file_stem(const std::string& path);

}  // namespace dapdee
