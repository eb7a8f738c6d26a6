//===- Npy.cpp - Reading and writing float32 .npy files -------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Explore/Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir::attn::explore;
using llvm::StringRef;

namespace {

constexpr StringRef kMagic("\x93NUMPY", 6);
/// numpy itself caps headers far below this; a larger one is not an array
/// header but a malformed file.
constexpr uint64_t kMaxHeaderBytes = 1 << 20;
constexpr int64_t kMaxRank = 16;

llvm::Error fail(StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (name + ": " + message).str());
}

struct NpyHeader {
  llvm::SmallVector<int64_t, 4> shape;
  uint64_t dataOffset = 0;
  uint64_t numElements = 1;
};

/// A cursor over the header's Python dict literal, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
class DictParser {
public:
  DictParser(StringRef text) : text(text) {}

  void skipSpace() { text = text.ltrim(" \t\r\n"); }
  bool consume(StringRef token) {
    skipSpace();
    return text.consume_front(token);
  }
  bool atEnd() {
    skipSpace();
    return text.empty();
  }
  char peek() {
    skipSpace();
    return text.empty() ? '\0' : text.front();
  }
  /// A quoted string ('...' or "..."), without escapes (numpy writes none).
  std::optional<std::string> parseString() {
    skipSpace();
    if (text.empty() || (text.front() != '\'' && text.front() != '"'))
      return std::nullopt;
    char quote = text.front();
    size_t end = text.find(quote, 1);
    if (end == StringRef::npos)
      return std::nullopt;
    std::string value = text.substr(1, end - 1).str();
    text = text.drop_front(end + 1);
    return value;
  }
  std::optional<bool> parseBool() {
    if (consume("True"))
      return true;
    if (consume("False"))
      return false;
    return std::nullopt;
  }
  /// A tuple of non-negative integers: `()`, `(5,)`, `(2, 3)`.
  std::optional<llvm::SmallVector<int64_t, 4>> parseShape() {
    if (!consume("("))
      return std::nullopt;
    llvm::SmallVector<int64_t, 4> dims;
    while (!consume(")")) {
      skipSpace();
      size_t digits = 0;
      while (digits < text.size() && llvm::isDigit(text[digits]))
        ++digits;
      if (digits == 0 || digits > 18)
        return std::nullopt;
      int64_t dim = 0;
      if (text.take_front(digits).getAsInteger(10, dim))
        return std::nullopt;
      text = text.drop_front(digits);
      // numpy writes `5L` in old Python 2 files.
      consume("L");
      dims.push_back(dim);
      if (consume(")"))
        break;
      if (!consume(","))
        return std::nullopt;
    }
    return dims;
  }
  StringRef rest() { return text.take_front(20); }

private:
  StringRef text;
};

llvm::Expected<NpyHeader> parseHeader(StringRef bytes, StringRef name) {
  if (!bytes.starts_with(kMagic))
    return fail(name, "not a .npy file (expected the magic string "
                      "\\x93NUMPY at its start)");
  if (bytes.size() < 10)
    return fail(name, "truncated .npy header (" + llvm::Twine(bytes.size()) +
                          " bytes)");
  uint8_t major = bytes[6], minor = bytes[7];
  uint64_t headerLength = 0, prefix = 0;
  if (major == 1) {
    headerLength = llvm::support::endian::read16le(bytes.data() + 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail(name, "truncated .npy header (" + llvm::Twine(bytes.size()) +
                            " bytes)");
    headerLength = llvm::support::endian::read32le(bytes.data() + 8);
    prefix = 12;
  } else {
    return fail(name, "unsupported .npy format version " +
                          llvm::Twine(unsigned(major)) + "." +
                          llvm::Twine(unsigned(minor)) +
                          " (expected 1.0, 2.0 or 3.0)");
  }
  if (headerLength > kMaxHeaderBytes)
    return fail(name, "a .npy header of " + llvm::Twine(headerLength) +
                          " bytes (expected at most 1 MiB)");
  if (bytes.size() < prefix + headerLength)
    return fail(name, "truncated .npy header: it declares " +
                          llvm::Twine(headerLength) + " bytes, the file has " +
                          llvm::Twine(bytes.size() - prefix));

  DictParser dict(bytes.substr(prefix, headerLength));
  std::optional<std::string> descr;
  std::optional<bool> fortranOrder;
  std::optional<llvm::SmallVector<int64_t, 4>> shape;
  if (!dict.consume("{"))
    return fail(name, "malformed .npy header (expected a dictionary)");
  while (!dict.consume("}")) {
    std::optional<std::string> key = dict.parseString();
    if (!key || !dict.consume(":"))
      return fail(name, "malformed .npy header near '" + dict.rest() + "'");
    if (*key == "descr" && !descr) {
      descr = dict.parseString();
      if (!descr)
        return fail(name, "malformed 'descr' in the .npy header (expected a "
                          "dtype string)");
    } else if (*key == "fortran_order" && !fortranOrder) {
      fortranOrder = dict.parseBool();
      if (!fortranOrder)
        return fail(name, "malformed 'fortran_order' in the .npy header "
                          "(expected True or False)");
    } else if (*key == "shape" && !shape) {
      shape = dict.parseShape();
      if (!shape)
        return fail(name, "malformed 'shape' in the .npy header (expected a "
                          "tuple of non-negative integers)");
    } else {
      return fail(name, "unexpected or repeated key '" + *key +
                            "' in the .npy header (expected descr, "
                            "fortran_order and shape once each)");
    }
    if (dict.peek() == '}')
      continue;
    if (!dict.consume(","))
      return fail(name, "malformed .npy header near '" + dict.rest() + "'");
  }
  if (!dict.atEnd())
    return fail(name, "malformed .npy header: text after the dictionary");
  if (!descr || !fortranOrder || !shape)
    return fail(name, "the .npy header lacks '" +
                          StringRef(!descr          ? "descr"
                                    : !fortranOrder ? "fortran_order"
                                                    : "shape") +
                          "'");
  if (*descr != "<f4")
    return fail(name, "dtype '" + *descr +
                          "' (expected float32, little-endian: '<f4')");
  if (*fortranOrder)
    return fail(name, "a Fortran-order array (expected C order)");
  if (int64_t(shape->size()) > kMaxRank)
    return fail(name, "rank " + llvm::Twine(shape->size()) +
                          " (expected at most " + llvm::Twine(kMaxRank) + ")");

  NpyHeader header;
  header.shape = std::move(*shape);
  header.dataOffset = prefix + headerLength;
  for (int64_t dim : header.shape) {
    if (dim != 0 &&
        header.numElements > (uint64_t(1) << 62) / 4 / uint64_t(dim))
      return fail(name, "shape " + formatShape(header.shape) +
                            " has too many elements");
    header.numElements *= uint64_t(dim);
  }
  uint64_t payload = bytes.size() - header.dataOffset;
  if (payload != header.numElements * 4)
    return fail(name, "shape " + formatShape(header.shape) + " needs " +
                          llvm::Twine(header.numElements * 4) +
                          " bytes of float32 data, the file has " +
                          llvm::Twine(payload));
  return header;
}

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> openFile(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

} // namespace

std::string mlir::attn::explore::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

llvm::Expected<NpyArray> mlir::attn::explore::parseNpy(StringRef bytes,
                                                       StringRef name) {
  llvm::Expected<NpyHeader> header = parseHeader(bytes, name);
  if (!header)
    return header.takeError();
  NpyArray array;
  array.shape = header->shape;
  array.data.resize(header->numElements);
  const char *payload = bytes.data() + header->dataOffset;
  for (uint64_t i = 0; i < header->numElements; ++i) {
    uint32_t bits = llvm::support::endian::read32le(payload + 4 * i);
    std::memcpy(&array.data[i], &bits, 4);
  }
  return array;
}

llvm::Expected<NpyArray> mlir::attn::explore::readNpy(StringRef path) {
  auto buffer = openFile(path);
  if (!buffer)
    return buffer.takeError();
  return parseNpy((*buffer)->getBuffer(), path);
}

llvm::Expected<llvm::SmallVector<int64_t, 4>>
mlir::attn::explore::readNpyShape(StringRef path) {
  auto buffer = openFile(path);
  if (!buffer)
    return buffer.takeError();
  llvm::Expected<NpyHeader> header = parseHeader((*buffer)->getBuffer(), path);
  if (!header)
    return header.takeError();
  return header->shape;
}

std::string mlir::attn::explore::serializeNpy(llvm::ArrayRef<int64_t> shape,
                                              llvm::ArrayRef<float> data) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int64_t dim : shape)
    dict += std::to_string(dim) + (shape.size() == 1 ? "," : ", ");
  if (shape.size() > 1)
    dict.resize(dict.size() - 2);
  dict += "), }";
  // numpy pads the header with spaces and a newline so the payload starts at
  // a multiple of 64 bytes.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';

  std::string out(kMagic);
  out += char(1);
  out += char(0);
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  out += dict;
  size_t offset = out.size();
  out.resize(offset + 4 * data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &data[i], 4);
    llvm::support::endian::write32le(&out[offset + 4 * i], bits);
  }
  return out;
}

llvm::Error mlir::attn::explore::writeNpy(StringRef path,
                                          llvm::ArrayRef<int64_t> shape,
                                          llvm::ArrayRef<float> data) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return fail(path, "cannot write: " + ec.message());
  os << serializeNpy(shape, data);
  os.close();
  if (os.has_error())
    return fail(path, "cannot write: " + os.error().message());
  return llvm::Error::success();
}
