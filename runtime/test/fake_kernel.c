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
 * Issue 8's kernels (docs/sparse-projection.md), with blocks of 4 rows or
 * keys (what the test manifests declare):
 *
 *   fake_selected        dense over the key blocks listed in `blocks`
 *                        (#attn.selected<4, 4>), ungated
 *   fake_gated_selected  the same, gated
 *   fake_select          select_blocks(q, k), query_block = key_block = 4,
 *                        top_k = the indices' last extent, not causal, no
 *                        forced blocks: mean-pooled scores, the top_k best
 *                        (ties to the lower index), ascending, -1 padded;
 *                        one item per (b, g, query block)
 *   fake_select_pooled   the same with pooled keys given
 *   fake_compress        compress_kv(k, v), mean of 4 positions every 2;
 *                        one item per (b, g, slot)
 *   fake_compress_linear the same with weights [Hkv, 4]: sum_t w[g, t] x[t]
 *   fake_branches        sparse_branches(q, k, v, ck, cv, blocks, w): the
 *                        compressed branch over ck/cv (windows of 4 every
 *                        2, causal), the selected branch over the listed
 *                        key blocks (#attn.selected<4, 4, causal>), the
 *                        window branch #attn.local<window = 3, causal>,
 *                        each a softmax scaled by 1/sqrt(D), combined with
 *                        w[b, h, r, 0..2]; one item per (b, g, query block
 *                        of 4 rows), all query heads of KV head g
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

enum { kBlock = 4 };

/* Whether row r of query head h (batch b) sees key t through `blocks`
 * (NULL: every key). */
static int listed(const attn_memref4d *blocks, int64_t b, int64_t kvh,
                  int64_t r, int64_t t) {
  if (!blocks)
    return 1;
  const int32_t *row = (const int32_t *)blocks->aligned + blocks->offset +
                       b * blocks->strides[0] + kvh * blocks->strides[1] +
                       (r / kBlock) * blocks->strides[2];
  for (int64_t s = 0; s < blocks->sizes[3]; ++s)
    if (row[s] == t / kBlock)
      return 1;
  return 0;
}

static void runItems(const attn_memref4d *q, const attn_memref4d *k,
                     const attn_memref4d *v, const attn_memref4d *o,
                     const attn_memref1d *active, int causal,
                     const attn_memref4d *blocks, int64_t begin,
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
        if (!listed(blocks, b, kvh, r, j)) {
          scores[j] = -INFINITY;
          continue;
        }
        const float *kr = at(k, b, kvh, j);
        float dot = 0.0f;
        for (int64_t x = 0; x < d; ++x)
          dot += qr[x] * kr[x];
        scores[j] = dot / sqrtf((float)d);
        if (scores[j] > max)
          max = scores[j];
      }
      for (int64_t x = 0; x < d; ++x)
        orow[x] = 0.0f;
      if (max == -INFINITY) /* no listed block: zeros */
        continue;
      for (int64_t j = 0; j < visible; ++j)
        sum += scores[j] = expf(scores[j] - max);
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
  runItems(q, k, v, o, NULL, 0, NULL, begin, end);
}
int64_t fake_dense_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_causal(attn_memref4d *q, attn_memref4d *k,
                              attn_memref4d *v, attn_memref4d *o,
                              int64_t begin, int64_t end) {
  runItems(q, k, v, o, NULL, 1, NULL, begin, end);
}
int64_t fake_causal_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_gated(attn_memref4d *q, attn_memref4d *k,
                             attn_memref4d *v, attn_memref4d *o,
                             attn_memref1d *active, int64_t begin,
                             int64_t end) {
  runItems(q, k, v, o, active, 0, NULL, begin, end);
}
int64_t fake_gated_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_broken(attn_memref4d *q, attn_memref4d *k,
                              attn_memref4d *v, attn_memref4d *o,
                              int64_t begin, int64_t end) {
  runItems(q, k, v, o, NULL, 0, NULL, begin, end);
}

/*===-- Issue 8: selected attention, select_blocks, compress_kv --------===*/

void _mlir_ciface_fake_selected(attn_memref4d *q, attn_memref4d *k,
                                attn_memref4d *v, attn_memref4d *o,
                                attn_memref4d *blocks, int64_t begin,
                                int64_t end) {
  runItems(q, k, v, o, NULL, 0, blocks, begin, end);
}
int64_t fake_selected_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

void _mlir_ciface_fake_gated_selected(attn_memref4d *q, attn_memref4d *k,
                                      attn_memref4d *v, attn_memref4d *o,
                                      attn_memref1d *active,
                                      attn_memref4d *blocks, int64_t begin,
                                      int64_t end) {
  runItems(q, k, v, o, active, 0, blocks, begin, end);
}
int64_t fake_gated_selected_work_items(int64_t pairs, int64_t sq,
                                       int64_t skv) {
  (void)skv;
  return itemsFor(pairs, sq);
}

static int32_t *at32(const attn_memref4d *m, int64_t b, int64_t h,
                     int64_t s) {
  return (int32_t *)m->aligned + m->offset + b * m->strides[0] +
         h * m->strides[1] + s * m->strides[2];
}

static void selectBlocks(const attn_memref4d *q, const attn_memref4d *k,
                   const attn_memref4d *pk, const attn_memref4d *idx,
                   int64_t begin, int64_t end) {
  const int64_t hkv = k->sizes[1], group = q->sizes[1] / hkv;
  const int64_t sq = q->sizes[2], skv = k->sizes[2], d = q->sizes[3];
  const int64_t nqb = idx->sizes[2], topk = idx->sizes[3];
  const int64_t nkb = (skv + kBlock - 1) / kBlock;
  float *pq = malloc(sizeof(float) * (size_t)d);
  float *scores = malloc(sizeof(float) * (size_t)nkb);
  char *taken = malloc((size_t)nkb);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t i = item % nqb, pair = item / nqb;
    const int64_t b = pair / hkv, g = pair % hkv;
    const int64_t r0 = i * kBlock, r1 = r0 + kBlock < sq ? r0 + kBlock : sq;
    for (int64_t x = 0; x < d; ++x) {
      float sum = 0.0f;
      for (int64_t h = g * group; h < (g + 1) * group; ++h)
        for (int64_t r = r0; r < r1; ++r)
          sum += at(q, b, h, r)[x];
      pq[x] = sum / (float)(group * (r1 - r0));
    }
    for (int64_t j = 0; j < nkb; ++j) {
      float s = 0.0f;
      const int64_t t0 = j * kBlock, t1 = t0 + kBlock < skv ? t0 + kBlock : skv;
      for (int64_t x = 0; x < d; ++x) {
        float key = 0.0f;
        if (pk) {
          key = at(pk, b, g, j)[x];
        } else {
          for (int64_t t = t0; t < t1; ++t)
            key += at(k, b, g, t)[x];
          key /= (float)(t1 - t0);
        }
        s += pq[x] * key;
      }
      scores[j] = s;
      taken[j] = 0;
    }
    const int64_t chosen = topk < nkb ? topk : nkb;
    for (int64_t c = 0; c < chosen; ++c) {
      int64_t best = -1;
      for (int64_t j = 0; j < nkb; ++j)
        if (!taken[j] && (best < 0 || scores[j] > scores[best]))
          best = j;
      taken[best] = 1;
    }
    int32_t *row = at32(idx, b, g, i);
    int64_t slot = 0;
    for (int64_t j = 0; j < nkb; ++j)
      if (taken[j])
        row[slot++] = (int32_t)j;
    while (slot < topk)
      row[slot++] = -1;
  }
  free(pq);
  free(scores);
  free(taken);
}

