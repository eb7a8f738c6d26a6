//===- attn-run.cpp - Run a function of an attn artifact ------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Calls one function of an artifact that attn-compile wrote, through the
// runtime's C API (attn_runtime.h), on random inputs or on .npy files;
// checks the outputs against .npy files or against a naive double-precision
// reference; times the call; prints one JSON object:
//
//   attn-run out/ --function causal_gqa --shape B=1,Sq=1024 --check-reference
//
// The C API says how many inputs and outputs a function has, not their
// shapes, so attn-run reads manifest.json itself (docs/compile.md) for the
// shapes of random inputs and outputs, the pattern and the scale. It checks
// no shape itself: the runtime does, and attn-run prints its message.
//
// Like the runtime, this links nothing from LLVM/MLIR. docs/runtime.md is
// the user's guide.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/attn_runtime.h"

#include "half_float.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

const char *kUsage = R"(usage: attn-run ARTIFACT_DIR --function NAME [options]
  --input I=FILE.npy     input I (argument number, or name: query, key,
                         value, gates, active, blocks, compressed_key,
                         weights, ...) from a .npy file (repeatable); the
                         others are random, uniform in [-1, 1] (blocks
                         lists: random valid block lists; sparse_branches'
                         weights: uniform in [0, 1])
  --shape N=V,...        sizes the manifest leaves dynamic (B, Sq, Skv, ...);
                         default B=1, Sq=1024, Skv=Sq, or taken from --input
  --gates LIST           heads computed in every batch ("0,2,5-7"; "none"),
                         for gated functions; default all
  --output-dir DIR       write each output as DIR/<function>_out<N>.npy
  --expect F.npy[,F.npy] compare output N with the N-th file
  --check-reference      compare with a double-precision reference computed
                         here (dense, causal, local, chunked, strided,
                         global, union, per_head, selected patterns;
                         select_blocks indices exactly, compress_kv;
                         sparse_branches with a window pattern of those)
  --rtol R --atol A      pass iff |out - ref| <= atol + rtol * |ref|
                         everywhere (defaults by dtype: f32 1e-3/1e-5,
                         f16 1e-2/1e-2, bf16 3e-2/3e-2)
  --warmup N --reps N    untimed calls, then timed ones (2, 10)
  --threads N            CPU threads, the caller's included (0: all cores)
  --seed S               random inputs' seed (0)
  --device cpu|cuda      where tensors live (default: the artifact's)
Prints one JSON object. Exit status: 0 ok, 1 error, 2 bad usage, 3 a check
failed.
)";

//===----------------------------------------------------------------------===//
// Failures: thrown inside, printed once by main()
//===----------------------------------------------------------------------===//

struct Failure {
  int exitCode;
  std::string status; // an attn_status name, or "usage"
  std::string message;
};

[[noreturn]] void usageError(const std::string &message) {
  throw Failure{2, "usage", message};
}
[[noreturn]] void error(const std::string &status, const std::string &message) {
  throw Failure{1, status, message};
}
[[noreturn]] void runtimeError(attn_status status, const std::string &what) {
  std::string message = attn_last_error();
  if (message.empty())
    message = attn_status_name(status);
  // The runtime's messages name the call and the argument already.
  error(attn_status_name(status), what.empty() ? message : what + ": " + message);
}

int64_t parseInt(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || errno)
    usageError(flag + " takes an integer, got '" + text + "'");
  return value;
}

double parseReal(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || !(value >= 0))
    usageError(flag + " takes a number >= 0, got '" + text + "'");
  return value;
}

std::vector<std::string> split(const std::string &text, char sep) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, sep);)
    parts.push_back(part);
  return parts;
}

//===----------------------------------------------------------------------===//
// JSON: a reader for manifest.json, a writer for the result
//===----------------------------------------------------------------------===//

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json *get(const std::string &key) const {
    for (const auto &m : members)
      if (m.first == key)
        return &m.second;
    return nullptr;
  }
};

/// Recursive descent over RFC 8259 JSON. Depth is bounded so that a corrupt
/// manifest cannot overflow the stack (the runtime validated it already, but
/// attn-run must not crash when it did not).
class JsonReader {
public:
  explicit JsonReader(const std::string &text) : text(text) {}

  bool parse(Json &out, std::string &message) {
    if (!value(out, 0)) {
      message = why + " at byte " + std::to_string(pos);
      return false;
    }
    skip();
    if (pos != text.size()) {
      message = "trailing text at byte " + std::to_string(pos);
      return false;
    }
    return true;
  }

private:
  void skip() {
    while (pos < text.size() && std::strchr(" \t\r\n", text[pos]))
      ++pos;
  }
  bool fail(const char *message) {
    why = message;
    return false;
  }
  bool literal(const char *word) {
    size_t n = std::strlen(word);
    if (text.compare(pos, n, word) != 0)
      return fail("unexpected token");
    pos += n;
    return true;
  }
  bool string(std::string &out) {
    ++pos; // the opening quote
    while (pos < text.size() && text[pos] != '"') {
      char c = text[pos++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= text.size())
        break;
      char e = text[pos++];
      switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (pos + 4 > text.size())
          return fail("bad \\u escape");
        unsigned code = std::strtoul(text.substr(pos, 4).c_str(), nullptr, 16);
        pos += 4;
        // Names in manifests are ASCII; keep others as UTF-8 (BMP only).
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xc0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3f));
        } else {
          out += static_cast<char>(0xe0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
          out += static_cast<char>(0x80 | (code & 0x3f));
        }
        break;
      }
      default: out += e;
      }
    }
    if (pos >= text.size())
      return fail("unterminated string");
    ++pos;
    return true;
  }
  bool value(Json &out, int depth) {
    if (depth > 64)
      return fail("nesting too deep");
    skip();
    if (pos >= text.size())
      return fail("unexpected end");
    char c = text[pos];
    if (c == '{') {
      out.kind = Json::Object;
      ++pos;
      skip();
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        return true;
      }
      while (true) {
        skip();
        if (pos >= text.size() || text[pos] != '"')
          return fail("expected a key");
        std::string key;
        if (!string(key))
          return false;
        skip();
        if (pos >= text.size() || text[pos] != ':')
          return fail("expected ':'");
        ++pos;
        Json member;
        if (!value(member, depth + 1))
          return false;
        out.members.emplace_back(std::move(key), std::move(member));
        skip();
        if (pos < text.size() && text[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < text.size() && text[pos] == '}') {
          ++pos;
          return true;
        }
        return fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      out.kind = Json::Array;
      ++pos;
      skip();
      if (pos < text.size() && text[pos] == ']') {
        ++pos;
        return true;
      }
      while (true) {
        Json item;
        if (!value(item, depth + 1))
          return false;
        out.items.push_back(std::move(item));
        skip();
        if (pos < text.size() && text[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < text.size() && text[pos] == ']') {
          ++pos;
          return true;
        }
        return fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      out.kind = Json::String;
      return string(out.text);
    }
    if (c == 't' || c == 'f') {
      out.kind = Json::Bool;
      out.boolean = c == 't';
      return literal(c == 't' ? "true" : "false");
    }
    if (c == 'n')
      return literal("null");
    const char *start = text.c_str() + pos;
    char *end = nullptr;
    out.number = std::strtod(start, &end);
    if (end == start)
      return fail("unexpected character");
    out.kind = Json::Number;
    pos += end - start;
    return true;
  }

  const std::string &text;
  size_t pos = 0;
  std::string why;
};

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// A number as JSON has it: no NaN or infinity there, so those are null.
std::string jsonNumber(double value) {
  if (!std::isfinite(value))
    return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string jsonInts(const std::vector<int64_t> &values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

//===----------------------------------------------------------------------===//
// Element types and host tensors
//===----------------------------------------------------------------------===//

int64_t dtypeBytes(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32:
  case ATTN_DTYPE_I32: return 4;
  case ATTN_DTYPE_F16:
  case ATTN_DTYPE_BF16: return 2;
  case ATTN_DTYPE_BOOL: return 1;
  }
  return 1;
}

using namespace attn::rt::tools; // f16/bf16 conversions (half_float.h)

/// Bytes are counted before allocating, so that absurd shapes become an
/// error rather than an overflow.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;

/// A host tensor: shape and strides (in elements) over a 64-byte aligned
/// buffer that it owns.
struct HostTensor {
  attn_dtype dtype = ATTN_DTYPE_F32;
  std::vector<int64_t> shape, strides;
  std::shared_ptr<char> storage;
  int64_t bytes = 0;

  static HostTensor make(attn_dtype dtype, const std::vector<int64_t> &shape,
                         const std::string &what) {
    HostTensor t;
    t.dtype = dtype;
    t.shape = shape;
    t.strides.assign(shape.size(), 1);
    int64_t n = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] < 0)
        error("ATTN_ERROR_INVALID_ARGUMENT",
              what + ": negative size " + std::to_string(shape[i]));
      t.strides[i] = n;
      if (shape[i] && n > kMaxTensorBytes / shape[i])
        error("ATTN_ERROR_INVALID_ARGUMENT", what + ": shape " +
                                                 jsonInts(shape) +
                                                 " is too large");
      n *= shape[i];
    }
    if (n > kMaxTensorBytes / dtypeBytes(dtype))
      error("ATTN_ERROR_INVALID_ARGUMENT",
            what + ": shape " + jsonInts(shape) + " is too large");
    t.bytes = n * dtypeBytes(dtype);
    // Refuse what cannot fit rather than let the kernel's first touch of
    // overcommitted pages summon the OOM killer.
    static int64_t total = 0;
    const int64_t physical = int64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    total += t.bytes;
    if (physical > 0 && total > physical)
      error("ATTN_ERROR_INVALID_ARGUMENT",
            what + ": shape " + jsonInts(shape) + " takes " +
                std::to_string(t.bytes >> 20) + " MiB; with the other tensors "
                "that is more than this machine's " +
                std::to_string(physical >> 20) + " MiB");
    size_t rounded = static_cast<size_t>((t.bytes + 63) / 64 * 64);
    void *p = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!p)
      error("ATTN_ERROR_INVALID_ARGUMENT",
            what + ": cannot allocate " + std::to_string(t.bytes) + " bytes");
    t.storage.reset(static_cast<char *>(p), &std::free);
    return t;
  }

  char *data() const { return storage.get(); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  /// The element at `offset` elements from the start, as a double.
  double get(int64_t offset) const {
    const char *p = data() + offset * dtypeBytes(dtype);
    switch (dtype) {
    case ATTN_DTYPE_F32: {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    case ATTN_DTYPE_F16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return fromHalf(h);
    }
    case ATTN_DTYPE_BF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return floatOf(uint32_t(h) << 16);
    }
    case ATTN_DTYPE_I32: {
      int32_t i;
      std::memcpy(&i, p, 4);
      return i;
    }
    case ATTN_DTYPE_BOOL: return *p ? 1.0 : 0.0;
    }
    return 0;
  }
  void set(int64_t offset, double value) {
    char *p = data() + offset * dtypeBytes(dtype);
    float f = static_cast<float>(value);
    uint16_t h;
    int32_t i;
    switch (dtype) {
    case ATTN_DTYPE_F32: std::memcpy(p, &f, 4); break;
    case ATTN_DTYPE_F16: h = toHalf(f); std::memcpy(p, &h, 2); break;
    case ATTN_DTYPE_BF16: h = toBf16(f); std::memcpy(p, &h, 2); break;
    case ATTN_DTYPE_I32: i = static_cast<int32_t>(value); std::memcpy(p, &i, 4); break;
    case ATTN_DTYPE_BOOL: *p = value != 0; break;
    }
  }
  /// Offset of the element at `index` (as many entries as the rank).
  int64_t offset(std::initializer_list<int64_t> index) const {
    int64_t off = 0, i = 0;
    for (int64_t x : index)
      off += x * strides[i++];
    return off;
  }
  /// Row-major element `linear` (a C-order walk whatever the strides).
  int64_t linearOffset(int64_t linear) const {
    int64_t off = 0;
    for (size_t i = shape.size(); i-- > 0;) {
      off += (linear % shape[i]) * strides[i];
      linear /= shape[i];
    }
    return off;
  }
  bool contiguous() const {
    int64_t n = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] != 1 && strides[i] != n)
        return false;
      n *= shape[i];
    }
    return true;
  }
};

