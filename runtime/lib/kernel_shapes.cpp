//===- kernel_shapes.cpp - The shapes a kernel's op takes at a call -------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "kernel_shapes.h"

#include <vector>

using namespace attn::rt;

namespace {

std::string dims(const attn_tensor &t) {
  std::string text = "[";
  for (int i = 0; i < t.rank; ++i)
    text += (i ? ", " : "") + std::to_string(t.shape[i]);
  return text + "]";
}

int64_t ceilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

/// One tensor's expected shape, with what each expected size is.
struct Expected {
  const attn_tensor *tensor;
  std::string name;       ///< "the indices (output 0)"
  std::vector<int64_t> shape;
  std::string shapeText;  ///< "[B, Hkv, ceil(Sq / 64), top_k]"
};

} // namespace

Status attn::rt::checkOpShapes(const KernelSpec &k, const attn_tensor *inputs,
                               const attn_tensor *outputs, OpSizes &sizes) {
  const std::string kernel = "kernel '" + k.name + "': ";
  auto in = [&](size_t i) -> const attn_tensor & {
    return inputs[k.operandArgs[i]];
  };
  auto out = [&](size_t i) -> const attn_tensor & {
    return outputs[k.resultArgs[i]];
  };
  const std::vector<OperandType> operandTypes = k.operandTypes(),
                                 resultTypes = k.resultTypes();
  auto inName = [&](size_t i) {
    return std::string("the ") + operandTypes[i].role + " (input " +
           std::to_string(k.operandArgs[i]) + ")";
  };
  auto outName = [&](size_t i) {
    return std::string("the ") + resultTypes[i].role + " (output " +
           std::to_string(k.resultArgs[i]) + ")";
  };
  const std::string qb = std::to_string(k.op == KernelOp::SelectBlocks
                                            ? k.select.queryBlock
                                            : k.blocks.queryBlock),
                    kb = std::to_string(k.select.keyBlock);

  std::vector<Expected> expected;
  // The first tensor of `expected` whose shape differs, as a message.
  auto mismatch = [&]() -> Status {
    for (const Expected &e : expected) {
      bool same = e.tensor->rank == static_cast<int>(e.shape.size());
      for (size_t i = 0; same && i < e.shape.size(); ++i)
        same = e.tensor->shape[i] == e.shape[i];
      if (same)
        continue;
      std::string want = "[";
      for (size_t i = 0; i < e.shape.size(); ++i)
        want += (i ? ", " : "") + std::to_string(e.shape[i]);
      return Status::error(ATTN_ERROR_SHAPE_MISMATCH,
                           kernel + e.name + " is " + dims(*e.tensor) +
                               ", expected " + e.shapeText + " = " + want +
                               "]");
    }
    return Status::success();
  };
  switch (k.op) {
  case KernelOp::Attention: {
    sizes = {in(0).shape[0], k.keyHeads, in(0).shape[2], in(1).shape[2]};
    if (!k.hasBlocks)
      return Status::success();
    const int64_t nqb = ceilDiv(sizes.queryLen, k.blocks.queryBlock);
    expected.push_back({&in(k.blocksOperand()), inName(k.blocksOperand()),
                        {sizes.batch, k.keyHeads, nqb, k.blocks.slots},
                        "[B, Hkv, ceil(Sq / " + qb + "), slots]"});
    break;
  }
  case KernelOp::SelectBlocks: {
    const attn_tensor &q = in(0), &key = in(1);
    sizes = {q.shape[0], k.keyHeads, q.shape[2], key.shape[2]};
    const int64_t d = q.shape[3];
    // The GPU kernel keeps a query block's scores of every key block in
    // shared memory: more would overrun it.
    const int64_t nkb = ceilDiv(sizes.keyLen, k.select.keyBlock);
    if (k.select.maxKeyBlocks > 0 && nkb > k.select.maxKeyBlocks)
      return Status::error(
          ATTN_ERROR_SHAPE_MISMATCH,
          kernel + inName(1) + " " + dims(key) + " has ceil(Skv / " + kb +
              ") = " + std::to_string(nkb) +
              " key blocks, more than the kernel's max_key_blocks " +
              std::to_string(k.select.maxKeyBlocks));
    expected.push_back({&q, inName(0), {sizes.batch, k.queryHeads,
                                        sizes.queryLen, k.headDim},
                        "[B, Hq, Sq, D]"});
    expected.push_back({&key, inName(1), {sizes.batch, k.keyHeads,
                                          sizes.keyLen, d},
                        "[B, Hkv, Skv, D] (the query's B and D)"});
    if (k.select.pooledKeys)
      expected.push_back(
          {&in(2), inName(2),
           {sizes.batch, k.keyHeads, ceilDiv(sizes.keyLen, k.select.keyBlock),
            d},
           "[B, Hkv, ceil(Skv / " + kb + "), D]"});
    expected.push_back(
        {&out(0), outName(0),
         {sizes.batch, k.keyHeads, ceilDiv(sizes.queryLen, k.select.queryBlock),
          k.select.topK},
         "[B, Hkv, ceil(Sq / " + qb + "), top_k]"});
    break;
  }
  case KernelOp::CompressKV: {
    const attn_tensor &key = in(0), &v = in(1);
    const int64_t s = key.shape[2], block = k.compress.block,
                  stride = k.compress.stride;
    if (s < block)
      return Status::error(
          ATTN_ERROR_SHAPE_MISMATCH,
          kernel + inName(0) + " " + dims(key) + " has " +
              std::to_string(s) + " positions, fewer than one window of " +
              std::to_string(block));
    const int64_t n = (s - block) / stride + 1;
    sizes = {key.shape[0], k.keyHeads, n, s};
    const std::string nText = "N = (S - " + std::to_string(block) + ") / " +
                              std::to_string(stride) + " + 1";
    expected.push_back({&key, inName(0), {sizes.batch, k.keyHeads, s,
                                          k.headDim},
                        "[B, Hkv, S, D]"});
    expected.push_back({&v, inName(1), {sizes.batch, k.keyHeads, s,
                                        k.valueDim},
                        "[B, Hkv, S, Dv] (the key's B and S)"});
    if (k.compress.linear)
      expected.push_back({&in(2), inName(2), {k.keyHeads, block},
                          "[Hkv, window]"});
    expected.push_back({&out(0), outName(0),
                        {sizes.batch, k.keyHeads, n, k.headDim},
                        "[B, Hkv, N, D] with " + nText});
    expected.push_back({&out(1), outName(1),
                        {sizes.batch, k.keyHeads, n, k.valueDim},
                        "[B, Hkv, N, Dv] with " + nText});
    break;
  }
  case KernelOp::SparseBranches: {
    // Every tensor follows from the query's B and Sq, the key's Skv and
    // the kernel's heads and dims; the compressed K/V must be the ones
    // compress_kv makes of this key length.
    using B = BranchesSpec;
    const attn_tensor &q = in(B::kQuery), &key = in(B::kKey);
    const int64_t skv = key.shape[2], window = k.branches.compressWindow,
                  stride = k.branches.compressStride;
    sizes = {q.shape[0], k.keyHeads, q.shape[2], skv};
    expected.push_back({&q, inName(B::kQuery),
                        {sizes.batch, k.queryHeads, sizes.queryLen, k.headDim},
                        "[B, Hq, Sq, D]"});
    expected.push_back({&key, inName(B::kKey),
                        {sizes.batch, k.keyHeads, skv, k.headDim},
                        "[B, Hkv, Skv, D] (the query's B)"});
    expected.push_back({&in(B::kValue), inName(B::kValue),
                        {sizes.batch, k.keyHeads, skv, k.valueDim},
                        "[B, Hkv, Skv, Dv] (the key's Skv)"});
    const std::string w = std::to_string(window);
    if (skv < window) {
      // After the query's, key's and value's own shapes, so that a key of
      // the wrong heads or dims is reported as such.
      Status own = mismatch();
      if (!own.ok())
        return own;
      return Status::error(
          ATTN_ERROR_SHAPE_MISMATCH,
          kernel + inName(B::kKey) + " " + dims(key) + " has Skv = " +
              std::to_string(skv) +
              " positions, fewer than one compression window of " + w +
              " (compress_window): the compressed branch needs Skv >= " + w);
    }
    {
      const int64_t n = (skv - window) / stride + 1;
      const std::string nText = "N = (Skv - " + w + ") / " +
                                std::to_string(stride) + " + 1";
      expected.push_back({&in(B::kCompressedKey), inName(B::kCompressedKey),
                          {sizes.batch, k.keyHeads, n, k.headDim},
                          "[B, Hkv, N, D] with " + nText});
      expected.push_back(
          {&in(B::kCompressedValue), inName(B::kCompressedValue),
           {sizes.batch, k.keyHeads, n, k.valueDim},
           "[B, Hkv, N, Dv] with " + nText});
    }
    expected.push_back({&in(B::kBlocks), inName(B::kBlocks),
                        {sizes.batch, k.keyHeads,
                         ceilDiv(sizes.queryLen, k.blocks.queryBlock),
                         k.blocks.slots},
                        "[B, Hkv, ceil(Sq / " + qb + "), slots]"});
    expected.push_back({&in(B::kWeights), inName(B::kWeights),
                        {sizes.batch, k.queryHeads, sizes.queryLen, 3},
                        "[B, Hq, Sq, 3] (one weight per branch)"});
    expected.push_back({&out(0), outName(0),
                        {sizes.batch, k.queryHeads, sizes.queryLen,
                         k.valueDim},
                        "[B, Hq, Sq, Dv]"});
    break;
  }
  }
  Status shapes = mismatch();
  if (!shapes.ok())
    return shapes;
  // What the kernel was compiled for, where fixed.
  const std::pair<int64_t, int64_t> fixed[] = {{sizes.batch, k.batch},
                                               {k.op == KernelOp::CompressKV
                                                    ? 0
                                                    : sizes.queryLen,
                                                k.queryLen},
                                               {sizes.keyLen, k.keyLen}};
  static const char *what[] = {"batch", "query length", "key length"};
  for (int i = 0; i < 3; ++i)
    if (fixed[i].second >= 1 && fixed[i].first >= 1 &&
        fixed[i].first != fixed[i].second)
      return Status::error(ATTN_ERROR_SHAPE_MISMATCH,
                           kernel + what[i] + " " +
                               std::to_string(fixed[i].first) +
                               ", compiled for " +
                               std::to_string(fixed[i].second));
  return Status::success();
}
