#include "dapdee/support/json_field.hpp"

#include <fmt/format.h>

#include <cmath>

#include "dapdee/support/error.hpp"

namespace dapdee {

namespace {

// Phase 1 of a bounded parse: the deepest bracket nesting outside strings, stopping early.
bool nests_within(const std::string& text, int max_depth, size_t& at) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        at = i;
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

const char* type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "a value";
  }
}

std::string cut(std::string s, size_t limit) {
  if (s.size() <= limit) return s;
  size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // keep UTF-8 whole
  s.resize(n);
  return s + "...";
}

}  // namespace

nlohmann::json parse_json_bounded(const std::string& text, const std::string& where, int max_depth) {
  size_t at = 0;
  if (!nests_within(text, max_depth, at))
    throw Error(where, fmt::format("not valid JSON: nested deeper than {} levels (at byte {})", max_depth, at));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for 1e999
    throw Error(where, fmt::format("not valid JSON: {}", cut(e.what(), 200)));
  }
}

std::string json_excerpt(const nlohmann::json& v, size_t limit) {
  if (v.is_array()) return fmt::format("an array of {}", v.size());
  if (v.is_object()) return fmt::format("an object of {} member(s)", v.size());
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return fmt::format("a string ({})", nlohmann::json(cut(s, limit)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return cut(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), limit);
}

bool NumRange::contains(double x) const {
  if (!std::isfinite(x)) return false;
  if (lo_open ? !(x > lo) : !(x >= lo)) return false;
  if (hi_open ? !(x < hi) : !(x <= hi)) return false;
  return true;
}

std::string NumRange::describe() const {
  const bool no_lo = lo == -std::numeric_limits<double>::max();
  const bool no_hi = hi == std::numeric_limits<double>::max();
  if (no_lo && no_hi) return "a finite number";
  if (no_hi) return fmt::format("a finite number {} {}", lo_open ? ">" : ">=", lo);
  if (no_lo) return fmt::format("a finite number {} {}", hi_open ? "<" : "<=", hi);
  return fmt::format("a number in {}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
}

JsonField::JsonField(const nlohmann::json& value, std::string where, std::string path)
    : v_(&value), where_(std::move(where)), path_(std::move(path)) {}

void JsonField::fail(const std::string& what) const {
  throw Error(where_, path_.empty() ? what : path_ + ": " + what);
}

void JsonField::wrong_type(const char* expected) const {
  fail(fmt::format("expected {}, got {}", expected, json_excerpt(*v_)));
}

std::string JsonField::child_path(const std::string& key) const {
  const std::string k = cut(key, 60);
  return path_.empty() ? k : path_ + "." + k;
}

const JsonField& JsonField::expect_object() const {
  if (!v_->is_object()) wrong_type("an object");
  return *this;
}

const JsonField& JsonField::expect_array() const {
  if (!v_->is_array()) wrong_type("an array");
  return *this;
}

bool JsonField::has(const std::string& key) const {
  expect_object();
  const auto it = v_->find(key);
  return it != v_->end() && !it->is_null();
}

JsonField JsonField::at(const std::string& key) const {
  if (!has(key)) fail(fmt::format("missing field '{}'", cut(key, 60)));
  return JsonField(*v_->find(key), where_, child_path(key));
}

std::optional<JsonField> JsonField::find(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return JsonField(*v_->find(key), where_, child_path(key));
}

std::vector<JsonField> JsonField::items() const {
  expect_array();
  std::vector<JsonField> out;
  out.reserve(v_->size());
  for (size_t i = 0; i < v_->size(); ++i) out.emplace_back((*v_)[i], where_, fmt::format("{}[{}]", path_, i));
  return out;
}

std::vector<std::pair<std::string, JsonField>> JsonField::members() const {
  expect_object();
  std::vector<std::pair<std::string, JsonField>> out;
  out.reserve(v_->size());
  for (auto it = v_->begin(); it != v_->end(); ++it)
    out.emplace_back(it.key(), JsonField(it.value(), where_, child_path(it.key())));
  return out;
}

size_t JsonField::size() const {
  if (!v_->is_array() && !v_->is_object()) wrong_type("an array or an object");
  return v_->size();
}

std::string JsonField::str() const {
  if (!v_->is_string()) wrong_type("a string");
  return v_->get<std::string>();
}

double JsonField::num(NumRange range) const {
  if (!v_->is_number()) wrong_type("a number");
  const double x = v_->get<double>();
  if (!range.contains(x)) fail(fmt::format("expected {}, got {}", range.describe(), json_excerpt(*v_)));
  return x;
}

int64_t JsonField::int64(int64_t lo, int64_t hi) const {
  if (v_->is_number_unsigned() && v_->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail(fmt::format("integer {} is too large", json_excerpt(*v_)));
  if (!v_->is_number_integer()) wrong_type("an integer");
  const int64_t x = v_->get<int64_t>();
  if (lo == 0 && x < 0 && hi == std::numeric_limits<int64_t>::max())
    fail(fmt::format("expected a non-negative integer, got a negative one ({})", x));
  if (x < lo || x > hi) fail(fmt::format("expected an integer in [{}, {}], got {}", lo, hi, x));
  return x;
}

bool JsonField::boolean() const {
  if (!v_->is_boolean()) wrong_type("true or false");
  return v_->get<bool>();
}

std::vector<std::string> JsonField::strings() const {
  std::vector<std::string> out;
  for (const auto& x : items()) out.push_back(x.str());
  return out;
}

std::string JsonField::str_or(const std::string& key, const std::string& fallback) const {
  const auto f = find(key);
  return f ? f->str() : fallback;
}

double JsonField::num_or(const std::string& key, double fallback, NumRange range) const {
  const auto f = find(key);
  return f ? f->num(range) : fallback;
}

std::optional<double> JsonField::num_opt(const std::string& key, NumRange range) const {
  const auto f = find(key);
  if (!f) return std::nullopt;
  return f->num(range);
}

int64_t JsonField::int64_or(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  const auto f = find(key);
  return f ? f->int64(lo, hi) : fallback;
}

bool JsonField::bool_or(const std::string& key, bool fallback) const {
  const auto f = find(key);
  return f ? f->boolean() : fallback;
}

void JsonField::expect_format(const std::string& format) const {
  if (!v_->is_object()) fail(fmt::format("not a {} file (the top level is {}, not an object)", format, type_name(*v_)));
  const auto it = v_->find("format");
  if (it == v_->end()) fail(fmt::format("not a {} file (no 'format' field)", format));
  if (!it->is_string() || it->get_ref<const std::string&>() != format)
    fail(fmt::format("not a {} file (format is {})", format, json_excerpt(*it)));
}

JsonField parse_json_root(const std::string& text, const std::string& where, nlohmann::json& storage) {
  storage = parse_json_bounded(text, where);
  return JsonField(storage, where);
}

}  // namespace dapdee
