// The one error type of the toolchain, and small result values for low-level parsers.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace dapdee {

// A user-facing failure: `where` is the file (or "-" for stdin), `what()` says what is wrong.
// Tools catch it once and print "dapdee-<tool>: error: <where>: <what>" with exit code 1.
class Error : public std::runtime_error {
 public:
  Error(std::string where, const std::string& what)
      : std::runtime_error(what), where_(std::move(where)) {}
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  // The file the error is about; empty when it is about no particular file.
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

// A command line the library finds wrong (an unknown preset, an option another one needs, a
// combination of options): tools print "dapdee-<tool>: usage: <where>: <what>" with exit code 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Result of a low-level parse: a value, or a message that the caller turns into an Error.
template <typename T>
class Parsed {
 public:
  Parsed(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  static Parsed failure(std::string message) { return Parsed(Fail{std::move(message)}); }
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T value() && { return std::get<0>(std::move(v_)); }
  const std::string& message() const { return std::get<1>(v_).message; }
  // The value, or throws Error(where, message).
  T take(const std::string& where) && {
    if (!ok()) throw Error(where, message());
    return std::get<0>(std::move(v_));
  }

 private:
  struct Fail {
    std::string message;
  };
  explicit Parsed(Fail f) : v_(std::move(f)) {}
  std::variant<T, Fail> v_;
};

}  // namespace dapdee