/// Uniform [-1, 1) from mt19937_64's standardized output (std's
/// distributions differ between standard libraries; this does not).
void randomize(HostTensor &t, uint64_t seed) {
  std::mt19937_64 gen(seed);
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    double u = static_cast<double>(gen() >> 11) * 0x1.0p-53;
    t.set(i, 2.0 * u - 1.0);
  }
}

//===----------------------------------------------------------------------===//
// .npy files (format versions 1, 2 and 3; little-endian; C or Fortran order)
//===----------------------------------------------------------------------===//

/// bf16 has no numpy type: attn-run reads and writes it as '<u2', the raw
/// 16 bits (also accepted: '<V2', which ml_dtypes' bfloat16 may save as).
bool npyDtype(const std::string &descr, attn_dtype expected,
              attn_dtype &dtype) {
  if (descr == "<f4" || descr == "=f4") {
    dtype = ATTN_DTYPE_F32;
  } else if (descr == "<f2" || descr == "=f2") {
    dtype = ATTN_DTYPE_F16;
  } else if (descr == "<u2" || descr == "=u2" || descr == "<V2" ||
             descr == "|V2") {
    dtype = ATTN_DTYPE_BF16;
  } else if (descr == "<i4" || descr == "=i4") {
    dtype = ATTN_DTYPE_I32;
  } else if (descr == "|b1" || descr == "|u1") {
    dtype = ATTN_DTYPE_BOOL;
  } else if (descr == "|i1" && expected == ATTN_DTYPE_BOOL) {
    dtype = ATTN_DTYPE_BOOL;
  } else {
    return false;
  }
  return true;
}

const char *npyDescr(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32: return "<f4";
  case ATTN_DTYPE_F16: return "<f2";
  case ATTN_DTYPE_BF16: return "<u2";
  case ATTN_DTYPE_I32: return "<i4";
  case ATTN_DTYPE_BOOL: return "|b1";
  }
  return "?";
}

/// The value of `key` in numpy's header dict ("{'descr': '<f4', ...}"), up
/// to the next top-level comma or the closing brace.
std::string npyField(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    at = header.find("\"" + key + "\"");
  if (at == std::string::npos)
    return "";
  at = header.find(':', at);
  if (at == std::string::npos)
    return "";
  size_t end = ++at;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(' || c == '[')
      ++depth;
    else if (c == ')' || c == ']')
      --depth;
    else if ((c == ',' && depth == 0) || (c == '}' && depth == 0))
      break;
  }
  std::string value = header.substr(at, end - at);
  size_t first = value.find_first_not_of(" \t'\"");
  size_t last = value.find_last_not_of(" \t'\"");
  return first == std::string::npos ? "" : value.substr(first, last - first + 1);
}

HostTensor readNpy(const std::string &path, attn_dtype expected) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    error("ATTN_ERROR_IO", "cannot open '" + path + "': " + std::strerror(errno));
  auto bad = [&](const std::string &why) -> Failure {
    return Failure{1, "ATTN_ERROR_IO", "'" + path + "' is not a .npy file attn-run reads: " + why};
  };
  unsigned char magic[8];
  if (!in.read(reinterpret_cast<char *>(magic), 8) ||
      std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw bad("no \\x93NUMPY magic");
  uint32_t headerLen = 0;
  if (magic[6] == 1) {
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char *>(len), 2))
      throw bad("truncated header");
    headerLen = len[0] | (len[1] << 8);
  } else if (magic[6] == 2 || magic[6] == 3) {
    unsigned char len[4];
    if (!in.read(reinterpret_cast<char *>(len), 4))
      throw bad("truncated header");
    headerLen = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
    if (headerLen > (1u << 20))
      throw bad("header of " + std::to_string(headerLen) + " bytes");
  } else {
    throw bad("format version " + std::to_string(magic[6]));
  }
  std::string header(headerLen, '\0');
  if (!in.read(&header[0], headerLen))
    throw bad("truncated header");

  std::string descr = npyField(header, "descr");
  attn_dtype dtype;
  if (!npyDtype(descr, expected, dtype))
    throw bad("dtype '" + descr +
              "' (reads <f4, <f2, <u2 as bf16 bits, <i4, |b1, |u1)");
  std::string order = npyField(header, "fortran_order");
  if (order != "False" && order != "True")
    throw bad("fortran_order '" + order + "'");
  std::string shapeText = npyField(header, "shape");
  if (shapeText.size() < 2 || shapeText.front() != '(' || shapeText.back() != ')')
    throw bad("shape '" + shapeText + "'");
  std::vector<int64_t> shape;
  for (const std::string &part :
       split(shapeText.substr(1, shapeText.size() - 2), ',')) {
    size_t first = part.find_first_not_of(" L");
    if (first == std::string::npos)
      continue; // the empty part after "(3,)"
    std::string digits = part.substr(first);
    digits.erase(digits.find_last_not_of(" L") + 1);
    char *end = nullptr;
    long long v = std::strtoll(digits.c_str(), &end, 10);
    if (digits.empty() || *end || v < 0)
      throw bad("shape '" + shapeText + "'");
    shape.push_back(v);
  }
  if (shape.size() > ATTN_MAX_RANK)
    throw bad("rank " + std::to_string(shape.size()) + " > " +
              std::to_string(ATTN_MAX_RANK));

  HostTensor t = HostTensor::make(dtype, shape, path);
  if (t.bytes && !in.read(t.data(), t.bytes))
    throw bad("data ends before " + std::to_string(t.bytes) + " bytes");
  if (order == "True") { // column-major: the same bytes, reversed strides
    int64_t n = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      t.strides[i] = n;
      n *= shape[i];
    }
  }
  return t;
}

void writeNpy(const std::string &path, const HostTensor &t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.size(); ++i)
    shape += std::to_string(t.shape[i]) + (t.shape.size() == 1 || i + 1 < t.shape.size() ? "," : "");
  shape += ")";
  std::string header = "{'descr': '" + std::string(npyDescr(t.dtype)) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that the data starts at a multiple of 64 (numpy's
  // own choice), the header ending in '\n'.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out)
    error("ATTN_ERROR_IO", "cannot write '" + path + "': " + std::strerror(errno));
  unsigned char prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              static_cast<unsigned char>(header.size() & 0xff),
                              static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char *>(prefix), 10);
  out << header;
  if (t.contiguous()) {
    out.write(t.data(), t.bytes);
  } else {
    const int64_t n = t.numel(), size = dtypeBytes(t.dtype);
    for (int64_t i = 0; i < n; ++i)
      out.write(t.data() + t.linearOffset(i) * size, size);
  }
  if (!out)
    error("ATTN_ERROR_IO", "cannot write '" + path + "'");
}

//===----------------------------------------------------------------------===//
// Patterns: the subset attn-run evaluates for its reference
//===----------------------------------------------------------------------===//

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t floorMod(int64_t a, int64_t b) { return a - floorDiv(a, b) * b; }

/// One pattern attribute as the manifest prints it (docs/design.md gives
/// the semantics; positions are p = q + Skv - Sq).
struct Pattern {
  std::string kind; // dense, causal, local, chunked, strided, global, union, per_head
  int64_t window = 0, dilation = 1, size = 0, stride = 0, block = 1,
          tokens = 0;
  bool causal = false;
  std::vector<Pattern> members;

  const Pattern &forHead(int64_t head) const {
    return kind == "per_head" ? members[head % members.size()] : *this;
  }

  bool visible(int64_t head, int64_t p, int64_t k) const {
    if (kind == "per_head")
      return forHead(head).visible(head, p, k);
    if (kind == "union") {
      for (const Pattern &m : members)
        if (m.visible(head, p, k))
          return true;
      return false;
    }
    if (causal && k > p)
      return false;
    if (kind == "dense")
      return true;
    if (kind == "causal")
      return k <= p;
    if (kind == "local")
      return std::llabs(p - k) <= window && floorMod(p - k, dilation) == 0;
    if (kind == "chunked")
      return floorDiv(p, size) == floorDiv(k, size);
    if (kind == "strided")
      return floorMod(floorDiv(p, block) - floorDiv(k, block), stride) == 0;
    if (kind == "global")
      return k < tokens || (p >= 0 && p < tokens);
    return false;
  }

  /// Whether ranges() is exactly the visible set (else a superset to scan).
  bool exactRanges(int64_t head) const {
    const Pattern &self = forHead(head);
    if (self.kind == "union") {
      for (const Pattern &m : self.members)
        if (!m.exactRanges(head))
          return false;
      return true;
    }
    return self.kind != "strided" && !(self.kind == "local" && self.dilation > 1);
  }

  /// Appends half-open key ranges within [0, keys) that hold every key that
  /// position p sees (exactly those when exactRanges()).
  void ranges(int64_t head, int64_t p, int64_t keys,
              std::vector<std::pair<int64_t, int64_t>> &out) const {
    const Pattern &self = forHead(head);
    auto add = [&](int64_t lo, int64_t hi) {
      lo = std::max<int64_t>(lo, 0);
      hi = std::min(hi, keys);
      if (self.causal || self.kind == "causal")
        hi = std::min(hi, p + 1);
      if (lo < hi)
        out.emplace_back(lo, hi);
    };
    if (self.kind == "union") {
      std::vector<std::pair<int64_t, int64_t>> all;
      for (const Pattern &m : self.members)
        m.ranges(head, p, keys, all);
      std::sort(all.begin(), all.end());
      for (const auto &r : all) {
        if (!out.empty() && r.first <= out.back().second)
          out.back().second = std::max(out.back().second, r.second);
        else
          out.push_back(r);
      }
    } else if (self.kind == "local") {
      add(p - self.window, p + self.window + 1);
    } else if (self.kind == "chunked") {
      int64_t start = floorDiv(p, self.size) * self.size;
      add(start, start + self.size);
    } else if (self.kind == "global") {
      if (p >= 0 && p < self.tokens)
        add(0, keys);
      else
        add(0, self.tokens);
    } else { // dense, causal, strided
      add(0, keys);
    }
  }
};

/// Parses `#attn.kind<name = value, flag, ...>` for the kinds above.
/// Returns false (with `why`) for anything else, random_blocks,
/// block_layout and selected included.
class PatternParser {
public:
  explicit PatternParser(const std::string &text) : text(text) {}

  bool parse(Pattern &out, std::string &why) {
    bool ok = pattern(out, 0);
    skip();
    if (ok && pos != text.size()) {
      ok = false;
      reason = "trailing text";
    }
    why = reason;
    return ok;
  }

private:
  void skip() {
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
  }
  bool fail(const std::string &why) {
    if (reason.empty())
      reason = why;
    return false;
  }
  std::string word() {
    skip();
    size_t start = pos;
    while (pos < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[pos])) ||
            text[pos] == '_' || text[pos] == '.' || text[pos] == '-'))
      ++pos;
    return text.substr(start, pos - start);
  }
  bool eat(char c) {
    skip();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  bool list(std::vector<Pattern> &out, int depth) {
    if (!eat('['))
      return fail("expected '['");
    if (eat(']'))
      return true;
    do {
      Pattern member;
      if (!pattern(member, depth + 1))
        return false;
      out.push_back(std::move(member));
    } while (eat(','));
    return eat(']') || fail("expected ']'");
  }
  bool pattern(Pattern &out, int depth) {
    if (depth > 16)
      return fail("nesting too deep");
    skip();
    if (text.compare(pos, 6, "#attn.") != 0)
      return fail("expected '#attn.'");
    pos += 6;
    out.kind = word();
    static const std::set<std::string> known = {
        "dense", "causal", "local", "chunked", "strided", "global", "union",
        "per_head"};
    if (!known.count(out.kind))
      return fail("#attn." + out.kind);
    if (out.kind == "union" || out.kind == "per_head") {
      if (!eat('<'))
        return fail("expected '<'");
      skip();
      if (pos < text.size() && text[pos] != '[') { // "patterns = [...]"
        word();
        if (!eat('='))
          return fail("expected '='");
      }
      if (!list(out.members, depth) || !eat('>'))
        return fail("bad member list");
      return !out.members.empty() || fail("empty member list");
    }
    std::map<std::string, std::string> params;
    if (eat('<')) {
      do {
        std::string name = word();
        std::string value = "true";
        if (eat('='))
          value = word();
        if (name.empty() || value.empty())
          return fail("bad parameter");
        params[name] = value;
      } while (eat(','));
      if (!eat('>'))
        return fail("expected '>'");
    }
    auto integer = [&](const char *name, int64_t &field, bool required,
                       int64_t min) {
      auto it = params.find(name);
      if (it == params.end())
        return !required || fail(out.kind + " without " + name);
      // Read the value before erasing its entry: `end` points into it.
      char *end = nullptr;
      field = std::strtoll(it->second.c_str(), &end, 10);
      const bool whole = *end == 0;
      params.erase(it);
      return (whole && field >= min) || fail(std::string("bad ") + name);
    };
    auto flag = [&](const char *name, bool &field) {
      auto it = params.find(name);
      if (it == params.end())
        return true;
      const std::string value = it->second;
      params.erase(it);
      field = value == "true";
      return value == "true" || value == "false" ||
             fail(std::string("bad ") + name);
    };
    bool ok = true;
    if (out.kind == "local")
      ok = integer("window", out.window, true, 0) &&
           integer("dilation", out.dilation, false, 1) &&
           flag("causal", out.causal);
    else if (out.kind == "chunked")
      ok = integer("size", out.size, true, 1) && flag("causal", out.causal);
    else if (out.kind == "strided")
      ok = integer("stride", out.stride, true, 1) &&
           integer("block", out.block, false, 1) && flag("causal", out.causal);
    else if (out.kind == "global")
      ok = integer("tokens", out.tokens, true, 0);
    if (ok && !params.empty())
      return fail("parameter '" + params.begin()->first + "' of " + out.kind);
    return ok;
  }

  const std::string &text;
  size_t pos = 0;
  std::string reason;
};

