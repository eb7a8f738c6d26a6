//===- Npy.h - Reading and writing float32 .npy files ------------*- C++
//-*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// The calibration activations attn-explore reads are numpy .npy files written
// by another program, so the reader treats them as untrusted: it accepts
// exactly format versions 1.0-3.0 with a header dictionary of 'descr' '<f4',
// 'fortran_order' False and a shape tuple, and a payload of exactly
// prod(shape) little-endian float32 values. Anything else (another dtype, a
// big-endian or Fortran-order array, a truncated payload, trailing bytes, a
// shape whose size overflows) is an error that names the file, what was
// expected and what was found.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EXPLORE_NPY_H
#define ATTN_EXPLORE_NPY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
namespace attn {
namespace explore {

/// A float32 array in C order.
struct NpyArray {
  llvm::SmallVector<int64_t, 4> shape;
  std::vector<float> data;
};

/// Writes a shape as `[2, 3, 4]` for messages.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Parses the bytes of a .npy file; `name` names it in errors.
llvm::Expected<NpyArray> parseNpy(llvm::StringRef bytes, llvm::StringRef name);

/// Reads and parses the .npy file at `path`.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);

/// Reads only the header of the .npy file at `path` (its shape), checking the
/// dtype, the order and that the file holds exactly the payload it declares.
llvm::Expected<llvm::SmallVector<int64_t, 4>>
readNpyShape(llvm::StringRef path);

/// Serializes a float32 array as a version 1.0 .npy file.
std::string serializeNpy(llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<float> data);

/// Writes a float32 array as a version 1.0 .npy file.
llvm::Error writeNpy(llvm::StringRef path, llvm::ArrayRef<int64_t> shape,
                     llvm::ArrayRef<float> data);

} // namespace explore
} // namespace attn
} // namespace mlir

#endif // ATTN_EXPLORE_NPY_H
