//===- AttnDialect.td - attn dialect definition ------------*- tablegen -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD
#define ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Attention whose work is controlled: heads, patterns, budgets, selection";
  let description = [{
    The `attn` dialect says *which* attention work is worth doing. Its central
    op, `attn.attention`, is scaled dot-product attention over
    `B x H x S x D` tensors whose key visibility is described by a *pattern*
    attribute (dense, causal, local window, strided, global tokens, chunked,
    random or explicit block layouts, unions, one pattern per head), whose heads
    can be switched off by *gates*, and whose key blocks can be chosen at run
    time by `attn.select_blocks`. `attn.head_gate` turns router scores into
    gates under a *budget*; `attn.compress_kv` builds compressed K/V shared by
    the query heads of a group. A module-level `#attn.schedule` gives each
    layer its budget or pattern.

    Positions. A query row `q` of a sequence of `Sq` queries against `Skv`
    keys sits at *position* `q + (Skv - Sq)`: queries are aligned with the
    end of the key sequence, as in decoding with a KV cache (FlashAttention's
    convention). Every pattern is defined on positions, so `Sq == Skv` is
    ordinary self-attention and a single decode row sits at position
    `Skv - 1`. A query row that sees no key produces zeros.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the module attribute that holds the per-layer schedule.
    static constexpr ::llvm::StringLiteral kScheduleAttrName = "attn.schedule";
    /// The manifest facts attn-convert-to-cpu attaches to each CPU kernel.
    static constexpr ::llvm::StringLiteral kCPUKernelAttrName =
        "attn.cpu_kernel";
    /// The manifest facts attn-convert-to-gpu attaches to each GPU kernel.
    static constexpr ::llvm::StringLiteral kGPUKernelAttrName =
        "attn.gpu_kernel";

  private:
    void registerAttributes();
  public:
  }];
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD
