#include "dapdee/support/io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "dapdee/support/error.hpp"
#include "dapdee/support/json_field.hpp"

namespace dapdee {

namespace fs = std::filesystem;

std::string read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path, "is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path, "read failed");
  return data;
}

namespace {

OutputTransaction* g_transaction = nullptr;

// Temporary files being written, for the signal handler: fixed storage, no allocation there.
constexpr int kMaxTemps = 32;
char g_temp_paths[kMaxTemps][4096];
volatile std::sig_atomic_t g_temp_used[kMaxTemps];

extern "C" void remove_temps_and_die(int sig) {
  for (int i = 0; i < kMaxTemps; ++i)
    if (g_temp_used[i]) ::unlink(g_temp_paths[i]);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Blocks the cleanup signals while a temporary file is created and registered (or renamed and
// unregistered), so the handler never misses one nor removes a file already in place.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&s, sig);
    sigprocmask(SIG_BLOCK, &s, &old_);
  }
  ~SignalBlock() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

int register_temp(const std::string& path) {
  for (int i = 0; i < kMaxTemps; ++i)
    if (!g_temp_used[i] && path.size() < sizeof g_temp_paths[i]) {
      std::memcpy(g_temp_paths[i], path.c_str(), path.size() + 1);
      g_temp_used[i] = 1;
      return i;
    }
  return -1;  // not tracked: the file is still removed on any error, only a signal would leave it
}

void unregister_temp(int slot) {
  if (slot >= 0) g_temp_used[slot] = 0;
}

void write_fd(int fd, const std::string& data, const std::string& shown) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(shown, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

// Phase for devices and FIFOs: open the existing file and write into it.
void write_through(const std::string& path, const std::string& data) {
  // O_APPEND: through /dev/stdout to a file opened with >> the data goes after what is there.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw Error(path, std::string("cannot open for writing: ") + std::strerror(errno));
  try {
    write_fd(fd, data, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) throw Error(path, std::string("write failed: ") + std::strerror(errno));
}

// /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N name an open descriptor: whatever is
// behind it (even a regular file the shell redirected to) is written through, never replaced.
bool names_descriptor(const std::string& path) {
  for (const char* prefix : {"/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/"})
    if (path.rfind(prefix, 0) == 0) return true;
  return false;
}

// Where the rename goes: through symlinks to the file they name, so the link stays a link.
std::string rename_target(const std::string& path) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(path, ec))) {
    const fs::path real = fs::canonical(path, ec);
    if (!ec) return real.string();
  }
  return path;
}

mode_t new_file_mode(const std::string& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) return st.st_mode & 07777;
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

struct Temp {
  std::string path;
  int slot = -1;
};

void drop(Temp& t) {
  SignalBlock block;
  ::unlink(t.path.c_str());
  unregister_temp(t.slot);
  t.slot = -1;
}

// Phase for regular files: a complete temporary file beside the target.
Temp write_temp(const std::string& target, const std::string& data, const std::string& shown) {
  const fs::path t(target);
  const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
  Temp tmp;
  tmp.path = (dir / ("." + t.filename().string() + ".tmp.XXXXXX")).string();
  int fd = -1;
  {
    SignalBlock block;
    fd = ::mkstemp(tmp.path.data());
    if (fd >= 0) tmp.slot = register_temp(tmp.path);
  }
  if (fd < 0) throw Error(shown, std::string("cannot create: ") + std::strerror(errno));
  try {
    ::fchmod(fd, new_file_mode(target));
    write_fd(fd, data, shown);
    if (::close(fd) != 0) {
      fd = -1;
      throw Error(shown, std::string("write failed: ") + std::strerror(errno));
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    drop(tmp);
    throw;
  }
  return tmp;
}

void place(Temp& t, const std::string& target, const std::string& shown) {
  SignalBlock block;
  if (std::rename(t.path.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(t.path.c_str());
    unregister_temp(t.slot);
    throw Error(shown, std::string("cannot rename into place: ") + std::strerror(err));
  }
  unregister_temp(t.slot);
}

}  // namespace

namespace {

// How an output path is written: stdout, through an existing non-regular file (a device, a FIFO,
// a descriptor's name), or replaced by a renamed temporary file. Throws Error for an empty path
// or a directory.
enum class OutputKind { Stdout, Through, Replace };
OutputKind output_kind(const std::string& path) {
  if (path == "-") return OutputKind::Stdout;
  if (path.empty()) throw Error("output", "the output path is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return OutputKind::Replace;
  if (S_ISDIR(st.st_mode)) throw Error(path, "is a directory");
  return !S_ISREG(st.st_mode) || names_descriptor(path) ? OutputKind::Through : OutputKind::Replace;
}

}  // namespace

void write_output_atomic(const std::string& path, const std::string& data) {
  const OutputKind kind = output_kind(path);
  if (kind == OutputKind::Stdout) {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    if (!std::cout) throw Error("-", "cannot write to stdout");
    return;
  }
  if (kind == OutputKind::Through) {
    if (g_transaction) g_transaction->staged_.push_back({path, path, "", data, true, -1});
    else write_through(path, data);
    return;
  }
  const std::string target = rename_target(path);
  Temp t = write_temp(target, data, path);
  if (g_transaction) {
    g_transaction->staged_.push_back({path, target, t.path, "", false, t.slot});
    return;
  }
  place(t, target, path);
}

OutputStream::OutputStream(const std::string& path) : path_(path) {
  if (g_transaction) throw Error(path, "internal: a streamed output inside an output transaction");
  const OutputKind kind = output_kind(path);
  if (kind == OutputKind::Stdout) return;  // std::cout
  if (kind == OutputKind::Through) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) throw Error(path, std::string("cannot open for writing: ") + std::strerror(errno));
    return;
  }
  target_ = rename_target(path);
  Temp t = write_temp(target_, "", path);  // created empty, kept open again below
  temp_ = t.path;
  slot_ = t.slot;
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) {
    drop(t);
    throw Error(path, std::string("cannot open for writing: ") + std::strerror(errno));
  }
}