void _mlir_ciface_fake_select(attn_memref4d *q, attn_memref4d *k,
                              attn_memref4d *idx, int64_t begin, int64_t end) {
  selectBlocks(q, k, NULL, idx, begin, end);
}
int64_t fake_select_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return pairs * ((sq + kBlock - 1) / kBlock);
}

void _mlir_ciface_fake_select_pooled(attn_memref4d *q, attn_memref4d *k,
                                     attn_memref4d *pk, attn_memref4d *idx,
                                     int64_t begin, int64_t end) {
  selectBlocks(q, k, pk, idx, begin, end);
}
int64_t fake_select_pooled_work_items(int64_t pairs, int64_t sq,
                                      int64_t skv) {
  return fake_select_work_items(pairs, sq, skv);
}

enum { kWindow = 4, kStride = 2 };

/* One item per (b, g, slot): items beyond the results' slots are skipped,
 * so a runtime that passed too few items leaves slots unwritten (the
 * tests fill outputs with NaN). */
static void compress(const attn_memref4d *k, const attn_memref4d *v,
                     const attn_memref2d *w, attn_memref4d *ck,
                     attn_memref4d *cv, int64_t begin, int64_t end) {
  const int64_t hkv = k->sizes[1], n = ck->sizes[2];
  for (int64_t item = begin; item < end; ++item) {
    const int64_t slot = item % n, pair = item / n;
    const int64_t b = pair / hkv, g = pair % hkv;
    const attn_memref4d *in[2] = {k, v};
    attn_memref4d *out[2] = {ck, cv};
    for (int which = 0; which < 2; ++which) {
      const int64_t d = in[which]->sizes[3];
      float *dst = at(out[which], b, g, slot);
      for (int64_t x = 0; x < d; ++x) {
        float sum = 0.0f;
        for (int64_t t = 0; t < kWindow; ++t) {
          const float weight =
              w ? ((const float *)w->aligned)[w->offset + g * w->strides[0] +
                                              t * w->strides[1]]
                : 1.0f / kWindow;
          sum += weight * at(in[which], b, g, slot * kStride + t)[x];
        }
        dst[x] = sum;
      }
    }
  }
}

void _mlir_ciface_fake_compress(attn_memref4d *k, attn_memref4d *v,
                                attn_memref4d *ck, attn_memref4d *cv,
                                int64_t begin, int64_t end) {
  compress(k, v, NULL, ck, cv, begin, end);
}
int64_t fake_compress_work_items(int64_t pairs, int64_t slots, int64_t len) {
  (void)len;
  return pairs * slots;
}

