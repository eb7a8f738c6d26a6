// Naive CUDA attention kernels that exercise the runtime's GPU path.
//
// Hand-written (one thread per query row, online softmax in registers, f32)
// and independent of attn's code generator, they let the runtime's CUDA
// launch path — image choice, module loading, the parameter list and grid
// rule of the manifest, the zero fill of active-list kernels, streams — be
// tested on the GPU machine end to end, with attn-run and the Python
// binding, on their own. It follows the manifest's CUDA ABI
// (docs/artifact.md, "CUDA kernels"): grid (ceil(Sq / 128), pairs),
// 128 threads, pointers and element strides as parameters; one kernel per
// gates kind (none, "gates", "active"), all causal GQA with Hq 8, Hkv 2,
// D 64, f32.
//
// Built by runtime/test/gpu_fixture/make-artifact.sh with nvcc into a cubin
// for sm_90 and PTX for sm_80; the script writes the manifest.

#include <cstdint>

namespace {
constexpr int kHeadDim = 64;
constexpr int kQueryHeads = 8;
constexpr int kKeyHeads = 2;
} // namespace

// Causal attention of one query row: row `row` sits at position
// row + Skv - Sq and sees keys k <= its position; a row that sees no key
// produces zeros.
__device__ void attendRow(const float *__restrict__ q,
                          const float *__restrict__ k,
                          const float *__restrict__ v, float *__restrict__ o,
                          int64_t qsb, int64_t qsh, int64_t qss, int64_t ksb,
                          int64_t ksh, int64_t kss, int64_t vsb, int64_t vsh,
                          int64_t vss, int64_t osb, int64_t osh, int64_t oss,
                          int32_t sq, int32_t skv, float scale, int b, int h,
                          int row) {
  int kvh = h / (kQueryHeads / kKeyHeads);
  const float *qr = q + b * qsb + h * qsh + row * qss;
  const float *kb = k + b * ksb + kvh * ksh;
  const float *vb = v + b * vsb + kvh * vsh;
  float *orow = o + b * osb + h * osh + row * oss;

  float qv[kHeadDim], acc[kHeadDim];
  for (int d = 0; d < kHeadDim; ++d) {
    qv[d] = qr[d] * scale;
    acc[d] = 0.f;
  }
  float m = -INFINITY, l = 0.f;
  int last = row + (skv - sq); // The last visible key.
  for (int key = 0; key <= last && key < skv; ++key) {
    const float *kr = kb + key * kss;
    float s = 0.f;
    for (int d = 0; d < kHeadDim; ++d)
      s += qv[d] * kr[d];
    float mNew = fmaxf(m, s);
    float alpha = __expf(m - mNew), p = __expf(s - mNew);
    l = l * alpha + p;
    const float *vr = vb + key * vss;
    for (int d = 0; d < kHeadDim; ++d)
      acc[d] = acc[d] * alpha + p * vr[d];
    m = mNew;
  }
  float inv = l > 0.f ? 1.f / l : 0.f;
  for (int d = 0; d < kHeadDim; ++d)
    orow[d] = acc[d] * inv;
}

// Ungated: grid (ceil(Sq / 128), B * Hq), block y = b * Hq + h.
extern "C" __global__ void __launch_bounds__(128)
causal_gqa_attn0(const float *__restrict__ q, const float *__restrict__ k,
                 const float *__restrict__ v, float *__restrict__ o,
                 int64_t qsb, int64_t qsh, int64_t qss, int64_t ksb,
                 int64_t ksh, int64_t kss, int64_t vsb, int64_t vsh,
                 int64_t vss, int64_t osb, int64_t osh, int64_t oss, int32_t sq,
                 int32_t skv, float scale) {
  int row = blockIdx.x * blockDim.x + threadIdx.x;
  int pair = blockIdx.y;
  if (row >= sq)
    return;
  attendRow(q, k, v, o, qsb, qsh, qss, ksb, ksh, kss, vsb, vsh, vss, osb, osh,
            oss, sq, skv, scale, pair / kQueryHeads, pair % kQueryHeads, row);
}

// "gates": "gates": the common parameters, then the [B, Hq] mask (one byte
// per pair, 0 = off) and its two strides. Grid (ceil(Sq / 128), B * Hq) as
// above; the blocks of a gated-off pair write its rows' zeros and nothing
// else (the runtime does not zero-fill for this kind).
extern "C" __global__ void __launch_bounds__(128)
gated_causal_attn0(const float *__restrict__ q, const float *__restrict__ k,
                   const float *__restrict__ v, float *__restrict__ o,
                   int64_t qsb, int64_t qsh, int64_t qss, int64_t ksb,
                   int64_t ksh, int64_t kss, int64_t vsb, int64_t vsh,
                   int64_t vss, int64_t osb, int64_t osh, int64_t oss,
                   int32_t sq, int32_t skv, float scale,
                   const uint8_t *__restrict__ gates, int64_t gsb,
                   int64_t gsh) {
  int row = blockIdx.x * blockDim.x + threadIdx.x;
  int pair = blockIdx.y;
  if (row >= sq)
    return;
  int b = pair / kQueryHeads, h = pair % kQueryHeads;
  if (!gates[b * gsb + h * gsh]) {
    float *orow = o + b * osb + h * osh + row * oss;
    for (int d = 0; d < kHeadDim; ++d)
      orow[d] = 0.f;
    return;
  }
  attendRow(q, k, v, o, qsb, qsh, qss, ksb, ksh, kss, vsb, vsh, vss, osb, osh,
            oss, sq, skv, scale, b, h, row);
}

// "gates": "active": the common parameters, then the int32 list of
// b * Hq + h and its length; this fixture also takes B * Hq ("pairs") to
// skip entries outside [0, B * Hq). Grid (ceil(Sq / 128), num_active):
// block y computes the pair active[y]; the runtime has zero-filled the
// output before, so unlisted pairs read as zeros.
extern "C" __global__ void __launch_bounds__(128)
listed_causal_attn0(const float *__restrict__ q, const float *__restrict__ k,
                    const float *__restrict__ v, float *__restrict__ o,
                    int64_t qsb, int64_t qsh, int64_t qss, int64_t ksb,
                    int64_t ksh, int64_t kss, int64_t vsb, int64_t vsh,
                    int64_t vss, int64_t osb, int64_t osh, int64_t oss,
                    int32_t sq, int32_t skv, float scale,
                    const int32_t *__restrict__ active, int32_t numActive,
                    int32_t pairs) {
  int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= sq || static_cast<int>(blockIdx.y) >= numActive)
    return;
  int pair = active[blockIdx.y];
  if (pair < 0 || pair >= pairs)
    return;
  attendRow(q, k, v, o, qsb, qsh, qss, ksb, ksh, kss, vsb, vsh, vss, osb, osh,
            oss, sq, skv, scale, pair / kQueryHeads, pair % kQueryHeads, row);
}