OutputStream::~OutputStream() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) {
    Temp t{temp_, slot_};
    drop(t);
  }
}

void OutputStream::write(const std::string& data) {
  if (path_ == "-") {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!std::cout) throw Error("-", "cannot write to stdout");
    return;
  }
  write_fd(fd_, data, path_);
}

void OutputStream::commit() {
  if (path_ == "-") {
    std::cout.flush();
    if (!std::cout) throw Error("-", "cannot write to stdout");
    committed_ = true;
    return;
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw Error(path_, std::string("write failed: ") + std::strerror(errno));
  committed_ = true;
  if (temp_.empty()) return;
  Temp t{temp_, slot_};
  place(t, target_, path_);
}

OutputTransaction::OutputTransaction() {
  if (g_transaction) throw Error("output", "internal: nested output transactions");
  g_transaction = this;
}

OutputTransaction::~OutputTransaction() {
  if (g_transaction == this) g_transaction = nullptr;
  if (committed_) return;
  for (auto& s : staged_)
    if (!s.through) {
      Temp t{s.temp, s.slot};
      drop(t);
    }
}

void OutputTransaction::commit() {
  g_transaction = nullptr;
  committed_ = true;
  for (auto& s : staged_) {
    if (s.through) {
      write_through(s.path, s.data);
    } else {
      Temp t{s.temp, s.slot};
      s.slot = -1;
      place(t, s.target, s.path);
    }
  }
}

namespace {

struct FileId {
  bool exists = false, regular = false;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string canonical;
};

FileId identify(const std::string& path) {
  FileId id;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.regular = S_ISREG(st.st_mode);
    id.dev = st.st_dev;
    id.ino = st.st_ino;
  }
  std::error_code ec;
  const fs::path c = fs::weakly_canonical(path, ec);
  id.canonical = ec ? fs::absolute(path, ec).lexically_normal().string() : c.string();
  return id;
}

bool same_file(const FileId& a, const FileId& b) {
  if (a.exists && b.exists) return a.dev == b.dev && a.ino == b.ino;
  return a.canonical == b.canonical;
}

// Throws Error(out, ...) when `out` could not be created or replaced: its folder is missing or
// not writable (the temporary file and the rename need it).
void check_writable(const std::string& out) {
  std::error_code ec;
  const fs::path parent = fs::path(out).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  if (!fs::is_directory(dir, ec))
    throw Error(out, fmt::format("cannot be written: the folder '{}' does not exist", dir));
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error(out, fmt::format("cannot be written: the folder '{}' is not writable ({})", dir, std::strerror(errno)));
}

}  // namespace

void check_output_paths(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  std::vector<std::pair<std::string, FileId>> seen;
  for (const auto& out : outputs) {
    if (out.empty() || out == "-") continue;
    const FileId o = identify(out);
    std::error_code ec;
    if (o.exists && fs::is_directory(out, ec)) throw Error(out, "is a folder: give a file name to write");
    if (o.exists && (!o.regular || names_descriptor(out))) continue;  // /dev/null, a FIFO, /dev/stdout
    check_writable(out);
    for (const auto& in : inputs) {
      if (in.empty() || in == "-") continue;
      if (same_file(o, identify(in)))
        throw Error(out, fmt::format("is also an input ('{}'): writing it would destroy what is read", in));
    }
    for (const auto& [prev, id] : seen)
      if (same_file(o, id)) throw Error(out, fmt::format("is given twice as an output (also as '{}')", prev));
    seen.emplace_back(out, o);
  }
}

void install_output_cleanup() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction sa {};
  sa.sa_handler = remove_temps_and_die;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

nlohmann::json parse_json(const std::string& text, const std::string& where) { return parse_json_bounded(text, where); }

std::string file_stem(const std::string& path) {
  if (path == "-") return "stdin";
  return fs::path(path).stem().string();
}

}  // namespace dapdee
