//===- AttnAttrs.h - attn attributes and pattern interface ------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Support/KeyRanges.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

#include "attn/Dialect/Attn/IR/AttnAttrInterfaces.h.inc"
#include "attn/Dialect/Attn/IR/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "attn/Dialect/Attn/IR/AttnAttrs.h.inc"

namespace mlir {
namespace attn {

/// The 64-bit hash that decides `#attn.random_blocks` membership. Exposed so
/// that references outside the compiler (tests, the runtime's table builder)
/// agree with it bit for bit.
uint64_t hashRandomBlock(uint64_t seed, int64_t head, int64_t queryBlock,
                         int64_t keyBlock);

} // namespace attn
} // namespace mlir

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_H
