//===- cuda_launch_test.cpp - CUDA launch plans without a GPU -------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// planCudaLaunch on manifests that follow docs/artifact.md's contract
// (cuda_test_manifests.h) and tensors whose data pointers are made-up device
// addresses, never dereferenced: the grid of each rule, every parameter slot
// (pointers, strides, sizes, the scale's bits), the zero fills of active-list
// kernels (that they cover exactly the output's bytes, for contiguous and
// strided outputs), and the refusals with their messages. What it plans is
// what attn_call launches; the launch itself is tested on the GPU machine
// (scripts/device-tests.sh).
//
//===----------------------------------------------------------------------===//

#include "cuda_launch.h"
#include "cuda_test_manifests.h"
#include "sparse_test_manifests.h"
#include "manifest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <set>

using namespace attn::rt;
using namespace attn::rt::test;

namespace {

/// An attn_tensor at device address `address`: row-major strides, or the
/// strides of a row-major `storage` shape whose dims are `order` (outermost
/// first) of `shape`, or explicit `strides`.
attn_tensor tensor(uint64_t address, attn_dtype dtype,
                   std::vector<int64_t> shape,
                   std::vector<int64_t> strides = {}) {
  attn_tensor t{};
  t.data = reinterpret_cast<void *>(static_cast<uintptr_t>(address));
  t.dtype = dtype;
  t.device = ATTN_DEVICE_CUDA;
  t.rank = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = t.rank - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.strides[i] = strides.empty() ? stride : strides[i];
    stride *= shape[i];
  }
  return t;
}

Manifest parsed(const std::string &text) {
  Manifest m;
  Status s = parseManifest(text, m);
  EXPECT_TRUE(s.ok()) << s.message();
  return m;
}

constexpr uint64_t kQ = 0x7f0000000000, kK = 0x7f0100000000,
                   kV = 0x7f0200000000, kO = 0x7f0300000000,
                   kG = 0x7f0400000000;

/// The call f(q, k, v[, gates or active]) -> o of cudaManifest's function:
/// bf16, Hq 8, Hkv 2, D 128.
struct Call {
  std::vector<attn_tensor> inputs, outputs;
  Call(int64_t b, int64_t sq, int64_t skv) {
    inputs = {tensor(kQ, ATTN_DTYPE_BF16, {b, 8, sq, 128}),
              tensor(kK, ATTN_DTYPE_BF16, {b, 2, skv, 128}),
              tensor(kV, ATTN_DTYPE_BF16, {b, 2, skv, 128})};
    outputs = {tensor(kO, ATTN_DTYPE_BF16, {b, 8, sq, 128})};
  }
  Status plan(const Manifest &m, CudaLaunchPlan &out) const {
    return planCudaLaunch(m.kernels[0], inputs.data(), outputs.data(), out);
  }
};

uint64_t slotU64(const CudaLaunchPlan &p, size_t i) { return p.params.at(i); }
int32_t slotI32(const CudaLaunchPlan &p, size_t i) {
  int32_t v;
  std::memcpy(&v, &p.params.at(i), sizeof v);
  return v;
}
int64_t slotI64(const CudaLaunchPlan &p, size_t i) {
  int64_t v;
  std::memcpy(&v, &p.params.at(i), sizeof v);
  return v;
}
float slotF32(const CudaLaunchPlan &p, size_t i) {
  float v;
  std::memcpy(&v, &p.params.at(i), sizeof v);
  return v;
}

/// The 19 common parameters of `call` as the contract orders them.
void expectCommonParams(const CudaLaunchPlan &p, const Call &call) {
  EXPECT_EQ(slotU64(p, 0), kQ);
  EXPECT_EQ(slotU64(p, 1), kK);
  EXPECT_EQ(slotU64(p, 2), kV);
  EXPECT_EQ(slotU64(p, 3), kO);
  const attn_tensor *ts[] = {&call.inputs[0], &call.inputs[1],
                             &call.inputs[2], &call.outputs[0]};
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(slotI64(p, 4 + 3 * t + i), ts[t]->strides[i])
          << "tensor " << t << " stride " << i;
  EXPECT_EQ(slotI32(p, 16), call.inputs[0].shape[2]); // Sq
  EXPECT_EQ(slotI32(p, 17), call.inputs[1].shape[2]); // Skv
  // i32 slots keep their upper bytes zero (the driver copies 4 of them).
  EXPECT_EQ(slotU64(p, 16) >> 32, 0u);
  EXPECT_FLOAT_EQ(slotF32(p, 18), 0.088388f);
}

void expectError(const Status &s, attn_status code, const std::string &text) {
  EXPECT_EQ(s.code(), code) << s.message();
  EXPECT_NE(s.message().find(text), std::string::npos)
      << "message: " << s.message() << "\nexpected: " << text;
}

//===----------------------------------------------------------------------===//
// Plans
//===----------------------------------------------------------------------===//

TEST(CudaLaunchPlan, UngatedKernel) {
  Manifest m = parsed(cudaManifest("none"));
  Call call(3, 300, 500);
  CudaLaunchPlan p;
  ASSERT_TRUE(call.plan(m, p).ok());
  EXPECT_EQ(p.grid.x, 3u); // ceil(300 / 128)
  EXPECT_EQ(p.grid.y, 24u); // B * Hq
  EXPECT_EQ(p.grid.z, 1u);
  EXPECT_EQ(p.block.x, 128u);
  EXPECT_EQ(p.dynamicSharedMemory, 65536u);
  ASSERT_EQ(p.params.size(), 19u);
  expectCommonParams(p, call);
  EXPECT_TRUE(p.zeroFills.empty());
  EXPECT_TRUE(p.launches());
}

TEST(CudaLaunchPlan, GatesKernelTakesTheMaskAndNeedsNoFill) {
  Manifest m = parsed(cudaManifest("gates"));
  Call call(2, 128, 64);
  // A strided [B, Hq] view: every 3rd byte of a [2, 24] mask.
  call.inputs.push_back(tensor(kG, ATTN_DTYPE_BOOL, {2, 8}, {24, 1}));
  CudaLaunchPlan p;
  Status s = call.plan(m, p);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(p.grid.x, 1u);
  EXPECT_EQ(p.grid.y, 16u); // every pair: the kernel skips gated-off ones
  ASSERT_EQ(p.params.size(), 22u);
  expectCommonParams(p, call);
  EXPECT_EQ(slotU64(p, 19), kG);
  EXPECT_EQ(slotI64(p, 20), 24);
  EXPECT_EQ(slotI64(p, 21), 1);
  // The kernel writes the zeros of gated-off pairs itself.
  EXPECT_TRUE(p.zeroFills.empty());
}