//===----------------------------------------------------------------------===//
// What the artifact says about a function
//===----------------------------------------------------------------------===//

/// A size: fixed, or a name ("B", "Sq", ...) bound at run time.
struct Dim {
  int64_t value = -1;
  std::string symbol;
};

/// An input or output as the runtime describes it (attn_arg_info).
struct ArgInfo {
  std::string role; // query, key, value, gates, active, out, or ""
  attn_dtype dtype = ATTN_DTYPE_F32;
  attn_device device = ATTN_DEVICE_CPU;
  std::vector<Dim> shape;
};

/// What the reference and the work count need of a kernel, which the C API
/// does not say: read from manifest.json (docs/compile.md).
struct KernelInfo {
  std::string name, pattern, gates;
  std::string op = "attention"; // or select_blocks, compress_kv, sparse_branches
  double scale = 0;
  int64_t headDim = 0, valueDim = 0;
  /// attention: query, key, value[, gates/active][, blocks]; select_blocks:
  /// query, key[, pooled keys]; compress_kv: key, value[, weights];
  /// sparse_branches: query, key, value, compressed key, compressed value,
  /// blocks, weights.
  std::vector<int> operandArgs;
  std::vector<int> resultArgs;
  int resultIndex = 0;
  /// Attention over a blocks list (the manifest's `blocks`), or the block
  /// sizes of select_blocks; sparse_branches' blocks list (hasBlocks stays
  /// false: its blocks are not its last operand and select no pattern).
  bool hasBlocks = false, causal = false;
  int64_t queryBlock = 0, keyBlock = 0, slots = 0;
  /// select_blocks.
  int64_t topK = 0, keepSink = 0, keepLocal = 0;
  bool pooledKeys = false;
  /// compress_kv's windows, and sparse_branches' compress_window and
  /// compress_stride.
  int64_t block = 0, stride = 0;
  bool linear = false;
  /// sparse_branches: the compressed branch's causal rule (its `causal`).
  bool compressCausal = false;

  bool branches() const { return op == "sparse_branches"; }
  int blocksArg() const {
    return branches() ? operandArgs[5] : hasBlocks ? operandArgs.back() : -1;
  }
};

struct FunctionInfo {
  std::string name;
  std::vector<ArgInfo> inputs, outputs;
  std::vector<KernelInfo> kernels;
  bool cuda = false; // some tensor is expected on a CUDA device
};

ArgInfo toArgInfo(const attn_arg_info &info) {
  ArgInfo arg;
  arg.role = info.role ? info.role : "";
  arg.dtype = info.dtype;
  arg.device = info.device;
  for (int d = 0; d < info.rank && d < ATTN_MAX_RANK; ++d) {
    Dim dim;
    dim.value = info.shape[d];
    if (info.symbols[d])
      dim.symbol = info.symbols[d];
    arg.shape.push_back(dim);
  }
  return arg;
}

/// The function's tensors from the C API, its kernels from the manifest
/// (the runtime has validated both when it opened the artifact).
FunctionInfo describeFunction(const attn_artifact *artifact,
                              const std::string &dir, const std::string &name,
                              int numInputs, int numOutputs) {
  FunctionInfo f;
  f.name = name;
  for (int i = 0; i < numInputs + numOutputs; ++i) {
    const bool input = i < numInputs;
    const int index = input ? i : i - numInputs;
    attn_arg_info info{};
    attn_status st =
        input ? attn_artifact_input_info(artifact, name.c_str(), index, &info)
              : attn_artifact_output_info(artifact, name.c_str(), index, &info);
    if (st != ATTN_OK)
      runtimeError(st, std::string("describing ") + (input ? "input " : "output ") +
                           std::to_string(index) + " of '" + name + "'");
    ArgInfo arg = toArgInfo(info);
    f.cuda |= arg.device == ATTN_DEVICE_CUDA;
    (input ? f.inputs : f.outputs).push_back(arg);
  }

  std::ifstream in(dir + "/manifest.json");
  std::stringstream text;
  text << in.rdbuf();
  Json manifest;
  std::string why;
  if (!in || !JsonReader(text.str()).parse(manifest, why))
    error("ATTN_ERROR_CORRUPT_ARTIFACT",
          dir + "/manifest.json: cannot read it: " + why);
  const Json *kernels = manifest.get("kernels");
  auto string = [](const Json &k, const char *key) {
    const Json *v = k.get(key);
    return v && v->kind == Json::String ? v->text : std::string();
  };
  auto number = [](const Json &k, const char *key, double otherwise) {
    const Json *v = k.get(key);
    return v && v->kind == Json::Number ? v->number : otherwise;
  };
  for (const Json &k : kernels ? kernels->items : std::vector<Json>()) {
    if (string(k, "source") != name)
      continue;
    KernelInfo info;
    info.name = string(k, "name");
    info.pattern = string(k, "pattern");
    info.gates = string(k, "gates");
    if (info.gates.empty()) { // the format's default follows "gated"
      const Json *gated = k.get("gated");
      info.gates = gated && gated->kind == Json::Bool && gated->boolean
                       ? "gates"
                       : "none";
    }
    info.headDim = static_cast<int64_t>(number(k, "head_dim", 0));
    info.valueDim = static_cast<int64_t>(number(k, "value_dim", info.headDim));
    info.scale = number(k, "scale",
                        info.headDim > 0 ? 1 / std::sqrt(double(info.headDim)) : 1);
    info.resultIndex = static_cast<int>(number(k, "result_index", 0));
    if (const Json *ops = k.get("operand_args"))
      for (const Json &o : ops->items)
        info.operandArgs.push_back(static_cast<int>(o.number));
    if (const Json *results = k.get("result_args"))
      for (const Json &o : results->items)
        info.resultArgs.push_back(static_cast<int>(o.number));
    if (info.resultArgs.empty())
      info.resultArgs.push_back(info.resultIndex);
    info.resultIndex = info.resultArgs[0];
    if (!string(k, "op").empty())
      info.op = string(k, "op");
    auto flag = [](const Json &k, const char *key) {
      const Json *v = k.get(key);
      return v && v->kind == Json::Bool && v->boolean;
    };
    auto integer = [&](const Json &k, const char *key) {
      return static_cast<int64_t>(number(k, key, 0));
    };
    if (const Json *blocks = k.get("blocks");
        blocks && blocks->kind == Json::Object && info.op == "attention") {
      info.hasBlocks = true;
      info.queryBlock = integer(*blocks, "query_block");
      info.keyBlock = integer(*blocks, "key_block");
      info.slots = integer(*blocks, "slots");
      info.causal = flag(*blocks, "causal");
    } else if (info.op == "select_blocks") {
      info.queryBlock = integer(k, "query_block");
      info.keyBlock = integer(k, "key_block");
      info.topK = integer(k, "top_k");
      info.keepSink = integer(k, "keep_sink");
      info.keepLocal = integer(k, "keep_local");
      info.causal = flag(k, "causal");
      info.pooledKeys = flag(k, "pooled_keys");
    } else if (info.op == "compress_kv") {
      info.block = integer(k, "window");
      info.stride = integer(k, "stride");
      info.linear = string(k, "method") == "linear";
    } else if (info.op == "sparse_branches") {
      if (const Json *blocks = k.get("blocks");
          blocks && blocks->kind == Json::Object) {
        info.queryBlock = integer(*blocks, "query_block");
        info.keyBlock = integer(*blocks, "key_block");
        info.slots = integer(*blocks, "slots");
        info.causal = flag(*blocks, "causal");
      }
      info.block = integer(k, "compress_window");
      info.stride = integer(k, "compress_stride");
      info.compressCausal = flag(k, "causal");
    }
    // Indices the reference will use: keep only kernels that fit (the
    // runtime has checked the counts; this guards the indexing).
    const size_t operands = info.op == "attention"         ? 3
                            : info.op == "sparse_branches" ? 7
                                                           : 2;
    bool fits = info.operandArgs.size() >= operands &&
                (!info.hasBlocks || info.operandArgs.size() >= 4) &&
                info.resultIndex >= 0 && info.queryBlock >= 0 &&
                info.keyBlock >= 0 &&
                (info.op == "attention" ||
                 (info.op == "select_blocks" && info.queryBlock > 0 &&
                  info.keyBlock > 0 && info.topK > 0) ||
                 (info.op == "compress_kv" && info.block > 0 &&
                  info.stride > 0) ||
                 (info.op == "sparse_branches" && info.queryBlock > 0 &&
                  info.keyBlock > 0 && info.block > 0 && info.stride > 0)) &&
                (!info.hasBlocks || (info.queryBlock > 0 && info.keyBlock > 0));
    for (int o : info.operandArgs)
      fits &= o >= 0 && o < numInputs;
    for (int o : info.resultArgs)
      fits &= o >= 0 && o < numOutputs;
    if (fits)
      f.kernels.push_back(info);
  }
  // Roles the manifest leaves out follow from the kernels' operands.
  for (const KernelInfo &k : f.kernels)
    for (size_t j = 0; j < k.operandArgs.size(); ++j) {
      static const char *attention[3] = {"query", "key", "value"};
      static const char *select[3] = {"query", "key", "pooled_keys"};
      static const char *compress[3] = {"key", "value", "weights"};
      static const char *branches[7] = {
          "query",           "key",    "value",  "compressed_key",
          "compressed_value", "blocks", "weights"};
      std::string &role = f.inputs[k.operandArgs[j]].role;
      if (!role.empty())
        continue;
      if (k.branches() && j < 7)
        role = branches[j];
      else if (k.op == "select_blocks" && j < 3)
        role = select[j];
      else if (k.op == "compress_kv" && j < 3)
        role = compress[j];
      else if (k.hasBlocks && k.operandArgs[j] == k.blocksArg())
        role = "blocks";
      else
        role = j < 3 ? attention[j] : k.gates == "active" ? "active" : "gates";
    }
  return f;
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Options {
  std::string artifact, function, outputDir, gates, device;
  bool gatesGiven = false, checkReference = false;
  std::vector<std::pair<std::string, std::string>> inputs; // I=FILE
  std::vector<std::pair<std::string, int64_t>> shape;
  std::vector<std::string> expect;
  double rtol = -1, atol = -1;
  int64_t warmup = 2, reps = 10, threads = 0;
  uint64_t seed = 0;
};

Options parseOptions(int argc, char **argv) {
  Options o;
  static const std::set<std::string> valued = {
      "--function", "--input",  "--shape", "--gates",  "--output-dir",
      "--expect",   "--rtol",   "--atol",  "--warmup", "--reps",
      "--threads",  "--seed",   "--device"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (arg == "--check-reference") {
      o.checkReference = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!o.artifact.empty())
        usageError("more than one artifact: '" + o.artifact + "' and '" +
                   arg + "'");
      o.artifact = arg;
      continue;
    }
    size_t eq = arg.find('=');
    if (eq != std::string::npos) { // --flag=value
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (valued.count(arg)) {
      if (i + 1 >= argc)
        usageError(arg + " needs a value");
      value = argv[++i];
    }
    if (!valued.count(arg))
      usageError("unknown option '" + arg + "' (see --help)");
    if (arg == "--function") {
      o.function = value;
    } else if (arg == "--input") {
      size_t at = value.find('=');
      if (at == std::string::npos || at == 0 || at + 1 == value.size())
        usageError("--input takes I=FILE.npy, got '" + value + "'");
      o.inputs.emplace_back(value.substr(0, at), value.substr(at + 1));
    } else if (arg == "--shape") {
      for (const std::string &part : split(value, ',')) {
        size_t at = part.find('=');
        if (at == std::string::npos || at == 0)
          usageError("--shape takes NAME=N,..., got '" + part + "'");
        int64_t n = parseInt("--shape " + part.substr(0, at), part.substr(at + 1));
        if (n < 0)
          usageError("--shape " + part + ": sizes are >= 0");
        o.shape.emplace_back(part.substr(0, at), n);
      }
    } else if (arg == "--gates") {
      o.gates = value;
      o.gatesGiven = true;
    } else if (arg == "--output-dir") {
      o.outputDir = value;
    } else if (arg == "--expect") {
      o.expect = split(value, ',');
    } else if (arg == "--rtol") {
      o.rtol = parseReal(arg, value);
    } else if (arg == "--atol") {
      o.atol = parseReal(arg, value);
    } else if (arg == "--warmup" || arg == "--reps" || arg == "--threads") {
      int64_t n = parseInt(arg, value);
      if (n < 0 || n > 1000000)
        usageError(arg + " takes 0 .. 1000000, got '" + value + "'");
      (arg == "--warmup" ? o.warmup : arg == "--reps" ? o.reps : o.threads) = n;
    } else if (arg == "--seed") {
      o.seed = static_cast<uint64_t>(parseInt(arg, value));
    } else if (arg == "--device") {
      if (value != "cpu" && value != "cuda")
        usageError("--device takes cpu or cuda, got '" + value + "'");
      o.device = value;
    }
  }
  if (o.artifact.empty())
    usageError("no artifact directory given (see --help)");
  if (o.function.empty())
    usageError("--function NAME is required (see --help)");
  return o;
}

/// Heads named by --gates ("0,2,5-7", "none" or ""), each in [0, hq).
std::vector<bool> gatedHeads(const std::string &list, int64_t hq) {
  std::vector<bool> on(hq, false);
  if (list == "none")
    return on;
  for (const std::string &part : split(list, ',')) {
    if (part.empty())
      continue;
    size_t dash = part.find('-', 1);
    int64_t first = parseInt("--gates", part.substr(0, dash));
    int64_t last = dash == std::string::npos
                       ? first
                       : parseInt("--gates", part.substr(dash + 1));
    if (first < 0 || last >= hq || first > last)
      usageError("--gates: '" + part + "' is not within heads [0, " +
                 std::to_string(hq) + ")");
    for (int64_t h = first; h <= last; ++h)
      on[h] = true;
  }
  return on;
}

//===----------------------------------------------------------------------===//
// CUDA: device memory for --device cuda, through the driver API (dlopen)
//===----------------------------------------------------------------------===//

/// The few driver calls attn-run needs to put tensors on the GPU. The
/// runtime keeps its own handle to the driver; both use the primary context
/// of device 0, so pointers allocated here are valid there.
class CudaMemory {
public:
  using CUresult = int;
  using CUdeviceptr = unsigned long long;

  ~CudaMemory() {
    for (CUdeviceptr p : allocations)
      memFree(p);
    if (library)
      dlclose(library);
  }

  void open() {
    library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library)
      error("ATTN_ERROR_NO_CUDA",
            std::string("--device cuda: cannot load libcuda.so.1: ") + dlerror());
    auto sym = [&](const char *name) {
      void *p = dlsym(library, name);
      if (!p)
        error("ATTN_ERROR_NO_CUDA",
              std::string("--device cuda: libcuda has no ") + name);
      return p;
    };
    init = reinterpret_cast<CUresult (*)(unsigned)>(sym("cuInit"));
    deviceCount = reinterpret_cast<CUresult (*)(int *)>(sym("cuDeviceGetCount"));
    deviceGet = reinterpret_cast<CUresult (*)(int *, int)>(sym("cuDeviceGet"));
    retain = reinterpret_cast<CUresult (*)(void **, int)>(
        sym("cuDevicePrimaryCtxRetain"));
    setCurrent = reinterpret_cast<CUresult (*)(void *)>(sym("cuCtxSetCurrent"));
    memAlloc = reinterpret_cast<CUresult (*)(CUdeviceptr *, size_t)>(
        sym("cuMemAlloc_v2"));
    memFree = reinterpret_cast<CUresult (*)(CUdeviceptr)>(sym("cuMemFree_v2"));
    toDevice = reinterpret_cast<CUresult (*)(CUdeviceptr, const void *, size_t)>(
        sym("cuMemcpyHtoD_v2"));
    toHost = reinterpret_cast<CUresult (*)(void *, CUdeviceptr, size_t)>(
        sym("cuMemcpyDtoH_v2"));
    synchronize = reinterpret_cast<CUresult (*)()>(sym("cuCtxSynchronize"));
    errorName = reinterpret_cast<CUresult (*)(CUresult, const char **)>(
        sym("cuGetErrorName"));
    check(init(0), "cuInit");
    int count = 0;
    check(deviceCount(&count), "cuDeviceGetCount");
    if (count == 0)
      error("ATTN_ERROR_NO_DEVICE", "--device cuda: no CUDA device");
    int device = 0;
    void *context = nullptr;
    check(deviceGet(&device, 0), "cuDeviceGet");
    check(retain(&context, device), "cuDevicePrimaryCtxRetain");
    check(setCurrent(context), "cuCtxSetCurrent");
  }

  void *upload(const HostTensor &t) {
    CUdeviceptr p = 0;
    check(memAlloc(&p, std::max<int64_t>(t.bytes, 1)), "cuMemAlloc");
    allocations.push_back(p);
    check(toDevice(p, t.data(), t.bytes), "cuMemcpyHtoD");
    return reinterpret_cast<void *>(p);
  }
  void download(HostTensor &t, void *device) {
    check(toHost(t.data(), reinterpret_cast<CUdeviceptr>(device), t.bytes),
          "cuMemcpyDtoH");
  }
  void sync() { check(synchronize(), "cuCtxSynchronize"); }

private:
  void check(CUresult result, const char *what) {
    if (result == 0)
      return;
    const char *name = nullptr;
    if (errorName)
      errorName(result, &name);
    error(result == 100 ? "ATTN_ERROR_NO_DEVICE" : "ATTN_ERROR_CUDA",
          std::string("--device cuda: ") + what + " failed: " +
              (name ? name : "CUDA error " + std::to_string(result)));
  }

  void *library = nullptr;
  std::vector<CUdeviceptr> allocations;
  CUresult (*init)(unsigned) = nullptr;
  CUresult (*deviceCount)(int *) = nullptr;
  CUresult (*deviceGet)(int *, int) = nullptr;
  CUresult (*retain)(void **, int) = nullptr;
  CUresult (*setCurrent)(void *) = nullptr;
  CUresult (*memAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*memFree)(CUdeviceptr) = nullptr;
  CUresult (*toDevice)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*toHost)(void *, CUdeviceptr, size_t) = nullptr;
  CUresult (*synchronize)() = nullptr;
  CUresult (*errorName)(CUresult, const char **) = nullptr;
};

