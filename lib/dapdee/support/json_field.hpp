// Typed, bounded access to JSON input: every reader goes through it, so a value of the wrong
// type, out of range or missing is an Error naming the file and the field path, never an
// nlohmann exception; nesting is bounded before parsing; messages quote bounded excerpts.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dapdee {

// Deepest nesting of arrays and objects a reader accepts (the formats need 4).
inline constexpr int kMaxJsonDepth = 64;

// Parses JSON text after checking that it nests at most max_depth levels; throws
// Error(where, "not valid JSON: ...") or Error(where, "nested deeper than N levels").
nlohmann::json parse_json_bounded(const std::string& text, const std::string& where, int max_depth = kMaxJsonDepth);

// A short printable description of a value: scalars as JSON text (at most `limit` characters,
// cut with "..."), arrays and objects by their size. Never fails, never recurses.
std::string json_excerpt(const nlohmann::json& v, size_t limit = 40);

// An inclusive or open range a number must fall in; finite unless `allow_infinite`.
struct NumRange {
  double lo = -std::numeric_limits<double>::max();
  double hi = std::numeric_limits<double>::max();
  bool lo_open = false;
  bool hi_open = false;
  static NumRange any() { return {}; }
  static NumRange non_negative() { return {0.0, std::numeric_limits<double>::max(), false, false}; }
  static NumRange positive() { return {0.0, std::numeric_limits<double>::max(), true, false}; }
  static NumRange unit() { return {0.0, 1.0, false, false}; }
  bool contains(double x) const;
  std::string describe() const;
};

// One JSON value at a path inside a file. Accessors throw Error(where, "<path>: <what>").
class JsonField {
 public:
  JsonField(const nlohmann::json& value, std::string where, std::string path = "");

  const nlohmann::json& raw() const { return *v_; }
  const std::string& path() const { return path_; }
  const std::string& where() const { return where_; }

  bool is_null() const { return v_->is_null(); }
  // Throws unless the value is an object / an array.
  const JsonField& expect_object() const;
  const JsonField& expect_array() const;

  // Members of an object: `has` is true when present and not null.
  bool has(const std::string& key) const;
  // The member; throws when absent (or null) or when this is not an object.
  JsonField at(const std::string& key) const;
  // The member, or nullopt when absent or null; throws when this is not an object.
  std::optional<JsonField> find(const std::string& key) const;

  // Elements of an array, and members of an object in key order (throw on other types).
  std::vector<JsonField> items() const;
  std::vector<std::pair<std::string, JsonField>> members() const;
  size_t size() const;

  // Typed values; throw naming the path when the type or range is wrong.
  std::string str() const;
  double num(NumRange range = NumRange::any()) const;
  int64_t int64(int64_t lo = std::numeric_limits<int64_t>::min(), int64_t hi = std::numeric_limits<int64_t>::max()) const;
  bool boolean() const;
  std::vector<std::string> strings() const;

  // Shorthands for members: required, and optional with a default.
  std::string str(const std::string& key) const { return at(key).str(); }
  std::string str_or(const std::string& key, const std::string& fallback) const;
  double num(const std::string& key, NumRange range = NumRange::any()) const { return at(key).num(range); }
  double num_or(const std::string& key, double fallback, NumRange range = NumRange::any()) const;
  std::optional<double> num_opt(const std::string& key, NumRange range = NumRange::any()) const;
  int64_t int64_or(const std::string& key, int64_t fallback, int64_t lo = std::numeric_limits<int64_t>::min(),
                   int64_t hi = std::numeric_limits<int64_t>::max()) const;
  bool bool_or(const std::string& key, bool fallback) const;

  // Throws unless member "format" is the string `format` ("not a <format> file (format is ...)").
  void expect_format(const std::string& format) const;

  // Throws Error(where, "<path>: <what>").
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string child_path(const std::string& key) const;
  [[noreturn]] void wrong_type(const char* expected) const;
  const nlohmann::json* v_;
  std::string where_, path_;
};

// Parses `text` with bounded depth and returns the root field (the JSON is kept in `storage`).
JsonField parse_json_root(const std::string& text, const std::string& where, nlohmann::json& storage);

}  // namespace dapdee