TEST(CudaLaunchPlan, ActiveKernelLaunchesOverTheListAfterAFill) {
  Manifest m = parsed(cudaManifest("active"));
  Call call(2, 1000, 1000);
  call.inputs.push_back(tensor(kG, ATTN_DTYPE_I32, {5}));
  CudaLaunchPlan p;
  Status s = call.plan(m, p);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(p.grid.x, 8u); // ceil(1000 / 128)
  EXPECT_EQ(p.grid.y, 5u); // the list's entries
  ASSERT_EQ(p.params.size(), 21u);
  expectCommonParams(p, call);
  EXPECT_EQ(slotU64(p, 19), kG);
  EXPECT_EQ(slotI32(p, 20), 5);
  // A contiguous output: one memset of all of it, before the kernel.
  ASSERT_EQ(p.zeroFills.size(), 1u);
  const CudaZeroFill &f = p.zeroFills[0];
  EXPECT_EQ(f.address, kO);
  EXPECT_EQ(f.width, 2u * 8 * 1000 * 128 * 2);
  EXPECT_EQ(f.height, 1u);

  // Every pair listed is as many as there are; an empty list launches
  // nothing but still zeroes the output (attn_call refuses empty tensors
  // today, so this is the plan's own guarantee).
  call.inputs[3].shape[0] = 16;
  ASSERT_TRUE(call.plan(m, p).ok());
  EXPECT_EQ(p.grid.y, 16u);
  call.inputs[3].shape[0] = 0;
  ASSERT_TRUE(call.plan(m, p).ok());
  EXPECT_FALSE(p.launches());
  EXPECT_EQ(p.zeroFills.size(), 1u);
}

TEST(CudaLaunchPlan, OtherSizesAsParameters) {
  // B and pairs (B * Hq) may be passed too, e.g. for a kernel to bound
  // the list's entries by [0, B * Hq).
  Manifest m = parsed(
      [] {
        std::string text = cudaManifest("active");
        const std::string from = R"("value": "active_count"})";
        text.replace(text.find(from), from.size(),
                     from + R"(, {"name": "b", "type": "i32", "value": "B"},
          {"name": "p", "type": "i64", "value": "pairs"},
          {"name": "hkv", "type": "i32", "value": "Hkv"})");
        return text;
      }());
  Call call(3, 10, 20);
  call.inputs.push_back(tensor(kG, ATTN_DTYPE_I32, {4}));
  CudaLaunchPlan p;
  ASSERT_TRUE(call.plan(m, p).ok());
  ASSERT_EQ(p.params.size(), 24u);
  EXPECT_EQ(slotI32(p, 21), 3);
  EXPECT_EQ(slotI64(p, 22), 24);
  EXPECT_EQ(slotI32(p, 23), 2);
}

//===----------------------------------------------------------------------===//
// Zero fills
//===----------------------------------------------------------------------===//

/// The bytes `fills` set, and the bytes of `t`'s elements: must be equal.
void expectExactCover(const attn_tensor &t,
                      const std::vector<CudaZeroFill> &fills,
                      size_t maxFills) {
  const uint64_t base = reinterpret_cast<uintptr_t>(t.data);
  const int64_t bytes = dtypeBytes(t.dtype);
  std::set<uint64_t> want, got;
  int64_t count = 1;
  for (int i = 0; i < t.rank; ++i)
    count *= t.shape[i];
  for (int64_t e = 0; e < count; ++e) {
    int64_t rest = e, offset = 0;
    for (int i = t.rank - 1; i >= 0; --i) {
      offset += (rest % t.shape[i]) * t.strides[i];
      rest /= t.shape[i];
    }
    for (int64_t b = 0; b < bytes; ++b)
      want.insert(base + offset * bytes + b);
  }
  for (const CudaZeroFill &f : fills) {
    EXPECT_GE(f.height, 1u);
    if (f.height > 1)
      EXPECT_LE(f.width, f.pitch); // what cuMemsetD2D8 needs
    for (uint64_t r = 0; r < f.height; ++r)
      for (uint64_t b = 0; b < f.width; ++b) {
        const uint64_t at = f.address + r * f.pitch + b;
        EXPECT_TRUE(got.insert(at).second) << "byte set twice: " << at;
      }
  }
  EXPECT_TRUE(want == got) << "the fills set " << got.size()
                           << " bytes; the tensor has " << want.size();
  EXPECT_LE(fills.size(), maxFills);
}

TEST(CudaZeroFill, CoversExactlyTheTensor) {
  const uint64_t at = 0x10000;
  // Contiguous: one 1-D fill.
  attn_tensor t = tensor(at, ATTN_DTYPE_F32, {2, 3, 5, 4});
  std::vector<CudaZeroFill> fills = zeroFillsFor(t);
  expectExactCover(t, fills, 1);
  EXPECT_EQ(fills[0].height, 1u);
  // [B, S, H, D] storage seen as [B, H, S, D]: still one block of memory.
  t = tensor(at, ATTN_DTYPE_BF16, {2, 3, 5, 4}, {60, 4, 12, 1});
  expectExactCover(t, zeroFillsFor(t), 1);
  // A padded head dim (D 4 of 6): one 2-D fill, every row of every pair.
  t = tensor(at, ATTN_DTYPE_F16, {2, 3, 5, 4}, {90, 30, 6, 1});
  fills = zeroFillsFor(t);
  expectExactCover(t, fills, 1);
  EXPECT_EQ(fills[0].height, 30u);
  EXPECT_EQ(fills[0].pitch, 12u);
  EXPECT_EQ(fills[0].width, 8u);
  // Padded rows and head dim (a [2, 3, 7, 6] buffer's [:, :, :5, :4]): one
  // 2-D fill per (b, h) plane.
  t = tensor(at, ATTN_DTYPE_F32, {2, 3, 5, 4}, {126, 42, 6, 1});
  fills = zeroFillsFor(t);
  expectExactCover(t, fills, 6);
  // The heads of a bigger tensor ([:, 2:5] of 8 heads): one 2-D fill per
  // batch, each of contiguous planes.
  t = tensor(at + 2 * 20 * 4, ATTN_DTYPE_F32, {2, 3, 5, 4}, {160, 20, 4, 1});
  fills = zeroFillsFor(t);
  expectExactCover(t, fills, 1);
  EXPECT_EQ(fills[0].height, 2u);
  EXPECT_EQ(fills[0].width, 3u * 20 * 4);
  // Sizes of 1 and a single element.
  t = tensor(at, ATTN_DTYPE_F32, {1, 1, 1, 4}, {999, 77, 13, 1});
  expectExactCover(t, zeroFillsFor(t), 1);
  t = tensor(at, ATTN_DTYPE_BF16, {1, 3, 1, 1}, {5, 7, 3, 1});
  expectExactCover(t, zeroFillsFor(t), 1);
  // Dims in an unusual memory order (S outermost, then B, H, D padded).
  t = tensor(at, ATTN_DTYPE_F32, {2, 3, 5, 4}, {24, 8, 48, 1});
  expectExactCover(t, zeroFillsFor(t), 1);
}