//===----------------------------------------------------------------------===//
// Reference and comparison
//===----------------------------------------------------------------------===//

/// Positions (design.md): query row q of Sq sits at q + Skv - Sq.
struct Extent {
  int64_t b, hq, hkv, sq, skv, d, dv;
};

/// The set of active (batch, head) pairs of a kernel: from a bool [B, Hq]
/// gates tensor or an i32 list of b * Hq + h; all when ungated.
std::vector<bool> activePairs(const KernelInfo &k, const Extent &e,
                              const std::vector<HostTensor> &inputs) {
  std::vector<bool> on(e.b * e.hq, k.gates == "none" || k.gates.empty());
  if (on.empty() || on[0] || k.operandArgs.size() < 4)
    return on;
  const HostTensor &g = inputs[k.operandArgs[3]];
  if (g.dtype == ATTN_DTYPE_BOOL && g.shape.size() == 2) {
    for (int64_t b = 0; b < std::min(e.b, g.shape[0]); ++b)
      for (int64_t h = 0; h < std::min(e.hq, g.shape[1]); ++h)
        on[b * e.hq + h] = g.get(g.offset({b, h})) != 0;
  } else {
    for (int64_t i = 0; i < g.numel(); ++i) {
      int64_t pair = static_cast<int64_t>(g.get(g.linearOffset(i)));
      if (pair >= 0 && pair < e.b * e.hq)
        on[pair] = true;
    }
  }
  return on;
}

/// Naive attention in double precision over the visible keys of each row,
/// rows with no visible key (and gated-off pairs) being zero. Returns the
/// contiguous [B, Hq, Sq, Dv] values, kept in double for the comparison.
/// The blocks row query row `r` of KV head `kvh` (batch b) reads: which of
/// the nkb key blocks are listed (entries outside [0, nkb), -1 included,
/// are ignored; duplicates count once; docs/sparse-projection.md, 1).
void listedBlocks(const KernelInfo &k, const HostTensor &blocks, int64_t b,
                  int64_t kvh, int64_t r, int64_t nkb, std::vector<char> &on) {
  on.assign(static_cast<size_t>(nkb), 0);
  const int64_t i = r / k.queryBlock;
  for (int64_t s = 0; s < blocks.shape[3]; ++s) {
    const double entry = blocks.get(blocks.offset({b, kvh, i, s}));
    if (entry >= 0 && entry < double(nkb))
      on[static_cast<size_t>(entry)] = 1;
  }
}

/// The fraction of (query, key) pairs a blocks list lets through, over all
/// rows of every KV-head group (query heads of a group share the list).
double blocksDensity(const KernelInfo &k, const Extent &e,
                     const HostTensor &blocks) {
  if (e.sq == 0 || e.skv == 0)
    return -1;
  const int64_t nkb = (e.skv + k.keyBlock - 1) / k.keyBlock;
  std::vector<char> on;
  double visible = 0;
  for (int64_t b = 0; b < e.b; ++b)
    for (int64_t g = 0; g < e.hkv; ++g)
      for (int64_t r = 0; r < e.sq; ++r) {
        listedBlocks(k, blocks, b, g, r, nkb, on);
        const int64_t last = k.causal ? r + e.skv - e.sq : e.skv - 1;
        for (int64_t j = 0; j < nkb; ++j)
          if (on[j])
            visible += std::max<int64_t>(
                0, std::min({e.skv - 1, last, (j + 1) * k.keyBlock - 1}) -
                       j * k.keyBlock + 1);
      }
  return visible / (double(e.b) * e.hkv * e.sq * e.skv);
}

/// A contiguous double copy of `t`: the references' inner loops then stream
/// plain arrays whatever the inputs' dtype and strides.
std::vector<double> widen(const HostTensor &t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i)
    out[i] = t.get(t.linearOffset(i));
  return out;
}

/// One row of softmax attention: over `keys` (indices into the rows of
/// `keyRows` [*, d] and `valueRows` [*, dv]), softmax(scale * q . key)
/// times the values, into `acc` (dv). A row of no key is zero.
void attendRow(const double *qRow, const double *keyRows,
               const double *valueRows, int64_t d, int64_t dv,
               const std::vector<int64_t> &keys, double scale,
               std::vector<double> &scores, std::vector<double> &acc) {
  std::fill(acc.begin(), acc.end(), 0.0);
  if (keys.empty())
    return;
  scores.resize(keys.size());
  double max = -INFINITY;
  for (size_t i = 0; i < keys.size(); ++i) {
    const double *kRow = keyRows + keys[i] * d;
    double dot = 0;
    for (int64_t x = 0; x < d; ++x)
      dot += qRow[x] * kRow[x];
    scores[i] = dot * scale;
    max = std::max(max, scores[i]);
  }
  double sum = 0;
  for (double &s : scores)
    sum += s = std::exp(s - max);
  for (size_t i = 0; i < keys.size(); ++i) {
    const double *vRow = valueRows + keys[i] * dv;
    for (int64_t x = 0; x < dv; ++x)
      acc[x] += scores[i] * vRow[x];
  }
  for (double &a : acc)
    a /= sum;
}

