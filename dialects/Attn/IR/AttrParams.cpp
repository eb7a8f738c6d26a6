//===- AttrParams.cpp - Shared `<name = value, flag>` attribute syntax ----===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "AttrParams.h"
#include "attn/Support/Format.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <charconv>
#include <cmath>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::syntax;

ParseResult syntax::parseReal(AsmParser &parser, double &value) {
  // parseOptionalInteger would consume a leading '-' and then fail on a
  // float, so take the sign first.
  bool negative = succeeded(parser.parseOptionalMinus());
  // A hexadecimal literal is a bit pattern (0x7FF0000000000000 is inf), as
  // everywhere in MLIR; only parseFloat reads it that way.
  llvm::StringRef rest(parser.getCurrentLocation().getPointer());
  if (rest.starts_with_insensitive("0x")) {
    if (parser.parseFloat(value))
      return failure();
    if (negative)
      value = -value;
    return success();
  }
  uint64_t integer = 0;
  OptionalParseResult asInteger = parser.parseOptionalInteger(integer);
  if (asInteger.has_value()) {
    if (failed(*asInteger))
      return failure();
    value = static_cast<double>(integer);
    // `1e-3` lexes as the integer 1 followed by `e-3`: say how to write it.
    char next = *parser.getCurrentLocation().getPointer();
    if (next == 'e' || next == 'E')
      return parser.emitError(parser.getCurrentLocation())
             << "write reals with a dot before the exponent, e.g. 1.0e-3";
  } else if (parser.parseFloat(value)) {
    return failure();
  }
  if (negative)
    value = -value;
  return success();
}

static std::string listNames(llvm::ArrayRef<AttrParam> params) {
  std::string names;
  llvm::raw_string_ostream os(names);
  llvm::interleaveComma(params, os, [&](const AttrParam &p) { os << p.name; });
  return names;
}

static ParseResult parseOneValue(AsmParser &parser, llvm::StringRef mnemonic,
                                 AttrParam &param) {
  switch (param.kind) {
  case AttrParam::Kind::Flag: {
    *param.flagDst = true;
    if (failed(parser.parseOptionalEqual()))
      return success(); // A bare flag means `true`.
    if (succeeded(parser.parseOptionalKeyword("true")))
      return success();
    if (succeeded(parser.parseOptionalKeyword("false"))) {
      *param.flagDst = false;
      return success();
    }
    return parser.emitError(parser.getCurrentLocation())
           << "expected 'true' or 'false' for flag '" << param.name
           << "' of #attn." << mnemonic;
  }
  case AttrParam::Kind::Int:
    if (parser.parseEqual())
      return failure();
    return parser.parseInteger(*param.intDst);
  case AttrParam::Kind::UInt:
    if (parser.parseEqual())
      return failure();
    return parser.parseInteger(*param.uintDst);
  case AttrParam::Kind::Float:
    if (parser.parseEqual())
      return failure();
    return parseReal(parser, *param.floatDst);
  case AttrParam::Kind::IntList:
    if (parser.parseEqual())
      return failure();
    param.listDst->clear();
    return parser.parseCommaSeparatedList(
        AsmParser::Delimiter::Square, [&]() -> ParseResult {
          int64_t value;
          if (parser.parseInteger(value))
            return failure();
          param.listDst->push_back(value);
          return success();
        });
  case AttrParam::Kind::Attribute:
    if (parser.parseEqual())
      return failure();
    return parser.parseAttribute(*param.attrDst);
  case AttrParam::Kind::Keyword: {
    llvm::StringRef keyword;
    if (parser.parseEqual() || parser.parseKeyword(&keyword))
      return failure();
    *param.keywordDst = keyword.str();
    return success();
  }
  }
  llvm_unreachable("unknown parameter kind");
}

ParseResult syntax::parseAttrParams(AsmParser &parser, llvm::StringRef mnemonic,
                                    llvm::MutableArrayRef<AttrParam> params) {
  auto parseOne = [&]() -> ParseResult {
    llvm::SMLoc loc = parser.getCurrentLocation();
    llvm::StringRef name;
    if (failed(parser.parseOptionalKeyword(&name)))
      return parser.emitError(loc)
             << "expected a parameter name of #attn." << mnemonic
             << " (one of: " << listNames(params) << ")";
    auto *it = llvm::find_if(params,
                             [&](const AttrParam &p) { return p.name == name; });
    if (it == params.end())
      return parser.emitError(loc)
             << "unknown parameter '" << name << "' of #attn." << mnemonic
             << "; expected one of: " << listNames(params);
    if (it->seen)
      return parser.emitError(loc) << "parameter '" << name << "' of #attn."
                                   << mnemonic << " given twice";
    it->seen = true;
    return parseOneValue(parser, mnemonic, *it);
  };
  if (parser.parseCommaSeparatedList(parseOne))
    return failure();
  for (const AttrParam &p : params)
    if (p.required && !p.seen)
      return parser.emitError(parser.getCurrentLocation())
             << "#attn." << mnemonic << " needs parameter '" << p.name << "'";
  return success();
}

ParseResult syntax::parseAngledAttrParams(
    AsmParser &parser, llvm::StringRef mnemonic,
    llvm::MutableArrayRef<AttrParam> params, bool anglesOptional) {
  if (anglesOptional && failed(parser.parseOptionalLess())) {
    for (const AttrParam &p : params)
      if (p.required)
        return parser.emitError(parser.getCurrentLocation())
               << "#attn." << mnemonic << " needs parameter '" << p.name
               << "'";
    return success();
  }
  if (!anglesOptional && parser.parseLess())
    return failure();
  if (parseAttrParams(parser, mnemonic, params))
    return failure();
  return parser.parseGreater();
}

llvm::raw_ostream &AttrParamPrinter::next() {
  if (!first)
    printer << ", ";
  first = false;
  return printer.getStream();
}

AttrParamPrinter &AttrParamPrinter::integer(llvm::StringRef name,
                                            int64_t value) {
  next() << name << " = " << value;
  return *this;
}

AttrParamPrinter &AttrParamPrinter::floating(llvm::StringRef name,
                                             double value) {
  printReal(next() << name << " = ", value);
  return *this;
}

AttrParamPrinter &AttrParamPrinter::flag(llvm::StringRef name, bool value) {
  if (value)
    next() << name;
  return *this;
}

AttrParamPrinter &AttrParamPrinter::intList(llvm::StringRef name,
                                            llvm::ArrayRef<int64_t> values) {
  next() << name << " = [";
  llvm::interleaveComma(values, printer.getStream());
  printer.getStream() << ']';
  return *this;
}

AttrParamPrinter &AttrParamPrinter::attribute(llvm::StringRef name,
                                              Attribute value) {
  next() << name << " = ";
  printer.printAttribute(value);
  return *this;
}
