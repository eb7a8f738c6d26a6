//===- AttnDialect.cpp - attn dialect registration ------------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnAttrs.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::attn;

#include "attn/Dialect/Attn/IR/AttnDialect.cpp.inc"

void AttnDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "attn/Dialect/Attn/IR/AttnOps.cpp.inc"
      >();
}

LogicalResult AttnDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  if (attr.getName() == kScheduleAttrName) {
    if (!isa<ModuleOp>(op))
      return op->emitError() << "'" << kScheduleAttrName
                             << "' belongs on a builtin.module, found on '"
                             << op->getName() << "'";
    if (!isa<ScheduleAttr>(attr.getValue()))
      return op->emitError() << "'" << kScheduleAttrName
                             << "' must be an #attn.schedule, found "
                             << attr.getValue();
    return success();
  }
  // Set by attn-convert-to-cpu on the kernels it creates: what the artifact
  // manifest records about each (dtype, tiles, pattern, operand bindings).
  if (attr.getName() == kCPUKernelAttrName) {
    if (!isa<DictionaryAttr>(attr.getValue()))
      return op->emitError() << "'" << kCPUKernelAttrName
                             << "' must be a dictionary, found "
                             << attr.getValue();
    return success();
  }
  // Set by attn-convert-to-gpu on the gpu.func kernels it creates.
  if (attr.getName() == kGPUKernelAttrName) {
    if (!isa<DictionaryAttr>(attr.getValue()))
      return op->emitError() << "'" << kGPUKernelAttrName
                             << "' must be a dictionary, found "
                             << attr.getValue();
    return success();
  }
  return op->emitError() << "unknown attn attribute '"
                         << attr.getName().getValue() << "' (attn defines: "
                         << kScheduleAttrName << ", " << kCPUKernelAttrName
                         << ", " << kGPUKernelAttrName << ")";
}