TEST(CudaZeroFill, RowsTooFarApartAreFilledOneByOne) {
  // A pitch past cuMemsetD2D8's limit (2^31 - 1 bytes): 1-D fills per row.
  attn_tensor t = tensor(0x10000, ATTN_DTYPE_F32, {1, 2, 3, 4},
                         {0, int64_t(1) << 31, int64_t(1) << 29, 1});
  std::vector<CudaZeroFill> fills = zeroFillsFor(t);
  ASSERT_EQ(fills.size(), 6u);
  for (const CudaZeroFill &f : fills) {
    EXPECT_EQ(f.height, 1u);
    EXPECT_EQ(f.width, 16u);
  }
  EXPECT_EQ(fills[1].address - fills[0].address, uint64_t(1) << 31);
  EXPECT_EQ(fills[3].address - fills[0].address, uint64_t(1) << 33);
}

TEST(CudaZeroFill, StridedActiveOutput) {
  // The fill of an active-list call follows the output's layout.
  Manifest m = parsed(cudaManifest("active"));
  Call call(2, 100, 100);
  call.inputs.push_back(tensor(kG, ATTN_DTYPE_I32, {3}));
  // [B, S, H, D] storage with D padded to 192: 2-D rows of 256 bytes.
  call.outputs[0] = tensor(kO, ATTN_DTYPE_BF16, {2, 8, 100, 128},
                           {100 * 8 * 192, 192, 8 * 192, 1});
  CudaLaunchPlan p;
  ASSERT_TRUE(call.plan(m, p).ok());
  expectExactCover(call.outputs[0], p.zeroFills, 1);
  EXPECT_EQ(p.zeroFills[0].pitch, 384u);
  EXPECT_EQ(p.zeroFills[0].width, 256u);
  EXPECT_EQ(p.zeroFills[0].height, 1600u);
}

//===----------------------------------------------------------------------===//
// Refusals
//===----------------------------------------------------------------------===//

TEST(CudaLaunchPlan, RefusesGatesOfTheWrongShape) {
  Manifest m = parsed(cudaManifest("gates"));
  Call call(2, 64, 64);
  call.inputs.push_back(tensor(kG, ATTN_DTYPE_BOOL, {3, 8}));
  CudaLaunchPlan p;
  expectError(call.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'f_attn0': gates (input 3) [3, 8] must be [B, Hq] = "
              "[2, 8] (the query's)");
  call.inputs[3] = tensor(kG, ATTN_DTYPE_BOOL, {2, 4});
  expectError(call.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "gates (input 3) [2, 4] must be [B, Hq] = [2, 8]");
}

TEST(CudaLaunchPlan, RefusesActiveListsLongerThanThePairs) {
  Manifest m = parsed(cudaManifest("active"));
  Call call(2, 64, 64);
  call.inputs.push_back(tensor(kG, ATTN_DTYPE_I32, {17}));
  CudaLaunchPlan p;
  expectError(call.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'f_attn0': the active list (input 3) has 17 entries, "
              "more than the 16 (batch, head) pairs B * Hq = 2 * 8");
}

TEST(CudaLaunchPlan, RefusesGridsPastCudasLimits) {
  Manifest m = parsed(cudaManifest("none"));
  Call call(8192, 64, 64); // 65536 pairs
  CudaLaunchPlan p;
  expectError(call.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "a grid of 1 x 65536 blocks (query_tiles_x_pairs) exceeds "
              "CUDA's limits (x at most 2147483647, y at most 65535)");
  Call fits(8191, 64, 64);
  EXPECT_TRUE(fits.plan(m, p).ok());
}

TEST(CudaLaunchPlan, RefusesI32ParametersACallOverflows) {
  Manifest m = parsed(cudaManifest("none"));
  Call call(1, int64_t(1) << 31, 64);
  CudaLaunchPlan p;
  expectError(call.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'f_attn0': parameter 'sq' is i32 but the call gives "
              "2147483648");
}

