//===- Format.h - Numbers as attn prints them -------------------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_FORMAT_H
#define ATTN_SUPPORT_FORMAT_H

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir {
namespace attn {

/// Prints `value` in the shortest form that parses back to the same double,
/// always as an MLIR float literal: `0.5`, `1.0`, `2.5e-05`, `1.0e+20`.
void printReal(llvm::raw_ostream &os, double value);

/// `printReal` into a string, for diagnostics and remarks.
std::string formatReal(double value);

} // namespace attn
} // namespace mlir

#endif // ATTN_SUPPORT_FORMAT_H
