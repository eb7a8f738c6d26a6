// A naive CUDA attention kernel that exercises the runtime's GPU path.
//
// attn does not generate GPU kernels yet; this hand-written one (one thread
// per query row, online softmax in registers, f32) is the stand-in that lets
// the runtime's CUDA launch path — image choice, module loading, the
// parameter list and grid rule of the manifest, streams — be tested on the
// GPU machine end to end, with attn-run and the Python binding, before the
// code generator exists. It follows the manifest's draft CUDA ABI
// (docs/artifact.md, "CUDA kernels"): grid (ceil(Sq / 128), pairs),
// 128 threads, pointers and element strides as parameters.
//
// Built by runtime/test/gpu_fixture/make-artifact.sh with nvcc into a cubin
// for sm_90 and PTX for sm_80; the script writes the manifest.

#include <cstdint>

namespace {
constexpr int kHeadDim = 64;
constexpr int kQueryHeads = 8;
constexpr int kKeyHeads = 2;
} // namespace

// Causal attention: query row q sits at position q + Skv - Sq and sees keys
// k <= its position; rows that see no key produce zeros.
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
  int b = pair / kQueryHeads, h = pair % kQueryHeads;
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