/// The keys of [0, skv) that a static pattern lets position p of head h
/// see, ascending.
void patternKeys(const Pattern &pattern, int64_t h, int64_t p, int64_t skv,
                 std::vector<std::pair<int64_t, int64_t>> &ranges,
                 std::vector<int64_t> &keys) {
  const bool exact = pattern.exactRanges(h);
  ranges.clear();
  pattern.ranges(h, p, skv, ranges);
  for (auto [lo, hi] : ranges)
    for (int64_t j = lo; j < hi; ++j)
      if (exact || pattern.visible(h, p, j))
        keys.push_back(j);
}

/// The keys of [0, skv) that the listed blocks `listed` let position p see
/// (#attn.selected; up to p when `causal`), ascending.
void selectedKeys(const KernelInfo &k, const std::vector<char> &listed,
                  int64_t p, int64_t skv, std::vector<int64_t> &keys) {
  for (size_t j = 0; j < listed.size(); ++j)
    if (listed[j]) {
      const int64_t lo = int64_t(j) * k.keyBlock,
                    hi = std::min({skv, lo + k.keyBlock,
                                   k.causal ? std::max<int64_t>(p + 1, 0)
                                            : skv});
      for (int64_t t = lo; t < hi; ++t)
        keys.push_back(t);
    }
}

/// Runs work(firstPair, step) over `pairs` pairs round-robin on `threads`
/// threads: the naive references are the slow part of a checked run, and
/// pairs cost about the same.
template <typename Work>
void forPairs(int64_t pairs, int threads, const Work &work) {
  std::vector<std::thread> pool;
  const int n = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(threads, pairs)));
  for (int t = 1; t < n; ++t)
    pool.emplace_back(work, t, n);
  work(0, n);
  for (std::thread &t : pool)
    t.join();
}

std::vector<double> reference(const KernelInfo &k, const Pattern &pattern,
                              const Extent &e,
                              const std::vector<HostTensor> &inputs,
                              int threads) {
  const std::vector<double> q = widen(inputs[k.operandArgs[0]]),
                            key = widen(inputs[k.operandArgs[1]]),
                            v = widen(inputs[k.operandArgs[2]]);
  std::vector<double> result(static_cast<size_t>(e.b * e.hq * e.sq * e.dv), 0.0);
  const std::vector<bool> on = activePairs(k, e, inputs);
  const int64_t group = e.hkv > 0 ? std::max<int64_t>(1, e.hq / e.hkv) : 1,
                pairs = e.b * e.hq;
  const int64_t nkb =
      k.hasBlocks ? (e.skv + k.keyBlock - 1) / k.keyBlock : 0;
  forPairs(pairs, threads, [&](int64_t firstPair, int64_t step) {
    std::vector<double> scores, acc(e.dv);
    std::vector<char> listed;
    std::vector<int64_t> keys;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int64_t pair = firstPair; pair < pairs; pair += step) {
      if (!on[pair])
        continue;
      const int64_t b = pair / e.hq, h = pair % e.hq, kvh = h / group;
      for (int64_t r = 0; r < e.sq; ++r) {
        const int64_t p = r + e.skv - e.sq;
        keys.clear();
        if (k.hasBlocks) {
          // #attn.selected: the keys of the listed blocks, up to the row's
          // position when causal.
          listedBlocks(k, inputs[k.blocksArg()], b, kvh, r, nkb, listed);
          selectedKeys(k, listed, p, e.skv, keys);
        } else {
          patternKeys(pattern, h, p, e.skv, ranges, keys);
        }
        const size_t kv = static_cast<size_t>((b * e.hkv + kvh) * e.skv);
        attendRow(&q[((b * e.hq + h) * e.sq + r) * e.d], &key[kv * e.d],
                  &v[kv * e.dv], e.d, e.dv, keys, k.scale, scores, acc);
        std::copy(acc.begin(), acc.end(),
                  result.begin() + ((b * e.hq + h) * e.sq + r) * e.dv);
      }
    }
  });
  return result;
}

/// The keys of sparse_branches kernel `k`'s three branches for row r
/// (position p) of query head h, KV head g, batch b: compressed slots of
/// [0, n) (visible iff not causal or n * stride + window - 1 <= p), keys of
/// the listed blocks, keys of the window pattern (docs/sparse-projection.md,
/// section 1).
struct BranchKeys {
  std::vector<int64_t> compressed, selected, window;
  std::vector<char> listed;
  std::vector<std::pair<int64_t, int64_t>> ranges;

  void find(const KernelInfo &k, const Pattern &pattern, const Extent &e,
            const HostTensor &blocks, int64_t n, int64_t b, int64_t h,
            int64_t g, int64_t r) {
    const int64_t p = r + e.skv - e.sq;
    compressed.clear();
    selected.clear();
    window.clear();
    for (int64_t slot = 0; slot < n; ++slot)
      if (!k.compressCausal || slot * k.stride + k.block - 1 <= p)
        compressed.push_back(slot);
    listedBlocks(k, blocks, b, g, r, (e.skv + k.keyBlock - 1) / k.keyBlock,
                 listed);
    selectedKeys(k, listed, p, e.skv, selected);
    patternKeys(pattern, h, p, e.skv, ranges, window);
  }
};

/// sparse_branches in double: per row the three branches' softmax
/// attentions (a branch that sees no key is zero) combined with the row's
/// weights [B, Hq, Sq, 3] as given. `n` is the compressed K/V's length.
/// Contiguous [B, Hq, Sq, Dv].
std::vector<double> branchesReference(const KernelInfo &k,
                                      const Pattern &pattern, const Extent &e,
                                      int64_t n,
                                      const std::vector<HostTensor> &inputs,
                                      int threads) {
  const std::vector<double> q = widen(inputs[k.operandArgs[0]]),
                            key = widen(inputs[k.operandArgs[1]]),
                            v = widen(inputs[k.operandArgs[2]]),
                            ck = widen(inputs[k.operandArgs[3]]),
                            cv = widen(inputs[k.operandArgs[4]]),
                            w = widen(inputs[k.operandArgs[6]]);
  const HostTensor &blocks = inputs[k.blocksArg()];
  std::vector<double> result(static_cast<size_t>(e.b * e.hq * e.sq * e.dv), 0.0);
  const int64_t group = e.hq / e.hkv, pairs = e.b * e.hq;
  forPairs(pairs, threads, [&](int64_t firstPair, int64_t step) {
    std::vector<double> scores, acc(e.dv);
    BranchKeys keys;
    for (int64_t pair = firstPair; pair < pairs; pair += step) {
      const int64_t b = pair / e.hq, h = pair % e.hq, g = h / group;
      const size_t kv = static_cast<size_t>((b * e.hkv + g) * e.skv),
                   ckv = static_cast<size_t>((b * e.hkv + g) * n);
      for (int64_t r = 0; r < e.sq; ++r) {
        keys.find(k, pattern, e, blocks, n, b, h, g, r);
        const int64_t row = (b * e.hq + h) * e.sq + r;
        const double *qRow = &q[row * e.d];
        double *out = &result[row * e.dv];
        const struct {
          const std::vector<int64_t> &keys;
          const double *keyRows, *valueRows;
        } branch[3] = {{keys.compressed, &ck[ckv * e.d], &cv[ckv * e.dv]},
                       {keys.selected, &key[kv * e.d], &v[kv * e.dv]},
                       {keys.window, &key[kv * e.d], &v[kv * e.dv]}};
        for (int i = 0; i < 3; ++i) {
          attendRow(qRow, branch[i].keyRows, branch[i].valueRows, e.d, e.dv,
                    branch[i].keys, k.scale, scores, acc);
          for (int64_t x = 0; x < e.dv; ++x)
            out[x] += w[row * 3 + i] * acc[x];
        }
      }
    }
  });
  return result;
}

/// The (query, key) pairs sparse_branches kernel `k` attends to, summed
/// over its three branches and every row of every query head; counted the
/// way BranchKeys finds them, without listing them (real lengths have
/// billions).
double branchesVisiblePairs(const KernelInfo &k, const Pattern &pattern,
                            const Extent &e, int64_t n,
                            const HostTensor &blocks) {
  const int64_t group = e.hq / e.hkv,
                nkb = (e.skv + k.keyBlock - 1) / k.keyBlock;
  // Query heads of a KV group share the compressed and selected keys, and
  // the window keys unless the pattern is per_head.
  const int64_t windowHeads = pattern.kind == "per_head" ? e.hq : 1;
  std::vector<char> listed;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  double visible = 0;
  for (int64_t r = 0; r < e.sq; ++r) {
    const int64_t p = r + e.skv - e.sq;
    const int64_t seen = p - k.block + 1; // the last slot's end must be <= p
    const int64_t compressed =
        !k.compressCausal ? n
        : seen < 0        ? 0
                          : std::min(n, seen / k.stride + 1);
    visible += double(compressed) * e.b * e.hq;
    for (int64_t b = 0; b < e.b; ++b)
      for (int64_t g = 0; g < e.hkv; ++g) {
        listedBlocks(k, blocks, b, g, r, nkb, listed);
        int64_t selected = 0;
        for (int64_t j = 0; j < nkb; ++j)
          if (listed[j])
            selected += std::max<int64_t>(
                0, std::min({e.skv, (j + 1) * k.keyBlock,
                             k.causal ? p + 1 : e.skv}) -
                       j * k.keyBlock);
        visible += double(selected) * group;
      }
    for (int64_t h = 0; h < windowHeads; ++h) {
      const bool exact = pattern.exactRanges(h);
      ranges.clear();
      pattern.ranges(h, p, e.skv, ranges);
      int64_t window = 0;
      for (auto [lo, hi] : ranges) {
        if (exact)
          window += hi - lo;
        else
          for (int64_t j = lo; j < hi; ++j)
            window += pattern.visible(h, p, j);
      }
      visible += double(window) * e.b * (e.hq / windowHeads);
    }
  }
  return visible;
}

/// random valid blocks lists for `t` ([B, Hkv, ceil(Sq / qb), slots] of
/// kernel `k`): per query block a random number (1 to slots) of distinct
/// valid key blocks (causal: none starting after the block's last
/// position), ascending, -1 padded. Reproducible from `seed`.
void randomBlocks(HostTensor &t, const KernelInfo &k, int64_t sq, int64_t skv,
                  uint64_t seed) {
  std::mt19937_64 gen(seed);
  const int64_t nkb = (skv + k.keyBlock - 1) / k.keyBlock;
  std::vector<int64_t> valid;
  for (int64_t b = 0; b < t.shape[0]; ++b)
    for (int64_t g = 0; g < t.shape[1]; ++g)
      for (int64_t i = 0; i < t.shape[2]; ++i) {
        const int64_t last =
            std::min(sq, (i + 1) * k.queryBlock) - 1 + skv - sq;
        valid.clear();
        for (int64_t j = 0; j < nkb; ++j)
          if (!k.causal || j * k.keyBlock <= last)
            valid.push_back(j);
        std::shuffle(valid.begin(), valid.end(), gen);
        const int64_t most =
            std::min<int64_t>(t.shape[3], static_cast<int64_t>(valid.size()));
        const int64_t count =
            most ? 1 + static_cast<int64_t>(gen() % uint64_t(most)) : 0;
        std::sort(valid.begin(), valid.begin() + count);
        for (int64_t s = 0; s < t.shape[3]; ++s)
          t.set(t.offset({b, g, i, s}), s < count ? double(valid[s]) : -1.0);
      }
}

