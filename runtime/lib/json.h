//===- json.h - A small strict JSON reader for manifests --------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The runtime reads one kind of JSON: artifact manifests, which may be
// truncated, corrupted or hostile. So this reader is strict (RFC 8259
// exactly: no comments, trailing commas, NaN, leading zeros, BOM, lone
// surrogates or invalid UTF-8; duplicate keys are an error because two
// readers could pick different ones) and bounded (input size, nesting depth
// and value count are capped, so no input can exhaust the stack or memory).
// It never throws on bad input: errors come back as text with line and
// column. It has no dependency, so the runtime stays free of LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_LIB_JSON_H
#define ATTN_RUNTIME_LIB_JSON_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attn::rt::json {

enum class Kind { Null, Bool, Number, String, Array, Object };

/// Kind name for messages: "null", "a boolean", "a number", ...
const char *kindName(Kind kind);

class Value {
public:
  Kind kind = Kind::Null;
  bool boolean = false;
  /// Numbers: `number` always; `isInteger` when the text had no fraction or
  /// exponent and fits int64, then `integer` holds it exactly (a double
  /// cannot hold every int64, and sizes and hashes of files need them).
  double number = 0;
  bool isInteger = false;
  int64_t integer = 0;
  std::string string;
  /// Arrays use `items`; objects use `keys` and `items` pairwise, in the
  /// order of the text.
  std::vector<std::string> keys;
  std::vector<Value> items;

  bool isNull() const { return kind == Kind::Null; }
  bool isObject() const { return kind == Kind::Object; }
  bool isArray() const { return kind == Kind::Array; }
  bool isString() const { return kind == Kind::String; }
  bool isBool() const { return kind == Kind::Bool; }
  bool isNumber() const { return kind == Kind::Number; }

  /// The member `key` of an object, or nullptr (also for non-objects).
  const Value *find(std::string_view key) const;
};

struct Limits {
  size_t maxBytes = 4u << 20; // manifests are kilobytes; 4 MiB is generous
  int maxDepth = 64;          // arrays/objects nested deeper are refused
  size_t maxValues = 1u << 18;
  size_t maxStringBytes = 1u << 16;
};

/// Parses `text` as one JSON value. On failure returns false and sets
/// `error` to "line L, column C: what" (C counts bytes from 1).
bool parse(std::string_view text, Value &out, std::string &error,
           const Limits &limits = Limits());

/// `text` as a JSON string literal (quotes and escapes), for messages and
/// for tests that write manifests.
std::string quote(std::string_view text);

} // namespace attn::rt::json

#endif // ATTN_RUNTIME_LIB_JSON_H
