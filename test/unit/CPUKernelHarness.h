//===- CPUKernelHarness.h - Compile and call attn's CPU kernels in tests --===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// What the CPU kernel numerics tests share: tensors in a kernel's element
// type with their memref descriptors, the 16-bit conversions the references
// round through, and compiling a module with attn-convert-to-cpu into an
// ExecutionEngine.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TEST_UNIT_CPUKERNELHARNESS_H
#define ATTN_TEST_UNIT_CPUKERNELHARNESS_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/Transforms/Passes.h"
#include "attn/Reference/Reference.h"
#include "attn/Target/CPUBackend.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/Support/TargetSelect.h"

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace attn_test {

// Round-to-nearest-even conversions for the 16-bit storage types.
inline uint16_t toBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}
inline float fromBF16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint16_t toF16(float f) {
  llvm::APFloat x(f);
  bool lost;
  x.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return static_cast<uint16_t>(x.bitcastToAPInt().getZExtValue());
}
inline float fromF16(uint16_t h) {
  llvm::APFloat x(llvm::APFloat::IEEEhalf(), llvm::APInt(16, h));
  bool lost;
  x.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return x.convertToFloat();
}

/// A row-major tensor in a kernel's element type ("f32", "f16", "bf16" or
/// "i32", as in the IR) and its MLIR memref descriptor.
struct KernelBuffer {
  std::string type;
  std::vector<int64_t> shape;
  std::vector<float> f32;
  std::vector<uint16_t> half;
  std::vector<int32_t> i32;

  KernelBuffer(std::string type, std::vector<int64_t> shape)
      : type(std::move(type)), shape(std::move(shape)) {
    int64_t n = numElements();
    if (this->type == "f32")
      f32.assign(n, 0.f);
    else if (this->type == "i32")
      i32.assign(n, 0);
    else
      half.assign(n, 0);
  }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }
  void set(int64_t i, double x) {
    if (type == "f32")
      f32[i] = float(x);
    else if (type == "bf16")
      half[i] = toBF16(float(x));
    else if (type == "f16")
      half[i] = toF16(float(x));
    else
      i32[i] = int32_t(x);
  }
  double get(int64_t i) const {
    if (type == "f32")
      return f32[i];
    if (type == "bf16")
      return fromBF16(half[i]);
    if (type == "f16")
      return fromF16(half[i]);
    return i32[i];
  }
  void *data() {
    if (type == "f32")
      return f32.data();
    if (type == "i32")
      return i32.data();
    return half.data();
  }
  /// The descriptor {allocated, aligned, offset, sizes[rank],
  /// strides[rank]}: the layout of StridedMemRefType<T, rank>.
  std::vector<int64_t> descriptor() {
    std::vector<int64_t> d(3 + 2 * shape.size());
    void *p = data();
    std::memcpy(&d[0], &p, sizeof(p));
    std::memcpy(&d[1], &p, sizeof(p));
    d[2] = 0;
    int64_t stride = 1;
    for (int64_t i = shape.size() - 1; i >= 0; --i) {
      d[3 + i] = shape[i];
      d[3 + shape.size() + i] = stride;
      stride *= shape[i];
    }
    return d;
  }
  /// The host copy a reference sees (the rounded values).
  mlir::attn::HostTensor host() const {
    mlir::attn::HostTensor t(shape);
    for (int64_t i = 0; i < numElements(); ++i)
      t.data[i] = get(i);
    return t;
  }
};

/// Compiles modules of attn ops with attn-convert-to-cpu and the CPU
/// lowering into an ExecutionEngine (null on any failure).
class CPUKernelCompiler {
public:
  CPUKernelCompiler() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    mlir::DialectRegistry registry;
    registry.insert<mlir::attn::AttnDialect, mlir::func::FuncDialect,
                    mlir::arith::ArithDialect, mlir::tensor::TensorDialect,
                    mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                    mlir::vector::VectorDialect, mlir::math::MathDialect,
                    mlir::LLVM::LLVMDialect>();
    mlir::registerBuiltinDialectTranslation(registry);
    mlir::registerLLVMDialectTranslation(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  std::unique_ptr<mlir::ExecutionEngine> compile(const std::string &ir,
                                                 const std::string &target) {
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(ir, &context);
    if (!module)
      return nullptr;
    mlir::PassManager pm(&context);
    mlir::attn::ConvertAttnToCPUOptions options;
    options.target = target;
    pm.addPass(mlir::attn::createConvertAttnToCPU(options));
    mlir::attn::addCPULoweringToLLVMPasses(pm);
    if (mlir::failed(pm.run(*module)))
      return nullptr;
    mlir::ExecutionEngineOptions engineOptions;
    // `transformer` is a function_ref: the std::function it refers to must
    // outlive create() (assigning the temporary left it dangling; ASan:
    // stack-use-after-scope).
    std::function<llvm::Error(llvm::Module *)> optimize =
        mlir::makeOptimizingTransformer(2, 0, nullptr);
    engineOptions.transformer = optimize;
    auto engine = mlir::ExecutionEngine::create(*module, engineOptions);
    if (!engine) {
      llvm::consumeError(engine.takeError());
      return nullptr;
    }
    return std::move(*engine);
  }

  mlir::MLIRContext context;
};

} // namespace attn_test

#endif // ATTN_TEST_UNIT_CPUKERNELHARNESS_H
