//===- AttrParams.h - Shared `<name = value, flag>` attribute syntax -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Pattern, budget and layer attributes share one textual convention:
//
//   #attn.kind<name = value, name = [1, 2], flag, name = #attn.other<...>>
//
// Parameters come in any order, flags may be written bare or as
// `flag = true|false`, and defaults are elided when printing. Parsing them in
// one place gives every attribute the same diagnostics for unknown, duplicate
// and missing parameters.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECTS_ATTN_IR_ATTRPARAMS_H
#define ATTN_DIALECTS_ATTN_IR_ATTRPARAMS_H

#include "attn/Support/Format.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir {
namespace attn {
namespace syntax {

/// One parameter of an attribute: its name, its kind, where the parsed value
/// goes, and whether it must be present.
struct AttrParam {
  enum class Kind { Int, UInt, Float, Flag, IntList, Attribute, Keyword };

  static AttrParam integer(llvm::StringRef name, int64_t &dst, bool required) {
    AttrParam p(name, Kind::Int, required);
    p.intDst = &dst;
    return p;
  }
  static AttrParam unsignedInteger(llvm::StringRef name, uint64_t &dst,
                                   bool required) {
    AttrParam p(name, Kind::UInt, required);
    p.uintDst = &dst;
    return p;
  }
  static AttrParam floating(llvm::StringRef name, double &dst, bool required) {
    AttrParam p(name, Kind::Float, required);
    p.floatDst = &dst;
    return p;
  }
  static AttrParam flag(llvm::StringRef name, bool &dst) {
    AttrParam p(name, Kind::Flag, /*required=*/false);
    p.flagDst = &dst;
    return p;
  }
  static AttrParam intList(llvm::StringRef name,
                           llvm::SmallVectorImpl<int64_t> &dst, bool required) {
    AttrParam p(name, Kind::IntList, required);
    p.listDst = &dst;
    return p;
  }
  static AttrParam keyword(llvm::StringRef name, std::string &dst,
                           bool required) {
    AttrParam p(name, Kind::Keyword, required);
    p.keywordDst = &dst;
    return p;
  }
  static AttrParam attribute(llvm::StringRef name, Attribute &dst,
                             bool required) {
    AttrParam p(name, Kind::Attribute, required);
    p.attrDst = &dst;
    return p;
  }

  llvm::StringRef name;
  Kind kind;
  bool required;
  bool seen = false;
  int64_t *intDst = nullptr;
  uint64_t *uintDst = nullptr;
  double *floatDst = nullptr;
  bool *flagDst = nullptr;
  llvm::SmallVectorImpl<int64_t> *listDst = nullptr;
  Attribute *attrDst = nullptr;
  std::string *keywordDst = nullptr;

private:
  AttrParam(llvm::StringRef name, Kind kind, bool required)
      : name(name), kind(kind), required(required) {}
};

/// Parses a real number written as a float (`0.5`) or an integer (`1`).
ParseResult parseReal(AsmParser &parser, double &value);

/// Reals print through attn's one number format (attn/Support/Format.h).
using ::mlir::attn::formatReal;
using ::mlir::attn::printReal;

/// Parses `name = value (, name = value)*` into `params` (the caller parses
/// the surrounding `<` `>`). `mnemonic` names the attribute in diagnostics.
ParseResult parseAttrParams(AsmParser &parser, llvm::StringRef mnemonic,
                            llvm::MutableArrayRef<AttrParam> params);

/// Parses `<params>`; when `anglesOptional` and no `<` follows, succeeds if no
/// parameter is required.
ParseResult parseAngledAttrParams(AsmParser &parser, llvm::StringRef mnemonic,
                                  llvm::MutableArrayRef<AttrParam> params,
                                  bool anglesOptional = false);

/// Prints parameters as `name = value`, comma separated, for use between the
/// caller's `<` `>`. Helpers to build the list being printed:
class AttrParamPrinter {
public:
  explicit AttrParamPrinter(AsmPrinter &printer) : printer(printer) {}
  AttrParamPrinter &integer(llvm::StringRef name, int64_t value);
  AttrParamPrinter &floating(llvm::StringRef name, double value);
  AttrParamPrinter &flag(llvm::StringRef name, bool value);
  AttrParamPrinter &intList(llvm::StringRef name,
                            llvm::ArrayRef<int64_t> values);
  AttrParamPrinter &attribute(llvm::StringRef name, Attribute value);
  /// Starts a new parameter: prints the separator if one was printed before.
  llvm::raw_ostream &next();

private:
  AsmPrinter &printer;
  bool first = true;
};

} // namespace syntax
} // namespace attn
} // namespace mlir

#endif // ATTN_DIALECTS_ATTN_IR_ATTRPARAMS_H