/// select_blocks in double, exactly as docs/sparse-projection.md section 1
/// defines it, compared with the kernel's indices. Rows whose choice
/// depends on two scores within 1e-3 (relative) of each other at the top-k
/// boundary are skipped (rounding may order them either way) and counted.
std::string checkSelect(const KernelInfo &k, const std::vector<HostTensor> &in,
                        const HostTensor &got, bool &pass) {
  const HostTensor &q = in[k.operandArgs[0]], &key = in[k.operandArgs[1]];
  const int64_t batch = q.shape[0], hq = q.shape[1], sq = q.shape[2],
                d = q.shape[3], hkv = key.shape[1], skv = key.shape[2];
  const int64_t group = hq / hkv, qb = k.queryBlock, kb = k.keyBlock;
  const int64_t nqb = (sq + qb - 1) / qb, nkb = (skv + kb - 1) / kb;
  const HostTensor *pooled =
      k.pooledKeys && k.operandArgs.size() > 2 ? &in[k.operandArgs[2]] : nullptr;
  int64_t rows = 0, skipped = 0, mismatches = 0;
  double smallestGap = INFINITY;
  std::string first;
  std::vector<double> pq(d), score(nkb);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t g = 0; g < hkv; ++g) {
      // Pooled keys of this (b, g): given, or the mean of each block.
      std::vector<double> pk(nkb * d, 0.0);
      for (int64_t j = 0; j < nkb; ++j) {
        const int64_t t1 = std::min(skv, (j + 1) * kb);
        for (int64_t x = 0; x < d; ++x) {
          if (pooled) {
            pk[j * d + x] = pooled->get(pooled->offset({b, g, j, x}));
            continue;
          }
          for (int64_t t = j * kb; t < t1; ++t)
            pk[j * d + x] += key.get(key.offset({b, g, t, x}));
          pk[j * d + x] /= double(t1 - j * kb);
        }
      }
      for (int64_t i = 0; i < nqb; ++i, ++rows) {
        const int64_t r1 = std::min(sq, (i + 1) * qb);
        for (int64_t x = 0; x < d; ++x) {
          double sum = 0;
          for (int64_t h = g * group; h < (g + 1) * group; ++h)
            for (int64_t r = i * qb; r < r1; ++r)
              sum += q.get(q.offset({b, h, r, x}));
          pq[x] = sum / double(group * (r1 - i * qb));
        }
        for (int64_t j = 0; j < nkb; ++j) {
          score[j] = 0;
          for (int64_t x = 0; x < d; ++x)
            score[j] += pq[x] * pk[j * d + x];
        }
        const int64_t last = r1 - 1 + skv - sq;
        std::vector<char> valid(nkb, 0), chosen(nkb, 0);
        for (int64_t j = 0; j < nkb; ++j)
          valid[j] = !k.causal || (last >= 0 && j * kb <= last);
        int64_t count = 0;
        // Forced: sinks, then the local blocks ending at the block holding
        // the last position.
        const int64_t local = last < 0 ? -1 : std::min(last / kb, nkb - 1);
        for (int64_t j = 0; j < nkb; ++j) {
          const bool forced = j < k.keepSink ||
                              (local >= 0 && j <= local &&
                               j >= local - k.keepLocal + 1);
          if (forced && valid[j] && count < k.topK) {
            chosen[j] = 1;
            ++count;
          }
        }
        // The rest by decreasing score, ties to the lower index, NaN last.
        std::vector<int64_t> rest;
        for (int64_t j = 0; j < nkb; ++j)
          if (valid[j] && !chosen[j])
            rest.push_back(j);
        std::stable_sort(rest.begin(), rest.end(), [&](int64_t a, int64_t c) {
          if (std::isnan(score[a]) || std::isnan(score[c]))
            return !std::isnan(score[a]) && std::isnan(score[c]);
          return score[a] > score[c];
        });
        const size_t take =
            std::min<size_t>(rest.size(), static_cast<size_t>(k.topK - count));
        for (size_t n = 0; n < take; ++n)
          chosen[rest[n]] = 1;
        if (take > 0 && take < rest.size()) {
          const double a = score[rest[take - 1]], c = score[rest[take]];
          const double gap = std::fabs(a - c);
          if (gap <= 1e-3 * std::max(std::fabs(a), std::fabs(c))) {
            ++skipped;
            continue;
          }
          smallestGap = std::min(smallestGap, gap);
        }
        std::vector<int64_t> want;
        for (int64_t j = 0; j < nkb; ++j)
          if (chosen[j])
            want.push_back(j);
        want.resize(static_cast<size_t>(k.topK), -1);
        for (int64_t sl = 0; sl < k.topK; ++sl) {
          const double found = got.get(got.offset({b, g, i, sl}));
          if (found != double(want[sl])) {
            if (first.empty())
              first = "indices[" + std::to_string(b) + ", " +
                      std::to_string(g) + ", " + std::to_string(i) + ", " +
                      std::to_string(sl) + "] = " + jsonNumber(found) +
                      ", expected " + std::to_string(want[sl]);
            ++mismatches;
            break;
          }
        }
      }
    }
  pass = mismatches == 0;
  return "{\"rows\": " + std::to_string(rows) +
         ", \"rows_skipped_near_tie\": " + std::to_string(skipped) +
         ", \"smallest_gap\": " +
         (std::isinf(smallestGap) ? std::string("null")
                                  : jsonNumber(smallestGap)) +
         ", \"mismatched_rows\": " + std::to_string(mismatches) +
         (first.empty() ? "" : ", \"first_mismatch\": " + jsonString(first)) +
         ", \"pass\": " + (pass ? "true" : "false") + "}";
}

/// compress_kv in double (docs/sparse-projection.md, section 1): slot n of
/// output `which` (0: keys, 1: values) is the mean, or the weighted sum
/// with the weights [Hkv, block], of positions [n stride, n stride +
/// block). Contiguous [B, Hkv, N, D].
std::vector<double> compressReference(const KernelInfo &k,
                                      const std::vector<HostTensor> &in,
                                      int which, int64_t n) {
  const HostTensor &x = in[k.operandArgs[which]];
  const HostTensor *w =
      k.linear && k.operandArgs.size() > 2 ? &in[k.operandArgs[2]] : nullptr;
  const int64_t batch = x.shape[0], hkv = x.shape[1], d = x.shape[3];
  std::vector<double> out(static_cast<size_t>(batch * hkv * n * d), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t g = 0; g < hkv; ++g)
      for (int64_t slot = 0; slot < n; ++slot)
        for (int64_t e = 0; e < d; ++e) {
          double sum = 0;
          for (int64_t t = 0; t < k.block; ++t)
            sum += (w ? w->get(w->offset({g, t})) : 1.0 / double(k.block)) *
                   x.get(x.offset({b, g, slot * k.stride + t, e}));
          out[((b * hkv + g) * n + slot) * d + e] = sum;
        }
  return out;
}

struct Comparison {
  double maxAbs = 0, maxRel = 0;
  int64_t mismatches = 0;
  bool pass = true;
  std::string json() const {
    return "{\"max_abs_err\": " + jsonNumber(maxAbs) +
           ", \"max_rel_err\": " + jsonNumber(maxRel) +
           ", \"mismatches\": " + std::to_string(mismatches) +
           ", \"pass\": " + (pass ? "true" : "false") + "}";
  }
};

/// numpy.allclose's rule, elementwise: |got - want| <= atol + rtol * |want|
/// (a NaN fails). max_rel_err counts elements where |want| > atol only: near
/// zero a relative error says nothing. `want(i)` is row-major element i.
template <typename Want>
Comparison compare(const HostTensor &got, Want want, double rtol, double atol) {
  Comparison c;
  const int64_t n = got.numel();
  for (int64_t i = 0; i < n; ++i) {
    double w = want(i);
    double diff = std::fabs(got.get(got.linearOffset(i)) - w);
    if (std::isnan(diff))
      diff = INFINITY; // shows as null in the JSON
    c.maxAbs = std::max(c.maxAbs, diff);
    if (std::fabs(w) > atol)
      c.maxRel = std::max(c.maxRel, diff / std::fabs(w));
    if (!(diff <= atol + rtol * std::fabs(w)))
      ++c.mismatches;
  }
  c.pass = c.mismatches == 0;
  return c;
}

/// The fraction of (query, key) pairs a pattern keeps, over all rows; -1
/// when unknown or too costly to count (a pattern that needs scanning over
/// more than 2^28 pairs).
double density(const Pattern &pattern, const Extent &e) {
  if (e.sq == 0 || e.skv == 0)
    return -1;
  const bool perHead = pattern.kind == "per_head";
  const int64_t heads = perHead ? e.hq : 1;
  double visible = 0;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t h = 0; h < heads; ++h) {
    const bool exact = pattern.exactRanges(h);
    if (!exact && double(e.sq) * e.skv > double(1 << 28))
      return -1;
    for (int64_t r = 0; r < e.sq; ++r) {
      const int64_t p = r + e.skv - e.sq;
      ranges.clear();
      pattern.ranges(h, p, e.skv, ranges);
      for (auto [lo, hi] : ranges) {
        if (exact) {
          visible += hi - lo;
          continue;
        }
        for (int64_t j = lo; j < hi; ++j)
          visible += pattern.visible(h, p, j);
      }
    }
  }
  return visible / (double(heads) * e.sq * e.skv);
}

//===----------------------------------------------------------------------===//
// The run
//===----------------------------------------------------------------------===//

/// Owns the runtime and the artifact, so that every exit path closes them.
struct Session {
  attn_runtime *runtime = nullptr;
  attn_artifact *artifact = nullptr;
  ~Session() {
    if (artifact)
      attn_artifact_close(artifact);
    if (runtime)
      attn_runtime_destroy(runtime);
  }
};

