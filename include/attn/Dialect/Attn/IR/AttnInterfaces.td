//===- AttnInterfaces.td - attn attribute interfaces -------*- tablegen -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNINTERFACES_TD
#define ATTN_DIALECT_ATTN_IR_ATTNINTERFACES_TD

include "mlir/IR/OpBase.td"

def Attn_PatternAttrInterface : AttrInterface<"PatternAttrInterface"> {
  let cppNamespace = "::mlir::attn";
  let description = [{
    An attention pattern: which keys each query may attend to. Every pattern
    attribute answers two questions, both on concrete lengths (an
    `AttentionExtent`): whether query row `q` sees key `k` (the element mask,
    used by references and brute-force tests), and which key ranges a block of
    query rows touches (used by block planning). Ranges are half-open,
    sorted, disjoint and non-adjacent.

    Queries are placed at positions `q + (Skv - Sq)` (see the dialect
    description). For patterns whose keys are chosen at run time
    (`#attn.selected`) the ranges are an upper bound and `isVisible` answers
    for the bound; `isRuntimeSelected` says so.
  }];

  let methods = [
    InterfaceMethod<
      /*desc=*/[{Returns true if query row `query` of head `head` may attend
                 to key `key`.}],
      /*retTy=*/"bool", /*methodName=*/"isVisible",
      /*args=*/(ins "const ::mlir::attn::AttentionExtent &":$extent,
                    "int64_t":$head, "int64_t":$query, "int64_t":$key)>,
    InterfaceMethod<
      /*desc=*/[{Appends to `ranges` the exact set of keys that at least one
                 query row in `[queryBegin, queryEnd)` of head `head` attends
                 to, as normalized half-open ranges.}],
      /*retTy=*/"void", /*methodName=*/"appendKeyRanges",
      /*args=*/(ins "const ::mlir::attn::AttentionExtent &":$extent,
                    "int64_t":$head, "int64_t":$queryBegin,
                    "int64_t":$queryEnd,
                    "::mlir::attn::KeyRangeList &":$ranges)>,
    InterfaceMethod<
      /*desc=*/[{Checks the pattern against the shape of the attention op
                 that uses it (sizes may be ShapedType::kDynamic).}],
      /*retTy=*/"::llvm::LogicalResult", /*methodName=*/"verifyForShape",
      /*args=*/(ins "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
                    "const ::mlir::attn::AttentionShape &":$shape),
      /*methodBody=*/"", /*defaultImplementation=*/"return ::mlir::success();">,
    InterfaceMethod<
      /*desc=*/[{Returns true if the keys depend on a block-index operand
                 computed at run time.}],
      /*retTy=*/"bool", /*methodName=*/"isRuntimeSelected", /*args=*/(ins),
      /*methodBody=*/"", /*defaultImplementation=*/"return false;">,
  ];

  let extraSharedClassDeclaration = [{
    /// Convenience: the key ranges touched by `[queryBegin, queryEnd)`.
    ::mlir::attn::KeyRangeList getKeyRanges(
        const ::mlir::attn::AttentionExtent &extent, int64_t head,
        int64_t queryBegin, int64_t queryEnd) const {
      ::mlir::attn::KeyRangeList ranges;
      $_attr.appendKeyRanges(extent, head, queryBegin, queryEnd, ranges);
      ::mlir::attn::normalizeKeyRanges(ranges);
      return ranges;
    }
  }];
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNINTERFACES_TD
