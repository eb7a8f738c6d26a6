//===- cuda_launch.cpp - What a CUDA kernel launch of a call is -----------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "cuda_launch.h"

#include "kernel_shapes.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

using namespace attn::rt;

namespace {

std::string dims(const int64_t *shape, int rank) {
  std::string text = "[";
  for (int i = 0; i < rank; ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// cuMemsetD2D8 refuses pitches above the device's limit
// (CU_DEVICE_ATTRIBUTE_MAX_PITCH, 2^31 - 1 bytes on every current GPU);
// rows further apart than that are filled one at a time.
constexpr uint64_t kMaxMemsetPitch = INT32_MAX;

// CUDA's grid limits: x up to 2^31 - 1 blocks, y up to 65535.
constexpr int64_t kMaxGridX = INT32_MAX;
constexpr int64_t kMaxGridY = 65535;

} // namespace

std::vector<CudaZeroFill> attn::rt::zeroFillsFor(const attn_tensor &t) {
  const uint64_t bytes = static_cast<uint64_t>(dtypeBytes(t.dtype));
  const uint64_t base = reinterpret_cast<uintptr_t>(t.data);
  // (stride, size) of the dims that step through memory, innermost first.
  // Dims of size 1 add no element; no two of the rest share a stride (the
  // call's checks refuse outputs whose elements overlap).
  std::vector<std::pair<int64_t, int64_t>> steps;
  for (int i = 0; i < t.rank; ++i)
    if (t.shape[i] > 1)
      steps.emplace_back(t.strides[i], t.shape[i]);
  std::sort(steps.begin(), steps.end());
  // The contiguous run: dims whose stride is the extent of those inside.
  int64_t run = 1;
  size_t i = 0;
  while (i < steps.size() && steps[i].first == run)
    run *= steps[i++].second;
  if (i == steps.size())
    return {{base, run * bytes, run * bytes, 1}};
  // Rows of that run, evenly spaced: the next dim, and those that continue
  // its spacing (a [B, H] pair of dims over padded rows is one row dim).
  int64_t pitch = steps[i].first, height = steps[i].second;
  size_t j = i + 1;
  while (j < steps.size() && steps[j].first == pitch * height)
    height *= steps[j++].second;
  std::vector<std::pair<int64_t, int64_t>> outer(steps.begin() + j,
                                                 steps.end());
  if (static_cast<uint64_t>(pitch) * bytes > kMaxMemsetPitch) {
    outer.insert(outer.begin(), {pitch, height});
    height = 1;
    pitch = run;
  }
  // One fill per index of the outer dims (an odometer over them).
  std::vector<CudaZeroFill> fills;
  std::vector<int64_t> index(outer.size(), 0);
  for (;;) {
    int64_t offset = 0;
    for (size_t d = 0; d < outer.size(); ++d)
      offset += index[d] * outer[d].first;
    fills.push_back({base + static_cast<uint64_t>(offset) * bytes,
                     static_cast<uint64_t>(pitch) * bytes,
                     static_cast<uint64_t>(run) * bytes,
                     static_cast<uint64_t>(height)});
    size_t d = 0;
    while (d < outer.size() && ++index[d] == outer[d].second)
      index[d++] = 0;
    if (d == outer.size())
      return fills;
  }
}

namespace {

/// The TMA tensor map of a [B, H, S, D] tensor of 16-bit elements that a
/// `tensor_map` parameter asks for (docs/artifact.md): dims innermost first
/// (D, S, H, B), boxes of 128 bytes of D by `rows` rows, 128-byte swizzle.
/// TMA needs D contiguous, a 16-byte aligned base and strides that are
/// multiples of 16 bytes: a tensor without them is refused, naming them.
Status describeTensorMap(const attn_tensor &t, const CudaParam &p,
                         const std::string &param,
                         cuda::TensorMapRequest &out) {
  const int64_t elementBytes = 2;
  auto refuse = [&](const std::string &why) {
    return Status::error(
        ATTN_ERROR_INVALID_ARGUMENT,
        param + (p.tensor == "out" ? " stores the " : " loads the ") +
            p.tensor + " through a TMA tensor map, which needs " + why);
  };
  if (t.rank != 4)
    return refuse("a rank-4 tensor; it has rank " + std::to_string(t.rank));
  if (t.strides[3] != 1)
    return refuse("its last dim contiguous (stride 1); its stride[3] is " +
                  std::to_string(t.strides[3]));
  const uint64_t address = reinterpret_cast<uintptr_t>(t.data);
  if (address % 16 != 0)
    return refuse("a 16-byte aligned base; its data is at 0x" + [&] {
      char text[32];
      std::snprintf(text, sizeof text, "%llx",
                    static_cast<unsigned long long>(address));
      return std::string(text);
    }());
  const int64_t panel = 128 / elementBytes;
  if (t.shape[3] % panel != 0)
    return refuse("a last dim that is a multiple of " + std::to_string(panel) +
                  "; it is " + std::to_string(t.shape[3]));
  // Dims innermost first: D, S (dim 2), H (dim 1), B (dim 0).
  const int from[3] = {2, 1, 0};
  uint64_t dense = static_cast<uint64_t>(t.shape[3]) * elementBytes;
  for (int i = 0; i < 3; ++i) {
    const int64_t stride = t.strides[from[i]];
    const int64_t bytes = stride * elementBytes;
    const bool valid =
        bytes > 0 && bytes % 16 == 0 && bytes < (int64_t(1) << 40);
    // A dim of extent 1 is never stepped over: any valid stride serves.
    if (!valid && t.shape[from[i]] > 1)
      return refuse("strides of whole 16-byte units (below 2^40 bytes); its "
                    "stride[" +
                    std::to_string(from[i]) + "] is " + std::to_string(stride) +
                    " elements (" + std::to_string(bytes) + " bytes)");
    out.strides[i] = valid ? static_cast<uint64_t>(bytes) : dense;
    out.dims[i + 1] = static_cast<uint64_t>(t.shape[from[i]]);
    dense *= std::max<uint64_t>(1, out.dims[i + 1]);
  }
  for (int i = 0; i < 4; ++i)
    if (t.shape[i] > (int64_t(1) << 32))
      return refuse("extents below 2^32; its dim " + std::to_string(i) +
                    " has " + std::to_string(t.shape[i]));
  out.bf16 = t.dtype == ATTN_DTYPE_BF16;
  out.address = address;
  out.dims[0] = static_cast<uint64_t>(t.shape[3]);
  out.box[0] = static_cast<uint32_t>(panel);
  out.box[1] = static_cast<uint32_t>(p.rows);
  out.box[2] = out.box[3] = 1;
  return Status::success();
}

/// An attention kernel's checks: what it was compiled for, the tensors
/// agreeing with each other, the gates' shape and the active list's length
/// (returned in `activeCount`).
template <typename Fail>
Status checkAttention(const KernelSpec &k, const attn_tensor &q,
                      const attn_tensor &key, const attn_tensor &v,
                      const attn_tensor &o, const attn_tensor *gates,
                      int64_t &activeCount, const Fail &fail) {
  const int64_t batch = q.shape[0], heads = q.shape[1], queryLen = q.shape[2],
                keyLen = key.shape[2], pairs = batch * heads;
  // What the kernel was compiled for: the function's declared shapes
  // usually say the same, but a manifest may declare a size dynamic that
  // the kernel fixed.
  struct Fixed {
    int64_t found, expected;
    const char *what;
  };
  const Fixed fixed[] = {{q.shape[1], k.queryHeads, "query heads"},
                         {key.shape[1], k.keyHeads, "key heads"},
                         {v.shape[1], k.keyHeads, "value heads"},
                         {o.shape[1], k.queryHeads, "output heads"},
                         {q.shape[3], k.headDim, "query head dim"},
                         {key.shape[3], k.headDim, "key head dim"},
                         {v.shape[3], k.valueDim, "value head dim"},
                         {o.shape[3], k.valueDim, "output head dim"},
                         {batch, k.batch, "batch"},
                         {queryLen, k.queryLen, "query length"},
                         {keyLen, k.keyLen, "key length"}};
  for (const Fixed &f : fixed)
    if (f.expected >= 1 && f.found != f.expected)
      return fail(std::string(f.what) + " " + std::to_string(f.found) +
                  ", compiled for " + std::to_string(f.expected));
  // The kernel indexes every tensor with the query's B and Sq and the key's
  // Skv: tensors that disagree would be read or written out of bounds.
  struct Agree {
    int64_t found, expected;
    const char *what, *whose;
  };
  const Agree agree[] = {{key.shape[0], batch, "key's batch", "query's"},
                         {v.shape[0], batch, "value's batch", "query's"},
                         {o.shape[0], batch, "output's batch", "query's"},
                         {v.shape[2], keyLen, "value's length", "key's"},
                         {o.shape[2], queryLen, "output's length", "query's"}};
  for (const Agree &a : agree)
    if (a.found != a.expected)
      return fail("the " + std::string(a.what) + " is " +
                  std::to_string(a.found) + ", the " + a.whose + " " +
                  std::to_string(a.expected));

  const std::string gatesInput =
      gates ? " (input " + std::to_string(k.operandArgs[3]) + ")" : "";
  if (k.gates == GatesKind::Gates) {
    if (gates->rank != 2 || gates->shape[0] != batch ||
        gates->shape[1] != heads)
      return fail("gates" + gatesInput + " " +
                  dims(gates->shape, gates->rank) + " must be [B, Hq] = " +
                  dims(q.shape, 2) + " (the query's)");
  } else if (k.gates == GatesKind::Active) {
    if (gates->rank != 1)
      return fail("the active list" + gatesInput + " has rank " +
                  std::to_string(gates->rank) + ", expected 1");
    if (pairs > INT32_MAX)
      return fail("B * Hq = " + std::to_string(batch) + " * " +
                  std::to_string(heads) +
                  " does not fit the int32 active list");
    activeCount = gates->shape[0];
    // Each pair at most once: a longer list holds duplicates or entries the
    // kernel would skip, and would launch blocks past the pairs there are.
    if (activeCount > pairs)
      return fail("the active list" + gatesInput + " has " +
                  std::to_string(activeCount) + " entries, more than the " +
                  std::to_string(pairs) + " (batch, head) pairs B * Hq = " +
                  std::to_string(batch) + " * " + std::to_string(heads));
  }

  return Status::success();
}

} // namespace

Status attn::rt::planCudaLaunch(const KernelSpec &k, const attn_tensor *inputs,
                                const attn_tensor *outputs,
                                CudaLaunchPlan &out,
                                const SizeBindings &sizes) {
  out = CudaLaunchPlan();
  const std::string kernel = "kernel '" + k.name + "'";
  auto fail = [&](const std::string &what) {
    return Status::error(ATTN_ERROR_SHAPE_MISMATCH, kernel + ": " + what);
  };
  const CudaKernelSpec &cuda = k.cuda;
  const bool attention = k.op == KernelOp::Attention,
             branches = k.op == KernelOp::SparseBranches;
  const bool pairsRule = cuda.gridRule == kGridQueryTilesXPairs,
             activeRule = cuda.gridRule == kGridQueryTilesXActive,
             kvRule = cuda.gridRule == kGridTilesXKvPairs;
  // sparse_branches: query tiles over (batch, query head) pairs only (the
  // parser refuses the other rules and position tiles for it; a hand-made
  // spec may not).
  const bool known =
      branches ? pairsRule && cuda.gridQueryTile >= 1 &&
                     !cuda.gridPositionTiles
      : kvRule ? cuda.gridTile >= 1 && !cuda.gridSize.empty()
               : (pairsRule || activeRule) && cuda.gridQueryTile >= 1 &&
                     attention;
  if (!known)
    return Status::error(ATTN_ERROR_UNSUPPORTED,
                         kernel + " has grid rule '" + cuda.gridRule +
                             "'; this runtime knows " + kGridQueryTilesXPairs +
                             " and " + kGridQueryTilesXActive +
                             " (attention, with a query_tile), " +
                             kGridQueryTilesXPairs +
                             " (sparse_branches, row tiles) and " +
                             kGridTilesXKvPairs + " (with a size and a tile)");
  // The manifest parser ties the rule to the gates; a hand-made spec may not.
  if (activeRule != (k.gates == GatesKind::Active))
    return Status::error(ATTN_ERROR_UNSUPPORTED,
                         kernel + ": grid rule '" + cuda.gridRule +
                             "' does not fit its gates");
  if (k.operandArgs.size() != k.operandTypes().size() ||
      k.resultArgs.size() != k.resultTypes().size())
    return Status::error(ATTN_ERROR_INTERNAL,
                         kernel + ": operand_args or result_args do not fit "
                                  "its op");
  // What the op ties together (a blocks list, select and compress shapes).
  OpSizes opSizes;
  Status shapes = checkOpShapes(k, inputs, outputs, opSizes);
  if (!shapes.ok())
    return shapes;

  const attn_tensor *q = nullptr, *key = nullptr, *v = nullptr, *o = nullptr,
                    *gates = nullptr;
  int64_t batch = opSizes.batch, heads = k.queryHeads, queryLen = 0,
          keyLen = 0, pairs = 0, activeCount = 0;
  if (attention) {
    q = &inputs[k.operandArgs[0]];
    key = &inputs[k.operandArgs[1]];
    v = &inputs[k.operandArgs[2]];
    o = &outputs[k.resultIndex];
    gates = k.gates == GatesKind::None ? nullptr : &inputs[k.operandArgs[3]];
    batch = q->shape[0];
    heads = q->shape[1];
    queryLen = q->shape[2];
    keyLen = key->shape[2];
    pairs = batch * heads;
    Status s = checkAttention(k, *q, *key, *v, *o, gates, activeCount, fail);
    if (!s.ok())
      return s;
  } else if (branches) {
    // checkOpShapes checked every tensor against the query's B and Sq, the
    // key's Skv and the kernel's heads and dims; fixed sizes likewise.
    queryLen = opSizes.queryLen;
    keyLen = opSizes.keyLen;
    pairs = batch * k.queryHeads;
  }

  int64_t tiles = 0, rows = 0;
  if (kvRule) {
    int64_t extent = 0;
    const CudaParam &shape = cuda.gridSizeShape;
    if (shape.source == CudaParam::Source::Shape) {
      // operand[i].shape[j] / result[i].shape[j] (in range: the parser
      // checked it against the op's tensors and their ranks).
      const bool isResult = shape.result >= 0;
      const std::vector<int64_t> &args = isResult ? k.resultArgs : k.operandArgs;
      const int i = isResult ? shape.result : shape.operand;
      if (i >= static_cast<int>(args.size()))
        return Status::error(ATTN_ERROR_INTERNAL,
                             kernel + ": grid size '" + cuda.gridSize +
                                 "' names no tensor of the kernel");
      const attn_tensor &t = isResult ? outputs[args[i]] : inputs[args[i]];
      if (shape.dim >= t.rank)
        return Status::error(ATTN_ERROR_INTERNAL,
                             kernel + ": grid size '" + cuda.gridSize +
                                 "' names no dim of its tensor");
      extent = t.shape[shape.dim];
    } else {
      auto size = sizes.find(cuda.gridSize);
      if (size == sizes.end())
        return Status::error(ATTN_ERROR_UNSUPPORTED,
                             kernel + ": grid size '" + cuda.gridSize +
                                 "' is not a size of this call");
      extent = size->second;
    }
    tiles = extent / cuda.gridTile + (extent % cuda.gridTile != 0);
    rows = batch * k.keyHeads;
  } else {
    const int64_t qt = cuda.gridQueryTile;
    auto floorDiv = [](int64_t a, int64_t b) {
      return a >= 0 ? a / b : -((-a + b - 1) / b);
    };
    // Position-aligned tiles: those of ceil(Skv/qt) that hold a row (row q
    // sits at position q + Skv - Sq).
    tiles = queryLen == 0 ? 0
            : cuda.gridPositionTiles
                ? (keyLen + qt - 1) / qt - floorDiv(keyLen - queryLen, qt)
                : (queryLen + qt - 1) / qt;
    rows = activeRule ? activeCount : pairs;
  }
  if (tiles > kMaxGridX || rows > kMaxGridY)
    return fail("a grid of " + std::to_string(tiles) + " x " +
                std::to_string(rows) + " blocks (" + cuda.gridRule +
                ") exceeds CUDA's limits (x at most " +
                std::to_string(kMaxGridX) + ", y at most " +
                std::to_string(kMaxGridY) + ")");
  out.grid = {static_cast<unsigned>(tiles), static_cast<unsigned>(rows), 1};
  if (cuda.gridPersistent) {
    // The kernel walks tiles x rows itself; the launch caps the blocks at
    // the device's SMs.
    out.persistent = true;
    out.grid = {
        static_cast<unsigned>(std::min<int64_t>(tiles * rows, kMaxGridX)), 1,
        1};
  }
  out.block = {static_cast<unsigned>(cuda.block[0]),
               static_cast<unsigned>(cuda.block[1]),
               static_cast<unsigned>(cuda.block[2])};
  out.dynamicSharedMemory = static_cast<unsigned>(cuda.dynamicSharedMemory);

  auto tensorOf = [&](const CudaParam &p) -> const attn_tensor * {
    if (p.operand >= 0)
      return p.operand < static_cast<int>(k.operandArgs.size())
                 ? &inputs[k.operandArgs[p.operand]]
                 : nullptr;
    if (p.result >= 0)
      return p.result < static_cast<int>(k.resultArgs.size())
                 ? &outputs[k.resultArgs[p.result]]
                 : nullptr;
    if (!attention)
      return nullptr;
    return p.tensor == "query"                                ? q
           : p.tensor == "key"                                ? key
           : p.tensor == "value"                              ? v
           : p.tensor == "out"                                ? o
           : p.tensor == "gates" && k.gates == GatesKind::Gates ? gates
           : p.tensor == "active" && k.gates == GatesKind::Active ? gates
                                                                  : nullptr;
  };
  for (const CudaParam &p : cuda.params) {
    uint64_t slot = 0;
    int64_t integer = 0;
    const std::string param = kernel + " parameter '" + p.name + "'";
    switch (p.source) {
    case CudaParam::Source::Tensor:
    case CudaParam::Source::Stride:
    case CudaParam::Source::Shape: {
      const attn_tensor *t = tensorOf(p);
      const std::string which =
          p.operand >= 0  ? "operand[" + std::to_string(p.operand) + "]"
          : p.result >= 0 ? "result[" + std::to_string(p.result) + "]"
                          : p.tensor;
      if (!t || (p.source != CudaParam::Source::Tensor && p.dim >= t->rank))
        return Status::error(ATTN_ERROR_UNSUPPORTED,
                             param + " takes '" + which +
                                 "', which this kernel has not");
      if (p.source == CudaParam::Source::Tensor) {
        uint64_t address = reinterpret_cast<uintptr_t>(t->data);
        std::memcpy(&slot, &address, sizeof address);
      } else {
        integer = p.source == CudaParam::Source::Stride ? t->strides[p.dim]
                                                        : t->shape[p.dim];
      }
      break;
    }
    case CudaParam::Source::Size:
      if (p.size == "active_count" && k.gates != GatesKind::Active)
        return Status::error(ATTN_ERROR_UNSUPPORTED,
                             param + " takes active_count; this kernel has "
                                     "no active list");
      if (!attention && p.size != "Hq" && p.size != "Hkv")
        return Status::error(ATTN_ERROR_UNSUPPORTED,
                             param + " takes attention's size '" + p.size +
                                 "'; this kernel is " + opName(k.op));
      integer = p.size == "B"              ? batch
                : p.size == "Sq"           ? queryLen
                : p.size == "Skv"          ? keyLen
                : p.size == "pairs"        ? pairs
                : p.size == "Hq"           ? k.queryHeads
                : p.size == "active_count" ? activeCount
                : p.size == "query_tiles"  ? tiles
                                           : k.keyHeads;
      break;
    case CudaParam::Source::FunctionSize: {
      auto size = sizes.find(p.size);
      if (size == sizes.end())
        return Status::error(ATTN_ERROR_UNSUPPORTED,
                             param + " takes the size '" + p.size +
                                 "', which this call does not bind");
      integer = size->second;
      break;
    }
    case CudaParam::Source::Scale: {
      float scale = static_cast<float>(cuda.scale);
      std::memcpy(&slot, &scale, sizeof scale);
      break;
    }
    case CudaParam::Source::TileCounter:
      // (Context::tileCounter at the launch.)
      out.tileCounterParam = static_cast<int>(out.params.size());
      break;
    case CudaParam::Source::TensorMap: {
      const attn_tensor *t = tensorOf(p);
      if (!t)
        return Status::error(ATTN_ERROR_UNSUPPORTED,
                             param + " takes a tensor map of '" + p.tensor +
                                 "', which this kernel has not");
      CudaTensorMap map;
      map.param = out.params.size();
      Status s = describeTensorMap(*t, p, param, map.request);
      if (!s.ok())
        return s;
      out.tensorMaps.push_back(map);
      break;
    }
    }
    if (p.source != CudaParam::Source::Tensor &&
        p.source != CudaParam::Source::Scale &&
        p.source != CudaParam::Source::TensorMap &&
        p.source != CudaParam::Source::TileCounter) {
      if (p.type == CudaParam::Type::I32) {
        if (integer > INT32_MAX || integer < INT32_MIN)
          return fail("parameter '" + p.name + "' is i32 but the call gives " +
                      std::to_string(integer));
        int32_t narrow = static_cast<int32_t>(integer);
        std::memcpy(&slot, &narrow, sizeof narrow);
      } else {
        std::memcpy(&slot, &integer, sizeof integer);
      }
    }
    out.params.push_back(slot);
  }

  // Pairs an active list leaves out are never launched: their output is
  // zeroed first (the kernel overwrites the listed ones after it, on the
  // same stream). A "gates" kernel writes its own zeros; select, compress
  // and sparse_branches kernels write all of their results.
  if (k.gates == GatesKind::Active)
    out.zeroFills = zeroFillsFor(*o);
  return Status::success();
}