int run(const Options &o) {
  Session s;
  attn_status st = attn_runtime_create(static_cast<int>(o.threads), &s.runtime);
  if (st != ATTN_OK)
    runtimeError(st, "");
  st = attn_artifact_open(o.artifact.c_str(), &s.artifact);
  if (st != ATTN_OK)
    runtimeError(st, ""); // the message names the path

  // The runtime is the authority on which functions exist.
  std::vector<std::string> names;
  for (int i = 0; i < attn_artifact_num_functions(s.artifact); ++i)
    if (const char *n = attn_artifact_function_name(s.artifact, i))
      names.push_back(n);
  if (std::find(names.begin(), names.end(), o.function) == names.end()) {
    std::string list;
    for (const std::string &n : names)
      list += (list.empty() ? "" : ", ") + n;
    error("ATTN_ERROR_INVALID_ARGUMENT", "artifact '" + o.artifact +
                                             "' has no function '" +
                                             o.function + "' (it has: " +
                                             list + ")");
  }
  const int numInputs = attn_artifact_num_inputs(s.artifact, o.function.c_str());
  const int numOutputs =
      attn_artifact_num_outputs(s.artifact, o.function.c_str());
  if (numInputs < 0 || numOutputs < 0)
    runtimeError(ATTN_ERROR_INVALID_ARGUMENT, "function '" + o.function + "'");
  FunctionInfo fn =
      describeFunction(s.artifact, o.artifact, o.function, numInputs, numOutputs);
  const bool cuda = o.device.empty() ? fn.cuda : o.device == "cuda";

  // Inputs from files first: their shapes bind the sizes that --shape
  // leaves open.
  std::vector<HostTensor> inputs(numInputs);
  std::vector<std::string> sources(numInputs, "random");
  std::vector<bool> loaded(numInputs, false);
  for (const auto &[which, path] : o.inputs) {
    int index = -1;
    if (std::isdigit(static_cast<unsigned char>(which[0]))) {
      index = static_cast<int>(parseInt("--input", which));
    } else {
      for (int i = 0; i < numInputs; ++i)
        if (fn.inputs[i].role == which) {
          if (index >= 0)
            usageError("--input " + which + ": several inputs of '" +
                       o.function + "' are named so; give its number");
          index = i;
        }
    }
    if (index < 0 || index >= numInputs)
      usageError("--input " + which + ": '" + o.function + "' has inputs 0.." +
                 std::to_string(numInputs - 1));
    inputs[index] = readNpy(path, fn.inputs[index].dtype);
    sources[index] = path;
    loaded[index] = true;
  }

  std::map<std::string, int64_t> sizes;
  std::set<std::string> symbols;
  for (const auto &list : {fn.inputs, fn.outputs})
    for (const ArgInfo &a : list)
      for (const Dim &d : a.shape)
        if (!d.symbol.empty())
          symbols.insert(d.symbol);
  for (const auto &[name, value] : o.shape) {
    if (!symbols.count(name)) {
      std::string list;
      for (const std::string &n : symbols)
        list += (list.empty() ? "" : ", ") + n;
      usageError("--shape " + name + ": '" + o.function +
                 "' has no dynamic size of that name (it has: " +
                 (list.empty() ? "none" : list) + ")");
    }
    sizes[name] = value;
  }
  for (int i = 0; i < numInputs; ++i) {
    if (!loaded[i] || inputs[i].shape.size() != fn.inputs[i].shape.size())
      continue; // a rank mismatch is the runtime's to report
    for (size_t d = 0; d < fn.inputs[i].shape.size(); ++d)
      if (!fn.inputs[i].shape[d].symbol.empty())
        sizes.emplace(fn.inputs[i].shape[d].symbol, inputs[i].shape[d]);
  }
  sizes.emplace("B", 1);
  if (!sizes.count("Sq") && sizes.count("Skv"))
    sizes["Sq"] = sizes["Skv"];
  sizes.emplace("Sq", 1024);
  sizes.emplace("Skv", sizes["Sq"]);
  // Derived sizes follow from the others, in order (a blocks list's query
  // blocks, compressed slots). A window longer than its size gets 1 here:
  // the runtime refuses the call, naming both sizes.
  const int numDerived =
      attn_artifact_num_derived_sizes(s.artifact, o.function.c_str());
  for (int i = 0; i < numDerived; ++i) {
    attn_derived_size_info d{};
    if (attn_artifact_derived_size_info(s.artifact, o.function.c_str(), i,
                                        &d) != ATTN_OK ||
        !sizes.count(d.base))
      continue;
    const int64_t base = sizes[d.base];
    sizes.emplace(d.name, d.kind == ATTN_DERIVED_CEIL_DIV
                              ? (base + d.a - 1) / d.a
                          : base < d.a ? 1
                                       : (base - d.a) / d.b + 1);
  }

  // Gates: the heads --gates names (all by default) in every batch.
  int64_t batch = -1, hq = -1;
  auto sizeOf = [&](const Dim &d) {
    return d.symbol.empty() ? d.value
           : sizes.count(d.symbol) ? sizes[d.symbol] : -1;
  };
  for (int i = 0; i < numInputs; ++i) {
    const ArgInfo &a = fn.inputs[i];
    if (a.role == "query" && a.shape.size() > 1 && hq < 0) {
      batch = sizeOf(a.shape[0]);
      hq = sizeOf(a.shape[1]);
    }
  }
  std::vector<int32_t> activeList;
  std::vector<bool> headOn;
  bool gatedFunction = false;
  for (const ArgInfo &a : fn.inputs)
    gatedFunction |= a.role == "gates" || a.role == "active";
  if (o.gatesGiven && !gatedFunction)
    usageError("--gates: '" + o.function + "' takes no gates");
  if (gatedFunction) {
    if (hq < 0 || batch < 0)
      usageError("cannot tell the query's batch and head count: give them "
                 "with --shape");
    headOn = o.gatesGiven ? gatedHeads(o.gates, hq) : std::vector<bool>(hq, true);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < hq; ++h)
        if (headOn[h])
          activeList.push_back(static_cast<int32_t>(b * hq + h));
  }

  auto resolve = [&](const ArgInfo &a, const std::string &what) {
    std::vector<int64_t> shape;
    for (const Dim &d : a.shape) {
      if (d.symbol.empty()) {
        shape.push_back(d.value);
      } else if (sizes.count(d.symbol)) {
        shape.push_back(sizes[d.symbol]);
      } else {
        usageError(what + " has dynamic size '" + d.symbol +
                   "': give --shape " + d.symbol + "=N");
      }
    }
    return shape;
  };
  for (int i = 0; i < numInputs; ++i) {
    if (loaded[i])
      continue;
    const ArgInfo &a = fn.inputs[i];
    const std::string what = "input " + std::to_string(i) + " of '" + o.function + "'";
    if (a.role == "active") { // its length is the number of active pairs
      inputs[i] = HostTensor::make(ATTN_DTYPE_I32,
                                   {static_cast<int64_t>(activeList.size())}, what);
      for (size_t j = 0; j < activeList.size(); ++j)
        inputs[i].set(j, activeList[j]);
      sources[i] = o.gatesGiven ? "--gates" : "all heads";
      continue;
    }
    inputs[i] = HostTensor::make(a.dtype, resolve(a, what), what);
    const KernelInfo *blocksOf = nullptr;
    for (const KernelInfo &k : fn.kernels)
      if (k.blocksArg() == i)
        blocksOf = &k;
    if (blocksOf && inputs[i].shape.size() == 4) {
      // Random valid lists: the kernel's query and key lengths say which
      // key blocks each query block may list.
      const std::vector<int64_t> q =
          resolve(fn.inputs[blocksOf->operandArgs[0]], what);
      const std::vector<int64_t> key =
          resolve(fn.inputs[blocksOf->operandArgs[1]], what);
      randomBlocks(inputs[i], *blocksOf, q.size() == 4 ? q[2] : 0,
                   key.size() == 4 ? key[2] : 0,
                   o.seed * 0x9E3779B97F4A7C15ull + i + 1);
      sources[i] = "random blocks";
    } else if (a.role == "gates") {
      for (int64_t j = 0; j < inputs[i].numel(); ++j)
        inputs[i].set(j, headOn[j % hq] ? 1 : 0);
      sources[i] = o.gatesGiven ? "--gates" : "all heads";
    } else if (std::any_of(fn.kernels.begin(), fn.kernels.end(),
                           [&](const KernelInfo &k) {
                             return k.branches() && k.operandArgs[6] == i;
                           })) {
      // sparse_branches' weights: uniform in [0, 1], like a gate's sigmoid.
      randomize(inputs[i], o.seed * 0x9E3779B97F4A7C15ull + i + 1);
      for (int64_t j = 0; j < inputs[i].numel(); ++j)
        inputs[i].set(j, 0.5 * (inputs[i].get(j) + 1.0));
      sources[i] = "random [0, 1]";
    } else {
      // Distinct streams per input, reproducible from --seed.
      randomize(inputs[i], o.seed * 0x9E3779B97F4A7C15ull + i + 1);
    }
  }
  std::vector<HostTensor> outputs(numOutputs);
  for (int i = 0; i < numOutputs; ++i) {
    const std::string what = "output " + std::to_string(i) + " of '" + o.function + "'";
    outputs[i] = HostTensor::make(fn.outputs[i].dtype, resolve(fn.outputs[i], what), what);
    // NaN bytes (0xff..): an element the kernel fails to write shows up.
    std::memset(outputs[i].data(), 0xff, outputs[i].bytes);
  }

  // The tensors as the runtime sees them: host buffers, or copies on the GPU.
  CudaMemory gpu;
  if (cuda)
    gpu.open();
  auto view = [&](const HostTensor &t) {
    attn_tensor v{};
    v.dtype = t.dtype;
    v.rank = static_cast<int32_t>(t.shape.size());
    v.device = cuda ? ATTN_DEVICE_CUDA : ATTN_DEVICE_CPU;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      v.shape[d] = t.shape[d];
      v.strides[d] = t.strides[d];
    }
    v.data = cuda ? gpu.upload(t) : t.data();
    return v;
  };
  std::vector<attn_tensor> inViews, outViews;
  for (const HostTensor &t : inputs)
    inViews.push_back(view(t));
  for (const HostTensor &t : outputs)
    outViews.push_back(view(t));

  auto call = [&] {
    auto start = std::chrono::steady_clock::now();
    attn_status status =
        attn_call(s.runtime, s.artifact, o.function.c_str(), inViews.data(),
                  numInputs, outViews.data(), numOutputs, nullptr);
    if (status != ATTN_OK)
      runtimeError(status, "");
    if (cuda)
      gpu.sync();
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  for (int64_t i = 0; i < std::max<int64_t>(o.warmup, o.reps ? 0 : 1); ++i)
    call();
  std::vector<double> times;
  for (int64_t i = 0; i < o.reps; ++i)
    times.push_back(call());
  if (cuda)
    for (int i = 0; i < numOutputs; ++i)
      gpu.download(outputs[i], outViews[i].data);
  std::sort(times.begin(), times.end());
  double median = NAN, best = NAN;
  if (!times.empty()) {
    best = times.front();
    median = times.size() % 2 ? times[times.size() / 2]
                              : 0.5 * (times[times.size() / 2 - 1] +
                                       times[times.size() / 2]);
  }

  if (!o.outputDir.empty())
    for (int i = 0; i < numOutputs; ++i)
      writeNpy(o.outputDir + "/" + o.function + "_out" + std::to_string(i) +
                   ".npy",
               outputs[i]);

  // Work and checks, kernel by kernel.
  auto extentOf = [&](const KernelInfo &k) {
    const HostTensor &q = inputs[k.operandArgs[0]], &key = inputs[k.operandArgs[1]],
                     &v = inputs[k.operandArgs[2]];
    Extent e{};
    if (q.shape.size() != 4 || key.shape.size() != 4 || v.shape.size() != 4)
      return e;
    e = {q.shape[0], q.shape[1], key.shape[1], q.shape[2],
         key.shape[2], q.shape[3], v.shape[3]};
    return e;
  };
  double flops = 0;
  bool densityKnown = true;
  bool opDense = false; // an op's flops count a pattern it cannot read as dense
  std::vector<double> densities;
  double activeFraction = 1;
  std::vector<std::string> patterns, referenceNotes;
  std::vector<std::string> referenceJson(numOutputs), expectJson(numOutputs);
  bool checked = false, passed = true;

  // Tolerances follow the first floating-point output (select_blocks'
  // indices are compared exactly).
  attn_dtype outDtype = ATTN_DTYPE_F32;
  for (int i = numOutputs - 1; i >= 0; --i)
    if (outputs[i].dtype != ATTN_DTYPE_I32 && outputs[i].dtype != ATTN_DTYPE_BOOL)
      outDtype = outputs[i].dtype;
  const double rtol = o.rtol >= 0 ? o.rtol
                      : outDtype == ATTN_DTYPE_F32 ? 1e-3
                      : outDtype == ATTN_DTYPE_F16 ? 1e-2 : 3e-2;
  const double atol = o.atol >= 0 ? o.atol
                      : outDtype == ATTN_DTYPE_F32 ? 1e-5
                      : outDtype == ATTN_DTYPE_F16 ? 1e-2 : 3e-2;
  const int refThreads = o.threads > 0
                             ? static_cast<int>(o.threads)
                             : std::max(1u, std::thread::hardware_concurrency());

  // select_blocks and compress_kv: their arithmetic for the flop rate,
  // and their references. False when the shapes do not fit (the runtime
  // accepted them, so this is defensive).
  auto checkOtherOp = [&](const KernelInfo &k) {
    const HostTensor &a = inputs[k.operandArgs[0]], &b = inputs[k.operandArgs[1]];
    if (a.shape.size() != 4 || b.shape.size() != 4 ||
        outputs[k.resultIndex].shape.size() != 4)
      return false;
    if (k.op == "select_blocks") {
      // Scores of every (query block, key block) pair: 2 * D each, after
      // pooling every query and key element once.
      const int64_t nqb = (a.shape[2] + k.queryBlock - 1) / k.queryBlock,
                    nkb = (b.shape[2] + k.keyBlock - 1) / k.keyBlock;
      flops += 2.0 * b.shape[0] * b.shape[1] * nqb * nkb * a.shape[3] +
               double(a.numel()) + double(b.numel());
      if (o.checkReference) {
        checked = true;
        bool pass = true;
        referenceJson[k.resultIndex] =
            checkSelect(k, inputs, outputs[k.resultIndex], pass);
        passed &= pass;
      }
      return true;
    }
    // compress_kv: block multiply-adds per element of each result.
    const int64_t n = outputs[k.resultIndex].shape[2];
    flops += 2.0 * n * k.block * (double(a.numel()) + double(b.numel())) /
             std::max<int64_t>(1, a.shape[2]);
    if (o.checkReference && k.resultArgs.size() == 2) {
      checked = true;
      for (int which = 0; which < 2; ++which) {
        const int out = k.resultArgs[which];
        std::vector<double> ref = compressReference(k, inputs, which, n);
        if (static_cast<int64_t>(ref.size()) != outputs[out].numel())
          return false;
        Comparison c = compare(
            outputs[out], [&](int64_t i) { return ref[i]; }, rtol, atol);
        referenceJson[out] = c.json();
        passed &= c.pass;
      }
    }
    return true;
  };

  // sparse_branches: its three branches' arithmetic, 2 * (D + Dv) per
  // visible (query, key) pair of each, and its reference. The window
  // branch's pattern is parsed as attention's are; one this parser does not
  // know leaves the window branch counted dense and no reference.
  auto checkBranches = [&](const KernelInfo &k) {
    patterns.push_back(k.pattern);
    const Extent e = extentOf(k);
    const HostTensor &ck = inputs[k.operandArgs[3]],
                     &cv = inputs[k.operandArgs[4]],
                     &blocks = inputs[k.blocksArg()],
                     &w = inputs[k.operandArgs[6]];
    const int out = k.resultIndex;
    const int64_t n = ck.shape.size() == 4 ? ck.shape[2] : -1;
    // The runtime accepted these shapes; the reference indexes with them,
    // so it checks the relations it relies on all the same.
    if (e.b == 0 || e.hkv <= 0 || e.hq % e.hkv != 0 || n < 0 ||
        inputs[k.operandArgs[1]].shape[0] != e.b ||
        inputs[k.operandArgs[1]].shape[3] != e.d ||
        inputs[k.operandArgs[2]].shape !=
            std::vector<int64_t>{e.b, e.hkv, e.skv, e.dv} ||
        ck.shape != std::vector<int64_t>{e.b, e.hkv, n, e.d} ||
        cv.shape != std::vector<int64_t>{e.b, e.hkv, n, e.dv} ||
        blocks.shape.size() != 4 || blocks.shape[0] != e.b ||
        blocks.shape[1] != e.hkv ||
        blocks.shape[2] != (e.sq + k.queryBlock - 1) / k.queryBlock ||
        w.shape != std::vector<int64_t>{e.b, e.hq, e.sq, 3} ||
        outputs[out].shape != std::vector<int64_t>{e.b, e.hq, e.sq, e.dv}) {
      if (o.checkReference)
        referenceNotes.push_back("no reference for kernel '" + k.name +
                                 "': its shapes do not fit together");
      return;
    }
    Pattern pattern;
    std::string why;
    bool known = PatternParser(k.pattern).parse(pattern, why);
    if (known && pattern.kind == "per_head" &&
        static_cast<int64_t>(pattern.members.size()) != e.hq)
      known = false;
    if (!known) {
      // Counted as if the window branch saw every key.
      pattern = Pattern();
      pattern.kind = "dense";
      opDense = true;
    }
    flops += 2.0 * (e.d + e.dv) *
             branchesVisiblePairs(k, pattern, e, n, blocks);
    if (!o.checkReference)
      return;
    checked = true;
    if (!known) {
      referenceNotes.push_back("no built-in reference for " + k.pattern +
                               " (the window branch of sparse_branches "
                               "kernel '" + k.name + "'); use --expect");
      return;
    }
    std::vector<double> ref =
        branchesReference(k, pattern, e, n, inputs, refThreads);
    Comparison c = compare(
        outputs[out], [&](int64_t i) { return ref[i]; }, rtol, atol);
    referenceJson[out] = c.json();
    passed &= c.pass;
  };

  for (const KernelInfo &k : fn.kernels) {
    if (k.op == "select_blocks" || k.op == "compress_kv") {
      if (!checkOtherOp(k) && o.checkReference)
        referenceNotes.push_back("no reference for kernel '" + k.name +
                                 "': its shapes do not fit together");
      continue;
    }
    if (k.branches()) {
      checkBranches(k);
      continue;
    }
    patterns.push_back(k.pattern);
    if (k.operandArgs.size() < 3)
      continue;
    Extent e = extentOf(k);
    Pattern pattern;
    std::string why;
    bool known = PatternParser(k.pattern).parse(pattern, why);
    const bool blocksFit =
        k.hasBlocks && inputs[k.blocksArg()].shape.size() == 4 &&
        inputs[k.blocksArg()].shape[0] == e.b &&
        inputs[k.blocksArg()].shape[1] == e.hkv &&
        inputs[k.blocksArg()].shape[2] ==
            (e.sq + k.queryBlock - 1) / k.queryBlock;
    if (k.hasBlocks) // #attn.selected: the blocks list says what is seen
      known = blocksFit;
    if (known && pattern.kind == "per_head" &&
        static_cast<int64_t>(pattern.members.size()) != e.hq)
      known = false, why = "per_head of " + std::to_string(pattern.members.size()) + " members";
    double dens = !known       ? -1
                  : k.hasBlocks ? blocksDensity(k, e, inputs[k.blocksArg()])
                                : density(pattern, e);
    if (dens < 0) {
      densityKnown = false;
      dens = 1;
    }
    densities.push_back(dens);
    std::vector<bool> on = activePairs(k, e, inputs);
    int64_t active = std::count(on.begin(), on.end(), true);
    if (!on.empty())
      activeFraction = double(active) / double(on.size());
    // 2 * Sq * Skv * D for Q K^T and 2 * Sq * Skv * Dv for P V: 4 * ... * D
    // when D == Dv.
    flops += 2.0 * active * e.sq * e.skv * (e.d + e.dv) * dens;

    if (o.checkReference) {
      checked = true;
      const int out = k.resultIndex;
      if (!known) {
        // Not a failure of the kernel, but the check asked for was not
        // made: an error, reported after the timing.
        referenceNotes.push_back("no built-in reference for " + k.pattern +
                                 "; use --expect");
        continue;
      }
      // The runtime accepted these shapes; the reference indexes with them,
      // so it checks the relations it relies on all the same.
      if (out < 0 || out >= numOutputs || e.b == 0 || e.hkv <= 0 ||
          e.hq % e.hkv != 0 || inputs[k.operandArgs[1]].shape[0] != e.b ||
          inputs[k.operandArgs[2]].shape[0] != e.b ||
          inputs[k.operandArgs[2]].shape[1] != e.hkv ||
          inputs[k.operandArgs[2]].shape[2] != e.skv ||
          inputs[k.operandArgs[1]].shape[3] != e.d ||
          outputs[out].shape != std::vector<int64_t>{e.b, e.hq, e.sq, e.dv}) {
        referenceNotes.push_back("no reference for kernel '" + k.name +
                                 "': its shapes do not fit together");
        continue;
      }
      std::vector<double> ref = reference(k, pattern, e, inputs, refThreads);
      Comparison c = compare(
          outputs[out], [&](int64_t i) { return ref[i]; }, rtol, atol);
      referenceJson[out] = c.json();
      passed &= c.pass;
    }
  }
  if (o.expect.size() > static_cast<size_t>(numOutputs))
    usageError("--expect names " + std::to_string(o.expect.size()) +
               " files; '" + o.function + "' has " +
               std::to_string(numOutputs) + " outputs");
  for (size_t i = 0; i < o.expect.size(); ++i) {
    if (o.expect[i].empty())
      continue;
    HostTensor want = readNpy(o.expect[i], outputs[i].dtype);
    if (want.shape != outputs[i].shape)
      error("ATTN_ERROR_SHAPE_MISMATCH",
            "--expect '" + o.expect[i] + "' has shape " + jsonInts(want.shape) +
                "; output " + std::to_string(i) + " has " +
                jsonInts(outputs[i].shape));
    Comparison c = compare(
        outputs[i], [&](int64_t j) { return want.get(want.linearOffset(j)); },
        rtol, atol);
    expectJson[i] = c.json();
    checked = true;
    passed &= c.pass;
  }

  std::ostringstream js;
  js << "{\"function\": " << jsonString(o.function)
     << ", \"artifact\": " << jsonString(o.artifact)
     << ", \"device\": \"" << (cuda ? "cuda" : "cpu") << "\"";
  attn_cuda_device_info gpuInfo{};
  if (cuda && attn_cuda_device(0, &gpuInfo) == ATTN_OK)
    js << ", \"gpu\": " << jsonString(gpuInfo.name);
  js << ", \"sizes\": {";
  bool first = true;
  for (const auto &[name, value] : sizes) {
    if (!symbols.count(name))
      continue;
    js << (first ? "" : ", ") << jsonString(name) << ": " << value;
    first = false;
  }
  js << "}, \"inputs\": [";
  for (int i = 0; i < numInputs; ++i)
    js << (i ? ", " : "") << "{\"role\": " << jsonString(fn.inputs[i].role)
       << ", \"dtype\": \"" << attn_dtype_name(inputs[i].dtype)
       << "\", \"shape\": " << jsonInts(inputs[i].shape)
       << ", \"source\": " << jsonString(sources[i]) << "}";
  js << "], \"outputs\": [";
  for (int i = 0; i < numOutputs; ++i) {
    js << (i ? ", " : "") << "{\"role\": " << jsonString(fn.outputs[i].role)
       << ", \"dtype\": \"" << attn_dtype_name(outputs[i].dtype)
       << "\", \"shape\": " << jsonInts(outputs[i].shape);
    if (!o.outputDir.empty())
      js << ", \"file\": "
         << jsonString(o.outputDir + "/" + o.function + "_out" +
                       std::to_string(i) + ".npy");
    if (!referenceJson[i].empty())
      js << ", \"reference\": " << referenceJson[i];
    if (!expectJson[i].empty())
      js << ", \"expect\": " << expectJson[i];
    js << "}";
  }
  js << "], \"patterns\": [";
  for (size_t i = 0; i < patterns.size(); ++i)
    js << (i ? ", " : "") << jsonString(patterns[i]);
  js << "]";
  // Functions of select_blocks, compress_kv or sparse_branches only count
  // their arithmetic ("dense" where a window pattern was not understood).
  const char *basis = opDense || !densityKnown ? "dense"
                      : densities.empty()      ? "op"
                                               : "pattern";
  std::string densityJson = "null";
  if (densities.empty()) {
  } else if (densityKnown && densities.size() == 1) {
    densityJson = jsonNumber(densities[0]);
  } else if (densityKnown) { // one per kernel
    densityJson = "[";
    for (size_t i = 0; i < densities.size(); ++i)
      densityJson += (i ? ", " : "") + jsonNumber(densities[i]);
    densityJson += "]";
  }
  js << ", \"density\": " << densityJson
     << ", \"flops_basis\": \"" << basis << "\""
     << ", \"active_fraction\": " << jsonNumber(activeFraction)
     << ", \"threads\": " << attn_runtime_num_threads(s.runtime) << ", \"warmup\": " << o.warmup
     << ", \"reps\": " << o.reps << ", \"ms_median\": " << jsonNumber(median)
     << ", \"ms_best\": " << jsonNumber(best)
     << ", \"gflops\": " << jsonNumber(flops / (median * 1e6))
     << ", \"gflops_best\": " << jsonNumber(flops / (best * 1e6));
  if (checked)
    js << ", \"rtol\": " << jsonNumber(rtol) << ", \"atol\": " << jsonNumber(atol);
  if (!referenceNotes.empty()) {
    js << ", \"status\": \"no_reference\", \"error\": "
       << jsonString(referenceNotes[0]) << ", \"result\": \"error\"}";
    std::printf("%s\n", js.str().c_str());
    for (const std::string &note : referenceNotes)
      std::fprintf(stderr, "attn-run: %s\n", note.c_str());
    return 1;
  }
  js << ", \"result\": \""
     << (!checked ? "unchecked" : passed ? "pass" : "fail") << "\"}";
  std::printf("%s\n", js.str().c_str());
  return checked && !passed ? 3 : 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string function;
  try {
    Options o = parseOptions(argc, argv);
    function = o.function;
    return run(o);
  } catch (const Failure &f) {
    std::fprintf(stderr, "attn-run: %s\n", f.message.c_str());
    if (f.exitCode == 2)
      std::fputs("(attn-run --help lists the options)\n", stderr);
    // Still one JSON object on stdout, so that a driver records the failure.
    std::printf("{\"function\": %s, \"status\": %s, \"error\": %s, "
                "\"result\": \"error\"}\n",
                jsonString(function).c_str(), jsonString(f.status).c_str(),
                jsonString(f.message).c_str());
    return f.exitCode;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "attn-run: out of memory\n");
    std::printf("{\"function\": %s, \"status\": \"out_of_memory\", \"error\": "
                "\"out of memory\", \"result\": \"error\"}\n",
                jsonString(function).c_str());
    return 1;
  }
}