TEST(CudaLaunchPlan, RefusesTensorsThatDisagree) {
  Manifest m = parsed(cudaManifest("none"));
  CudaLaunchPlan p;
  Call heads(1, 64, 64);
  heads.inputs[1] = tensor(kK, ATTN_DTYPE_BF16, {1, 4, 64, 128});
  expectError(heads.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'f_attn0': key heads 4, compiled for 2");
  Call dim(1, 64, 64);
  dim.inputs[2] = tensor(kV, ATTN_DTYPE_BF16, {1, 2, 64, 64});
  expectError(dim.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "value head dim 64, compiled for 128");
  Call rows(1, 64, 64);
  rows.outputs[0] = tensor(kO, ATTN_DTYPE_BF16, {1, 8, 63, 128});
  expectError(rows.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "the output's length is 63, the query's 64");
  Call batch(2, 64, 64);
  batch.inputs[2] = tensor(kV, ATTN_DTYPE_BF16, {1, 2, 64, 128});
  expectError(batch.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "the value's batch is 1, the query's 2");
}

TEST(CudaLaunchPlan, RefusesUnknownGridRules) {
  std::string text = cudaManifest("none");
  text.replace(text.find("query_tiles_x_pairs"), 19, "split_kv_x_pairs");
  Manifest m = parsed(text);
  Call call(1, 64, 64);
  CudaLaunchPlan p;
  expectError(call.plan(m, p), ATTN_ERROR_UNSUPPORTED,
              "kernel 'f_attn0' has grid rule 'split_kv_x_pairs'; this runtime "
              "knows query_tiles_x_pairs and query_tiles_x_active");
}


//===----------------------------------------------------------------------===//
// Position-aligned query tiles
//===----------------------------------------------------------------------===//

/// cudaManifest with the grid's tiles aligned in key positions.
std::string positionTilesManifest(const std::string &gates) {
  std::string text = cudaManifest(gates);
  const std::string tile = R"("query_tile": 128)";
  size_t at = text.find(tile);
  EXPECT_NE(at, std::string::npos);
  text.insert(at + tile.size(), R"(, "query_tiles": "positions")");
  return text;
}

TEST(CudaLaunchPlan, PositionTilesCountTheTilesHoldingARow) {
  Manifest m = parsed(positionTilesManifest("none"));
  ASSERT_TRUE(m.kernels[0].cuda.gridPositionTiles);
  struct Case {
    int64_t sq, skv;
    unsigned tiles;
  } cases[] = {
      {300, 500, 3},   // positions 200..499: tiles 1..3
      {256, 256, 2},   // aligned: as many as row tiles
      {1000, 1037, 9}, // positions 37..1036: tiles 0..8, one more than rows
      {1, 4096, 1},    // decode: the last tile only
      {500, 300, 5},   // positions -200..299: tiles -2..2
  };
  for (const Case &c : cases) {
    Call call(1, c.sq, c.skv);
    CudaLaunchPlan p;
    ASSERT_TRUE(call.plan(m, p).ok());
    EXPECT_EQ(p.grid.x, c.tiles) << "Sq " << c.sq << ", Skv " << c.skv;
    EXPECT_EQ(p.grid.y, 8u);
  }
}

TEST(CudaLaunchPlan, PositionTilesLaunchNothingWithoutRows) {
  Manifest m = parsed(positionTilesManifest("none"));
  Call call(1, 0, 300);
  CudaLaunchPlan p;
  Status s = call.plan(m, p);
  if (s.ok())
    EXPECT_FALSE(p.launches());
}

/// positionTilesManifest made persistent: its grid walked by the kernel,
/// which takes the virtual grid's extent as its last two parameters.
std::string persistentManifest(const std::string &gates) {
  std::string text = positionTilesManifest(gates);
  const std::string tiles = R"("query_tiles": "positions")";
  text.insert(text.find(tiles) + tiles.size(), R"(, "persistent": true)");
  const std::string rows = gates == "active" ? "active_count" : "pairs";
  text.insert(
      text.rfind("]}}]}"),
      R"(, {"name": "grid_tiles", "type": "i32", "value": "query_tiles"},
                 {"name": "grid_rows", "type": "i32", "value": ")" +
          rows + R"("})");
  return text;
}

TEST(CudaLaunchPlan, PersistentGridIsTheItemsTheKernelWalks) {
  Manifest m = parsed(persistentManifest("none"));
  ASSERT_TRUE(m.kernels[0].cuda.gridPersistent);
  Call call(3, 1000, 1037); // tiles 0..8 of 3 x 8 pairs
  CudaLaunchPlan p;
  Status s = call.plan(m, p);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(p.persistent);
  // The work items; the launch caps the blocks at the device's SMs.
  EXPECT_EQ(p.grid.x, 9u * 24);
  EXPECT_EQ(p.grid.y, 1u);
  ASSERT_EQ(p.params.size(), 21u);
  expectCommonParams(p, call);
  EXPECT_EQ(slotI32(p, 19), 9);
  EXPECT_EQ(slotI32(p, 20), 24);

  // Over an active list: its entries are the rows.
  Manifest active = parsed(persistentManifest("active"));
  Call listed(2, 256, 256);
  listed.inputs.push_back(tensor(kG, ATTN_DTYPE_I32, {5}));
  ASSERT_TRUE(listed.plan(active, p).ok());
  EXPECT_EQ(p.grid.x, 2u * 5);
  EXPECT_EQ(slotI32(p, p.params.size() - 2), 2);
  EXPECT_EQ(slotI32(p, p.params.size() - 1), 5);
  listed.inputs[3].shape[0] = 0;
  ASSERT_TRUE(listed.plan(active, p).ok());
  EXPECT_FALSE(p.launches());

  // A kernel without the flag runs a block per tile.
  Manifest grid = parsed(positionTilesManifest("none"));
  ASSERT_TRUE(call.plan(grid, p).ok());
  EXPECT_FALSE(p.persistent);
  EXPECT_EQ(p.grid.x, 9u);
  EXPECT_EQ(p.grid.y, 24u);
}

TEST(CudaLaunchPlan, TheTileCounterIsAParameterOfPersistentGrids) {
  std::string text = persistentManifest("none");
  text.insert(
      text.rfind("]}}]}"),
      R"(, {"name": "tile_counter", "type": "ptr", "value": "tile_counter"})");
  Manifest m = parsed(text);
  Call call(3, 1000, 1037);
  CudaLaunchPlan p;
  ASSERT_TRUE(call.plan(m, p).ok());
  ASSERT_EQ(p.params.size(), 22u);
  // The slot is filled at the launch (Context::tileCounter).
  EXPECT_EQ(p.tileCounterParam, 21);
  EXPECT_EQ(slotU64(p, 21), 0u);
  // Without it, no counter.
  ASSERT_TRUE(call.plan(parsed(persistentManifest("none")), p).ok());
  EXPECT_EQ(p.tileCounterParam, -1);

  // Only a persistent grid draws items from a counter; a pointer it is.
  std::string grid = positionTilesManifest("none");
  grid.insert(
      grid.rfind("]}}]}"),
      R"(, {"name": "tile_counter", "type": "ptr", "value": "tile_counter"})");
  Manifest refused;
  expectError(parseManifest(grid, refused), ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"tile_counter\" is the work-item counter of a persistent "
              "grid; this kernel's grid is not persistent");
  std::string i64 = persistentManifest("none");
  i64.insert(
      i64.rfind("]}}]}"),
      R"(, {"name": "tile_counter", "type": "i64", "value": "tile_counter"})");
  expectError(parseManifest(i64, refused), ATTN_ERROR_CORRUPT_ARTIFACT,
              "\"tile_counter\" with type \"i64\" is not a parameter");
}

//===----------------------------------------------------------------------===//
// Issue 8: select_blocks and attention over a blocks list
//===----------------------------------------------------------------------===//

constexpr uint64_t kIdx = 0x7f0500000000, kBlocks = 0x7f0600000000;

TEST(CudaLaunchPlan, SelectKernelTakesGenericParameters) {
  Manifest m = parsed(sparseCudaManifest());
  const KernelSpec &k = m.kernels[0];
  // B = 3, Sq = 300 (5 query blocks of 64), Skv = 500; the indices padded
  // in their last dim (stride 10 for 8 slots).
  std::vector<attn_tensor> inputs = {
      tensor(kQ, ATTN_DTYPE_BF16, {3, 8, 300, 128}),
      tensor(kK, ATTN_DTYPE_BF16, {3, 2, 500, 128}, {1000 * 128, 500 * 128,
                                                     128, 1})};
  std::vector<attn_tensor> outputs = {
      tensor(kIdx, ATTN_DTYPE_I32, {3, 2, 5, 8}, {100, 50, 10, 1})};
  const SizeBindings sizes = {
      {"B", 3}, {"Sq", 300}, {"Skv", 500}, {"Sq_blocks", 5}};
  CudaLaunchPlan p;
  Status s = planCudaLaunch(k, inputs.data(), outputs.data(), p, sizes);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(p.grid.x, 2u); // ceil(Sq_blocks / 4)
  EXPECT_EQ(p.grid.y, 6u); // B * Hkv
  EXPECT_EQ(p.grid.z, 1u);
  ASSERT_EQ(p.params.size(), 17u);
  EXPECT_EQ(slotU64(p, 0), kQ);
  EXPECT_EQ(slotU64(p, 1), kK);
  EXPECT_EQ(slotU64(p, 2), kIdx);
  const attn_tensor *ts[] = {&inputs[0], &inputs[1], &outputs[0]};
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(slotI64(p, 3 + 3 * t + i), ts[t]->strides[i])
          << "tensor " << t << " stride " << i;
  EXPECT_EQ(slotI32(p, 12), 300); // Sq, the function's size
  EXPECT_EQ(slotI32(p, 13), 500); // Skv
  EXPECT_EQ(slotI32(p, 14), 5);   // Sq_blocks, derived
  EXPECT_EQ(slotI64(p, 15), 500); // operand[1].shape[2]
  EXPECT_EQ(slotI32(p, 16), 2);   // Hkv
  EXPECT_TRUE(p.zeroFills.empty()); // the kernel writes all of its result

  // Indices of another block count, and a size the call does not bind.
  std::vector<attn_tensor> short4 = {
      tensor(kIdx, ATTN_DTYPE_I32, {3, 2, 4, 8})};
  expectError(planCudaLaunch(k, inputs.data(), short4.data(), p, sizes),
              ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'select_sel0': the indices (output 0) is [3, 2, 4, 8], "
              "expected [B, Hkv, ceil(Sq / 64), top_k] = [3, 2, 5, 8]");
  expectError(planCudaLaunch(k, inputs.data(), outputs.data(), p,
                             {{"B", 3}, {"Sq", 300}, {"Skv", 500}}),
              ATTN_ERROR_UNSUPPORTED,
              "kernel 'select_sel0': grid size 'Sq_blocks' is not a size of "
              "this call");
  // More key blocks than the kernel's scores fit: ceil(600 / 64) = 10 > 8.
  std::vector<attn_tensor> longKeys = {
      inputs[0], tensor(kK, ATTN_DTYPE_BF16, {3, 2, 600, 128})};
  expectError(planCudaLaunch(k, longKeys.data(), outputs.data(), p, sizes),
              ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'select_sel0': the key (input 1) [3, 2, 600, 128] has "
              "ceil(Skv / 64) = 10 key blocks, more than the kernel's "
              "max_key_blocks 8");
  // CUDA's y limit: B * Hkv rows.
  std::vector<attn_tensor> big = {
      tensor(kQ, ATTN_DTYPE_BF16, {40000, 8, 300, 128}),
      tensor(kK, ATTN_DTYPE_BF16, {40000, 2, 500, 128})};
  std::vector<attn_tensor> bigOut = {
      tensor(kIdx, ATTN_DTYPE_I32, {40000, 2, 5, 8})};
  SizeBindings bigSizes = sizes;
  bigSizes["B"] = 40000;
  expectError(planCudaLaunch(k, big.data(), bigOut.data(), p, bigSizes),
              ATTN_ERROR_SHAPE_MISMATCH,
              "a grid of 2 x 80000 blocks (tiles_x_kv_pairs) exceeds CUDA's "
              "limits");
}

TEST(CudaLaunchPlan, TilesXKvPairsOverATensorsExtent) {
  // What attn-compile writes: ceil(Sq / (8 query blocks of 64)) tiles.
  std::string text = sparseCudaManifest();
  const std::string from = R"("size": "Sq_blocks", "tile": 4)";
  text.replace(text.find(from), from.size(),
               R"("size": "operand[0].shape[2]", "tile": 512)");
  Manifest m = parsed(text);
  std::vector<attn_tensor> inputs = {
      tensor(kQ, ATTN_DTYPE_BF16, {1, 8, 1100, 128}),
      tensor(kK, ATTN_DTYPE_BF16, {1, 2, 500, 128})};
  std::vector<attn_tensor> outputs = {
      tensor(kIdx, ATTN_DTYPE_I32, {1, 2, 18, 8})};
  CudaLaunchPlan p;
  // No size bindings needed: the extent is the query's.
  Status s = planCudaLaunch(m.kernels[0], inputs.data(), outputs.data(), p,
                            {{"Sq", 1100}, {"Skv", 500}, {"Sq_blocks", 18}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(p.grid.x, 3u); // ceil(1100 / 512)
  EXPECT_EQ(p.grid.y, 2u);
}

TEST(CudaLaunchPlan, SelectedAttentionGetsItsBlocksList) {
  Manifest m = parsed(sparseCudaManifest());
  const KernelSpec &k = m.kernels[1];
  Call call(2, 130, 260); // ceil(130 / 64) = 3 query blocks
  call.inputs.push_back(tensor(kBlocks, ATTN_DTYPE_I32, {2, 2, 3, 8}));
  CudaLaunchPlan p;
  Status s = planCudaLaunch(k, call.inputs.data(), call.outputs.data(), p,
                            {{"B", 2}, {"Sq", 130}, {"Skv", 260},
                             {"Sq_blocks", 3}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(p.grid.x, 3u);  // ceil(Sq / 64) query tiles
  EXPECT_EQ(p.grid.y, 16u); // B * Hq
  ASSERT_EQ(p.params.size(), 24u);
  expectCommonParams(p, call);
  EXPECT_EQ(slotU64(p, 19), kBlocks);
  EXPECT_EQ(slotI64(p, 20), 48); // 2 * 3 * 8
  EXPECT_EQ(slotI64(p, 21), 24);
  EXPECT_EQ(slotI64(p, 22), 8);
  EXPECT_EQ(slotI32(p, 23), 8); // slots
  // A list of another query-block count or KV-head count is refused.
  call.inputs[3] = tensor(kBlocks, ATTN_DTYPE_I32, {2, 2, 2, 8});
  expectError(planCudaLaunch(k, call.inputs.data(), call.outputs.data(), p),
              ATTN_ERROR_SHAPE_MISMATCH,
              "kernel 'selected_attn0': the blocks (input 3) is [2, 2, 2, 8], "
              "expected [B, Hkv, ceil(Sq / 64), slots] = [2, 2, 3, 8]");
}

/// A call of branchesCudaManifest()'s sparse_branches kernel: bf16, Hq 32,
/// Hkv 8, D 128, blocks of 64 with 16 slots, windows of 32 every 16.
struct BranchesCall {
  static constexpr uint64_t kCk = 0x7f0700000000, kCv = 0x7f0800000000,
                            kW = 0x7f0900000000;
  std::vector<attn_tensor> inputs, outputs;
  SizeBindings sizes;
  BranchesCall(int64_t b, int64_t sq, int64_t skv) {
    const int64_t n = skv >= 32 ? (skv - 32) / 16 + 1 : 1,
                  nqb = (sq + 63) / 64;
    inputs = {tensor(kQ, ATTN_DTYPE_BF16, {b, 32, sq, 128}),
              tensor(kK, ATTN_DTYPE_BF16, {b, 8, skv, 128}),
              tensor(kV, ATTN_DTYPE_BF16, {b, 8, skv, 128}),
              tensor(kCk, ATTN_DTYPE_BF16, {b, 8, n, 128}),
              tensor(kCv, ATTN_DTYPE_BF16, {b, 8, n, 128}),
              tensor(kBlocks, ATTN_DTYPE_I32, {b, 8, nqb, 16}),
              tensor(kW, ATTN_DTYPE_F32, {b, 32, sq, 3})};
    outputs = {tensor(kO, ATTN_DTYPE_BF16, {b, 32, sq, 128})};
    sizes = {{"B", b},         {"Sq", sq},       {"Skv", skv},
             {"Sq_blocks", nqb}, {"Skv_slots", n}};
  }
  Status plan(const Manifest &m, CudaLaunchPlan &out) const {
    return planCudaLaunch(m.kernels[0], inputs.data(), outputs.data(), out,
                          sizes);
  }
};

TEST(CudaLaunchPlan, SparseBranchesTilesQueriesOfEveryQueryHead) {
  Manifest m = parsed(branchesCudaManifest());
  // B = 2, Sq = 130 (3 tiles of 64), Skv = 1000 (61 compressed slots).
  BranchesCall call(2, 130, 1000);
  CudaLaunchPlan p;
  Status s = call.plan(m, p);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(p.grid.x, 3u);  // ceil(Sq / 64)
  EXPECT_EQ(p.grid.y, 64u); // B * Hq, not B * Hkv
  EXPECT_EQ(p.grid.z, 1u);
  EXPECT_EQ(p.block.x, 128u);
  EXPECT_EQ(p.dynamicSharedMemory, 98304u);
  ASSERT_EQ(p.params.size(), 38u);
  const uint64_t addresses[] = {kQ, kK, kV, BranchesCall::kCk,
                                BranchesCall::kCv, kBlocks, BranchesCall::kW,
                                kO};
  for (int t = 0; t < 8; ++t) {
    EXPECT_EQ(slotU64(p, t), addresses[t]) << "tensor " << t;
    const attn_tensor &x = t < 7 ? call.inputs[t] : call.outputs[0];
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(slotI64(p, 8 + 3 * t + i), x.strides[i])
          << "tensor " << t << " stride " << i;
  }
  EXPECT_EQ(slotI64(p, 8 + 3 * 6), 2 * 32 * 130 * 3 / 2); // weights' stride 0
  EXPECT_EQ(slotI32(p, 32), 130);  // Sq
  EXPECT_EQ(slotI32(p, 33), 1000); // Skv
  EXPECT_EQ(slotI32(p, 34), 61);   // Skv_slots = (1000 - 32) / 16 + 1
  EXPECT_FLOAT_EQ(slotF32(p, 35), 0.0884f);
  EXPECT_EQ(slotI32(p, 36), 32); // Hq
  EXPECT_EQ(slotI32(p, 37), 16); // slots
  EXPECT_TRUE(p.zeroFills.empty()); // the kernel writes every element

  // Decode: one row, one tile per (batch, query head).
  BranchesCall decode(3, 1, 4096);
  ASSERT_TRUE(decode.plan(m, p).ok());
  EXPECT_EQ(p.grid.x, 1u);
  EXPECT_EQ(p.grid.y, 96u);
  // No rows, no blocks.
  BranchesCall empty(1, 0, 64);
  ASSERT_TRUE(empty.plan(m, p).ok());
  EXPECT_FALSE(p.launches());
}

TEST(CudaLaunchPlan, SparseBranchesRefusesTensorsThatDisagree) {
  Manifest m = parsed(branchesCudaManifest());
  const KernelSpec &k = m.kernels[0];
  CudaLaunchPlan p;
  auto refused = [&](const BranchesCall &call, const std::string &text) {
    expectError(call.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
                "kernel 'nsa_br0': " + text);
  };
  BranchesCall call(1, 100, 300); // N = (300 - 32) / 16 + 1 = 17
  call.inputs[3] = tensor(0x1000, ATTN_DTYPE_BF16, {1, 8, 100, 128});
  refused(call, "the compressed key (input 3) is [1, 8, 100, 128], expected "
                "[B, Hkv, N, D] with N = (Skv - 32) / 16 + 1 = "
                "[1, 8, 17, 128]");
  call = BranchesCall(1, 100, 300);
  call.inputs[4] = tensor(0x1000, ATTN_DTYPE_BF16, {1, 8, 17, 64});
  refused(call, "the compressed value (input 4) is [1, 8, 17, 64], expected "
                "[B, Hkv, N, Dv] with N = (Skv - 32) / 16 + 1 = "
                "[1, 8, 17, 128]");
  call = BranchesCall(1, 100, 300);
  call.inputs[5] = tensor(0x1000, ATTN_DTYPE_I32, {1, 8, 1, 16});
  refused(call, "the blocks (input 5) is [1, 8, 1, 16], expected "
                "[B, Hkv, ceil(Sq / 64), slots] = [1, 8, 2, 16]");
  call = BranchesCall(1, 100, 300);
  call.inputs[6] = tensor(0x1000, ATTN_DTYPE_F32, {1, 32, 100, 2});
  refused(call, "the weights (input 6) is [1, 32, 100, 2], expected "
                "[B, Hq, Sq, 3] (one weight per branch) = [1, 32, 100, 3]");
  call = BranchesCall(1, 100, 300);
  call.inputs[6] = tensor(0x1000, ATTN_DTYPE_F32, {1, 32, 99, 3});
  refused(call, "the weights (input 6) is [1, 32, 99, 3], expected "
                "[B, Hq, Sq, 3] (one weight per branch) = [1, 32, 100, 3]");
  call = BranchesCall(1, 100, 300);
  call.inputs[2] = tensor(0x1000, ATTN_DTYPE_BF16, {1, 8, 299, 128});
  refused(call, "the value (input 2) is [1, 8, 299, 128], expected "
                "[B, Hkv, Skv, Dv] (the key's Skv) = [1, 8, 300, 128]");
  call = BranchesCall(1, 100, 300);
  call.inputs[1] = tensor(0x1000, ATTN_DTYPE_BF16, {2, 8, 300, 128});
  refused(call, "the key (input 1) is [2, 8, 300, 128], expected "
                "[B, Hkv, Skv, D] (the query's B) = [1, 8, 300, 128]");
  call = BranchesCall(1, 100, 300);
  call.outputs[0] = tensor(0x1000, ATTN_DTYPE_BF16, {1, 32, 101, 128});
  refused(call, "the out (output 0) is [1, 32, 101, 128], expected "
                "[B, Hq, Sq, Dv] = [1, 32, 100, 128]");
  call = BranchesCall(1, 100, 300);
  call.inputs[0] = tensor(0x1000, ATTN_DTYPE_BF16, {1, 16, 100, 128});
  refused(call, "the query (input 0) is [1, 16, 100, 128], expected "
                "[B, Hq, Sq, D] = [1, 32, 100, 128]");
  // Keys shorter than one compression window: no compressed K/V can come
  // from them.
  BranchesCall shortKeys(1, 10, 20);
  refused(shortKeys, "the key (input 1) [1, 8, 20, 128] has Skv = 20 "
                     "positions, fewer than one compression window of 32 "
                     "(compress_window): the compressed branch needs Skv >= "
                     "32");
  // ... unless the key itself is the wrong shape, which is said first.
  shortKeys.inputs[2] = tensor(0x1000, ATTN_DTYPE_BF16, {1, 8, 20, 64});
  refused(shortKeys, "the value (input 2) is [1, 8, 20, 64]");
  // A hand-made spec with another rule or position tiles is not launched.
  KernelSpec other = k;
  other.cuda.gridRule = kGridTilesXKvPairs;
  other.cuda.gridSize = "Sq";
  other.cuda.gridTile = 1;
  BranchesCall ok(1, 100, 300);
  expectError(planCudaLaunch(other, ok.inputs.data(), ok.outputs.data(), p,
                             ok.sizes),
              ATTN_ERROR_UNSUPPORTED,
              "kernel 'nsa_br0' has grid rule 'tiles_x_kv_pairs'");
  other = k;
  other.cuda.gridPositionTiles = true;
  expectError(planCudaLaunch(other, ok.inputs.data(), ok.outputs.data(), p,
                             ok.sizes),
              ATTN_ERROR_UNSUPPORTED, "(sparse_branches, row tiles)");
  // CUDA's y limit: B * Hq rows.
  BranchesCall big(2100, 64, 64);
  expectError(big.plan(m, p), ATTN_ERROR_SHAPE_MISMATCH,
              "a grid of 1 x 67200 blocks (query_tiles_x_pairs) exceeds "
              "CUDA's limits");
}

//===----------------------------------------------------------------------===//
// TMA tensor maps
//===----------------------------------------------------------------------===//

/// cudaManifest with the TMA kernel's three tensor-map parameters last.
std::string tensorMapManifest(const std::string &maps) {
  std::string text = cudaManifest("none");
  const size_t end = text.rfind("]}}]}");
  EXPECT_NE(end, std::string::npos);
  text.insert(end, ", " + maps);
  return text;
}
const char *kTensorMaps =
    R"({"name": "q_map", "type": "ptr", "value": "query.tensor_map", "rows": 128},
       {"name": "k_map", "type": "ptr", "value": "key.tensor_map", "rows": 128},
       {"name": "v_map", "type": "ptr", "value": "value.tensor_map", "rows": 64})";

TEST(CudaLaunchPlan, TensorMapsDescribeTheTensorsInnermostFirst) {
  Manifest m = parsed(tensorMapManifest(kTensorMaps));
  Call call(3, 300, 500);
  CudaLaunchPlan p;
  ASSERT_TRUE(call.plan(m, p).ok());
  ASSERT_EQ(p.params.size(), 22u);
  expectCommonParams(p, call);
  ASSERT_EQ(p.tensorMaps.size(), 3u);
  struct Expected {
    uint64_t address, heads, len;
    uint32_t rows;
  } expected[] = {{kQ, 8, 300, 128}, {kK, 2, 500, 128}, {kV, 2, 500, 64}};
  for (size_t i = 0; i < 3; ++i) {
    const cuda::TensorMapRequest &r = p.tensorMaps[i].request;
    const Expected &e = expected[i];
    EXPECT_EQ(p.tensorMaps[i].param, 19 + i);
    EXPECT_TRUE(r.bf16);
    EXPECT_EQ(r.address, e.address);
    // (D, S, H, B) of a row-major [B, H, S, D] tensor; strides in bytes.
    EXPECT_EQ(r.dims[0], 128u);
    EXPECT_EQ(r.dims[1], e.len);
    EXPECT_EQ(r.dims[2], e.heads);
    EXPECT_EQ(r.dims[3], 3u);
    EXPECT_EQ(r.strides[0], 256u);
    EXPECT_EQ(r.strides[1], 256u * e.len);
    EXPECT_EQ(r.strides[2], 256u * e.len * e.heads);
    EXPECT_EQ(r.box[0], 64u); // 128 bytes of bf16
    EXPECT_EQ(r.box[1], e.rows);
    EXPECT_EQ(r.box[2], 1u);
    EXPECT_EQ(r.box[3], 1u);
  }
}

TEST(CudaLaunchPlan, TensorMapsRefuseLayoutsTMACannotRead) {
  Manifest m = parsed(tensorMapManifest(kTensorMaps));
  CudaLaunchPlan p;
  // [B, S, H, D] storage seen as [B, H, S, D]: any order of the outer dims
  // is fine as long as each stride is whole 16-byte units.
  Call transposed(2, 100, 200);
  transposed.inputs[1] =
      tensor(kK, ATTN_DTYPE_BF16, {2, 2, 200, 128}, {51200, 128, 256, 1});
  ASSERT_TRUE(transposed.plan(m, p).ok());
  EXPECT_EQ(p.tensorMaps[1].request.strides[0], 512u);
  EXPECT_EQ(p.tensorMaps[1].request.strides[1], 256u);

  Call odd(2, 100, 200);
  odd.inputs[2] =
      tensor(kV, ATTN_DTYPE_BF16, {2, 2, 200, 128}, {51200, 25600, 132, 1});
  expectError(odd.plan(m, p), ATTN_ERROR_INVALID_ARGUMENT,
              "parameter 'v_map' loads the value through a TMA tensor map, "
              "which needs strides of whole 16-byte units (below 2^40 "
              "bytes); its stride[2] is 132 elements (264 bytes)");
  Call gathered(2, 100, 200);
  gathered.inputs[0] =
      tensor(kQ, ATTN_DTYPE_BF16, {2, 8, 100, 128}, {204800, 25600, 256, 2});
  expectError(gathered.plan(m, p), ATTN_ERROR_INVALID_ARGUMENT,
              "loads the query through a TMA tensor map, which needs its "
              "last dim contiguous (stride 1); its stride[3] is 2");
  Call misaligned(2, 100, 200);
  misaligned.inputs[1].data = reinterpret_cast<void *>(kK + 8);
  expectError(misaligned.plan(m, p), ATTN_ERROR_INVALID_ARGUMENT,
              "which needs a 16-byte aligned base; its data is at "
              "0x7f0100000008");
  // An extent of 1 is never stepped over: its stride may be anything.
  Call one(1, 100, 200);
  one.inputs[0].strides[0] = 3;
  EXPECT_TRUE(one.plan(m, p).ok());
}

TEST(CudaManifest, TensorMapsNeedAPointerAndTheirRows) {
  Manifest m;
  expectError(
      parseManifest(
          tensorMapManifest(
              R"({"name": "k_map", "type": "ptr", "value": "key.tensor_map"})"),
          m),
      ATTN_ERROR_CORRUPT_ARTIFACT, "params[19]: missing field \"rows\"");
  expectError(
      parseManifest(
          tensorMapManifest(
              R"({"name": "k_map", "type": "ptr", "value": "key.tensor_map", "rows": 512})"),
          m),
      ATTN_ERROR_CORRUPT_ARTIFACT, "rows");
  expectError(
      parseManifest(
          tensorMapManifest(
              R"({"name": "k_map", "type": "i64", "value": "key.tensor_map", "rows": 64})"),
          m),
      ATTN_ERROR_CORRUPT_ARTIFACT,
      "\"key.tensor_map\" with type \"i64\" is not a parameter");
  // The output's map (TMA stores) is a parameter; the gates' is not.
  EXPECT_TRUE(
      parseManifest(
          tensorMapManifest(
              R"({"name": "o_map", "type": "ptr", "value": "out.tensor_map", "rows": 64})"),
          m)
          .ok());
  expectError(
      parseManifest(
          tensorMapManifest(
              R"({"name": "g_map", "type": "ptr", "value": "gates.tensor_map", "rows": 64})"),
          m),
      ATTN_ERROR_CORRUPT_ARTIFACT, "\"gates.tensor_map\" with type \"ptr\"");
}

TEST(CudaLaunchPlan, TheOutputsTensorMapDescribesTheOutput) {
  Manifest m = parsed(tensorMapManifest(
      std::string(kTensorMaps) +
      R"(, {"name": "o_map", "type": "ptr", "value": "out.tensor_map", "rows": 128})"));
  Call call(3, 300, 500);
  CudaLaunchPlan p;
  ASSERT_TRUE(call.plan(m, p).ok());
  ASSERT_EQ(p.tensorMaps.size(), 4u);
  const cuda::TensorMapRequest &r = p.tensorMaps[3].request;
  EXPECT_EQ(p.tensorMaps[3].param, 22u);
  EXPECT_EQ(r.address, kO);
  EXPECT_EQ(r.dims[1], 300u);
  EXPECT_EQ(r.dims[2], 8u);
  EXPECT_EQ(r.box[1], 128u);
  // A layout TMA cannot write is refused, naming the store.
  Call odd(3, 300, 500);
  odd.outputs[0] =
      tensor(kO, ATTN_DTYPE_BF16, {3, 8, 300, 128}, {307200, 38400, 132, 1});
  expectError(odd.plan(m, p), ATTN_ERROR_INVALID_ARGUMENT,
              "parameter 'o_map' stores the out through a TMA tensor map, "
              "which needs strides of whole 16-byte units");
}

TEST(CudaManifest, PersistentIsAFlag) {
  std::string text = persistentManifest("none");
  const std::string flag = R"("persistent": true)";
  text.replace(text.find(flag), flag.size(), R"("persistent": "yes")");
  Manifest m;
  Status s = parseManifest(text, m);
  EXPECT_EQ(s.code(), ATTN_ERROR_CORRUPT_ARTIFACT) << s.message();
  EXPECT_NE(s.message().find("grid.persistent"), std::string::npos)
      << s.message();
}

TEST(CudaManifest, RefusesUnknownTileAlignments) {
  std::string text = cudaManifest("none");
  const std::string tile = R"("query_tile": 128)";
  text.insert(text.find(tile) + tile.size(), R"(, "query_tiles": "diagonal")");
  Manifest m;
  Status s = parseManifest(text, m);
  expectError(s, ATTN_ERROR_CORRUPT_ARTIFACT,
              "grid.query_tiles: \"diagonal\" is not a tile alignment; expected "
              "\"rows\"");
}

} // namespace