void _mlir_ciface_fake_compress_linear(attn_memref4d *k, attn_memref4d *v,
                                       attn_memref2d *w, attn_memref4d *ck,
                                       attn_memref4d *cv, int64_t begin,
                                       int64_t end) {
  compress(k, v, w, ck, cv, begin, end);
}
int64_t fake_compress_linear_work_items(int64_t pairs, int64_t slots,
                                        int64_t len) {
  return fake_compress_work_items(pairs, slots, len);
}

/*===-- Issue 8: sparse_branches (NSA-style combined attention) ---------===*/

enum { kLocalWindow = 3 };

/* Softmax attention of query row `qr` over the rows t < n of `k`/`v` (KV
 * head g of batch b) with visible[t], scaled; into acc (v's D). A row
 * that sees nothing is zero. */
static void attendBranch(const float *qr, const attn_memref4d *k,
                         const attn_memref4d *v, int64_t b, int64_t g,
                         const char *visible, int64_t n, float scale,
                         float *scores, float *acc) {
  const int64_t d = k->sizes[3], dv = v->sizes[3];
  float max = -INFINITY, sum = 0.0f;
  for (int64_t x = 0; x < dv; ++x)
    acc[x] = 0.0f;
  for (int64_t t = 0; t < n; ++t) {
    if (!visible[t])
      continue;
    const float *kr = at(k, b, g, t);
    float dot = 0.0f;
    for (int64_t x = 0; x < d; ++x)
      dot += qr[x] * kr[x];
    scores[t] = dot * scale;
    if (scores[t] > max)
      max = scores[t];
  }
  if (max == -INFINITY)
    return;
  for (int64_t t = 0; t < n; ++t)
    if (visible[t])
      sum += scores[t] = expf(scores[t] - max);
  for (int64_t t = 0; t < n; ++t) {
    if (!visible[t])
      continue;
    const float *vr = at(v, b, g, t);
    for (int64_t x = 0; x < dv; ++x)
      acc[x] += scores[t] / sum * vr[x];
  }
}

void _mlir_ciface_fake_branches(attn_memref4d *q, attn_memref4d *k,
                                attn_memref4d *v, attn_memref4d *ck,
                                attn_memref4d *cv, attn_memref4d *blocks,
                                attn_memref4d *w, attn_memref4d *o,
                                int64_t begin, int64_t end) {
  const int64_t batch = q->sizes[0], hq = q->sizes[1], sq = q->sizes[2];
  const int64_t hkv = k->sizes[1], skv = k->sizes[2], n = ck->sizes[2];
  const int64_t group = hq / hkv, dv = v->sizes[3];
  const int64_t nqb = (sq + kBlock - 1) / kBlock;
  const int64_t most = skv > n ? skv : n;
  const float scale = 1.0f / sqrtf((float)q->sizes[3]);
  float *scores = malloc(sizeof(float) * (size_t)(most ? most : 1));
  float *acc = malloc(sizeof(float) * (size_t)dv);
  char *visible = malloc((size_t)(most ? most : 1));
  for (int64_t item = begin; item < end; ++item) {
    const int64_t pair = item / nqb, i = item % nqb;
    const int64_t b = pair / hkv, g = pair % hkv;
    if (b >= batch) /* more items than (b, g, block)s: leave them */
      continue;
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      for (int64_t r = i * kBlock; r < sq && r < (i + 1) * kBlock; ++r) {
        const int64_t p = r + skv - sq;
        const float *qr = at(q, b, h, r);
        const float *wr = at(w, b, h, r);
        float *orow = at(o, b, h, r);
        for (int64_t x = 0; x < dv; ++x)
          orow[x] = 0.0f;
        /* Compressed: slot s covers positions [2 s, 2 s + 4). */
        for (int64_t s = 0; s < n; ++s)
          visible[s] = s * kStride + kWindow - 1 <= p;
        attendBranch(qr, ck, cv, b, g, visible, n, scale, scores, acc);
        for (int64_t x = 0; x < dv; ++x)
          orow[x] += wr[0 * w->strides[3]] * acc[x];
        /* Selected: listed blocks, causal. */
        for (int64_t t = 0; t < skv; ++t)
          visible[t] = t <= p && listed(blocks, b, g, r, t);
        attendBranch(qr, k, v, b, g, visible, skv, scale, scores, acc);
        for (int64_t x = 0; x < dv; ++x)
          orow[x] += wr[1 * w->strides[3]] * acc[x];
        /* Window: p - 3 <= t <= p. */
        for (int64_t t = 0; t < skv; ++t)
          visible[t] = t <= p && p - t <= kLocalWindow;
        attendBranch(qr, k, v, b, g, visible, skv, scale, scores, acc);
        for (int64_t x = 0; x < dv; ++x)
          orow[x] += wr[2 * w->strides[3]] * acc[x];
      }
  }
  free(scores);
  free(acc);
  free(visible);
}
int64_t fake_branches_work_items(int64_t pairs, int64_t sq, int64_t skv) {
  (void)skv;
  return pairs * ((sq + kBlock - 1) / kBlock);
}
