/*===- fake_kernel.c - A naive kernel behind attn's CPU kernel ABI --------===*
 *
 * Part of the attn project: an MLIR compiler for controllable attention.
 *
 *===----------------------------------------------------------------------===*
 *
 * Stands in for a library from `attn-compile` so that the runtime is tested
 * without LLVM: the same entry points (cpu_kernel_abi.h), computed naively.
 * One work item is a tile of 16 query rows of one (batch, head) pair, as a
 * compiled kernel's would be, so items of one pair run on different threads.
 *
 *   fake_dense   dense softmax attention
 *   fake_causal  causal (key k visible to row q iff k <= q + Skv - Sq)
 *   fake_gated   dense, gated: computes only the pairs in `active`
 *   fake_broken  has its entry point but no _work_items (for error tests)
 *
 *===----------------------------------------------------------------------===*/

#include "attn_runtime/cpu_kernel_abi.h"

#include <math.h>
#include <stdlib.h>

enum { kRowsPerItem = 16 };

static int64_t itemsFor(int64_t pairs, int64_t queryLen) {
  return pairs * ((queryLen + kRowsPerItem - 1) / kRowsPerItem);
}

static float *at(const attn_memref4d *m, int64_t b, int64_t h, int64_t s) {
  return (float *)m->aligned + m->offset + b * m->strides[0] +
         h * m->strides[1] + s * m->strides[2];
}

static void runItems(const attn_memref4d *q, const attn_memref4d *k,
                     const attn_memref4d *v, const attn_memref4d *o,
                     const attn_memref1d *active, int causal, int64_t begin,
                     int64_t end) {
  const int64_t hq = q->sizes[1], sq = q->sizes[2], d = q->sizes[3];
  const int64_t group = hq / k->sizes[1], skv = k->sizes[2];
  const int64_t tiles = (sq + kRowsPerItem - 1) / kRowsPerItem;
  float *scores = malloc(sizeof(float) * (size_t)skv);
  for (int64_t item = begin; item < end; ++item) {
    int64_t pair = item / tiles, tile = item % tiles;
    if (active)
      pair = ((const int32_t *)active->aligned)[active->offset +
                                                pair * active->strides[0]];
    const int64_t b = pair / hq, h = pair % hq, kvh = h / group;
    for (int64_t r = tile * kRowsPerItem;
         r < sq && r < (tile + 1) * kRowsPerItem; ++r) {
      const float *qr = at(q, b, h, r);
      float *orow = at(o, b, h, r);
      int64_t visible = causal ? r + (skv - sq) + 1 : skv;
      if (visible > skv)
        visible = skv;
      if (visible <= 0) { /* a row that sees no key outputs zeros */
        for (int64_t x = 0; x < d; ++x)
          orow[x] = 0.0f;
        continue;
      }
      float max = -INFINITY, sum = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        const float *kr = at(k, b, kvh, j);
        float dot = 0.0f;
        for (int64_t x = 0; x < d; ++x)
          dot += qr[x] * kr[x];
        scores[j] = dot / sqrtf((float)d);
        if (scores[j] > max)
          max = scores[j];
      }
      for (int64_t j = 0; j < visible; ++j)
        sum += scores[j] = expf(scores[j] - max);
      for (int64_t x = 0; x < d; ++x)
        orow[x] = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        const float *vr = at(v, b, kvh, j);
        for (int64_t x = 0; x < d; ++x)
          orow[x] += scores[j] / sum * vr[x];
      }
    }
  }
  free(scores);
}

void _mlir_ciface_fake_dense(attn_memref4d *q, attn_memref4d *k,
                             attn_memref4d *v, attn_memref4d *o,
                             int64_t begin, int64_t end) {
  runItems(q, k, v, o, NULL, 0, begin, end);
}
int64_t fake_dense_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_causal(attn_memref4d *q, attn_memref4d *k,
                              attn_memref4d *v, attn_memref4d *o,
                              int64_t begin, int64_t end) {
  runItems(q, k, v, o, NULL, 1, begin, end);
}
int64_t fake_causal_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_gated(attn_memref4d *q, attn_memref4d *k,
                             attn_memref4d *v, attn_memref4d *o,
                             attn_memref1d *active, int64_t begin,
                             int64_t end) {
  runItems(q, k, v, o, active, 0, begin, end);
}
int64_t fake_gated_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_broken(attn_memref4d *q, attn_memref4d *k,
                              attn_memref4d *v, attn_memref4d *o,
                              int64_t begin, int64_t end) {
  runItems(q, k, v, o, NULL, 0, begin, end);
}
