//===- half_float.h - f16/bf16 <-> f32 for the runtime's tools -*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Round-to-nearest-even conversions between f32 and the 16-bit storage types
// the kernels take, shared by attn-run and attn-cpu-bench (the runtime
// library itself never converts data).
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_TOOLS_HALF_FLOAT_H
#define ATTN_RUNTIME_TOOLS_HALF_FLOAT_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace attn::rt::tools {

inline uint32_t bitsOf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return x;
}

inline float floatOf(uint32_t x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

inline uint16_t toBf16(float f) {
  uint32_t x = bitsOf(f);
  if (std::isnan(f))
    return 0x7fc0;
  return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

inline uint16_t toHalf(float f) {
  uint32_t x = bitsOf(f);
  uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7fffff;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  if (((x >> 23) & 0xff) == 0xff)
    return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31)
    return sign | 0x7c00;
  int shift = 13;
  uint32_t base = static_cast<uint32_t>(exp) << 10;
  if (exp <= 0) { // subnormal half
    if (exp < -10)
      return sign;
    mant |= 0x800000;
    shift = 14 - exp;
    base = 0;
  }
  uint32_t half = base | (mant >> shift), rest = mant & ((1u << shift) - 1),
           mid = 1u << (shift - 1);
  if (rest > mid || (rest == mid && (half & 1)))
    ++half; // a carry into the exponent is the right rounding
  return static_cast<uint16_t>(sign | half);
}

inline float fromHalf(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    return floatOf(sign | 0x7f800000 | (mant << 13));
  return floatOf(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

} // namespace attn::rt::tools

#endif // ATTN_RUNTIME_TOOLS_HALF_FLOAT_H
