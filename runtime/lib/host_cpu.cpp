//===- host_cpu.cpp - This machine's CPU architecture and features --------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// Detects the CPU features an artifact may require (host_requirements in
// docs/artifact.md): cpuid plus the OS's register-state support (xgetbv) on
// x86-64, the kernel's hwcaps (getauxval) on AArch64. A feature counts only
// when both the CPU and the OS support it: AVX-512 code on a kernel that does
// not save zmm registers fails as surely as on a CPU without them.
//
//===----------------------------------------------------------------------===//

#include "manifest.h"

#include <sys/utsname.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

using namespace attn::rt;

const std::vector<std::string> &attn::rt::knownCpuFeatures(std::string_view arch) {
  // The vocabulary attn-compile writes; keep in sync with docs/artifact.md
  // and tools/attn-compile/attn-compile.cpp.
  static const std::vector<std::string> x86 = {
      "sse2",       "sse3",         "ssse3",         "sse4.1",
      "sse4.2",     "popcnt",       "avx",           "avx2",
      "fma",        "f16c",         "bmi1",          "bmi2",
      "lzcnt",      "movbe",        "avx512f",       "avx512cd",
      "avx512bw",   "avx512dq",     "avx512vl",      "avx512ifma",
      "avx512vbmi", "avx512vbmi2",  "avx512vnni",    "avx512bitalg",
      "avx512vpopcntdq", "avx512bf16", "avx512fp16", "avxvnni",
      "gfni"};
  static const std::vector<std::string> arm = {"neon", "fp16",  "dotprod",
                                               "bf16", "i8mm",  "sve",
                                               "sve2"};
  static const std::vector<std::string> none;
  if (arch == "x86_64")
    return x86;
  if (arch == "aarch64")
    return arm;
  return none;
}

#if defined(__x86_64__) || defined(__i386__)
static uint64_t xgetbv0() {
  uint32_t eax, edx;
  // The instruction, not _xgetbv(): the intrinsic needs -mxsave, and this
  // file must compile for the baseline x86-64.
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

static void detectX86(std::vector<std::string> &out) {
  unsigned a, b, c, d;
  auto bit = [](unsigned reg, int n) { return (reg >> n) & 1u; };
  unsigned max = __get_cpuid_max(0, nullptr);
  if (max < 1 || !__get_cpuid(1, &a, &b, &c, &d))
    return;
  const unsigned c1 = c, d1 = d;
  // AVX state (xmm+ymm) and AVX-512 state (opmask, zmm hi, hi16 zmm) must
  // be enabled by the OS in XCR0.
  bool osxsave = bit(c1, 27);
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  bool osAvx = (xcr0 & 0x6) == 0x6;
  bool osAvx512 = osAvx && (xcr0 & 0xe0) == 0xe0;

  auto add = [&](bool on, const char *name) {
    if (on)
      out.push_back(name);
  };
  add(bit(d1, 26), "sse2");
  add(bit(c1, 0), "sse3");
  add(bit(c1, 9), "ssse3");
  add(bit(c1, 19), "sse4.1");
  add(bit(c1, 20), "sse4.2");
  add(bit(c1, 23), "popcnt");
  add(bit(c1, 22), "movbe");
  add(osAvx && bit(c1, 28), "avx");
  add(osAvx && bit(c1, 12), "fma");
  add(osAvx && bit(c1, 29), "f16c");

  unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
  if (max >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    b7 = b;
    c7 = c;
    d7 = d;
    unsigned subleaves = a;
    if (subleaves >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      a71 = a;
    }
  }
  add(bit(b7, 3), "bmi1");
  add(bit(b7, 8), "bmi2");
  add(osAvx && bit(b7, 5), "avx2");
  add(osAvx512 && bit(b7, 16), "avx512f");
  add(osAvx512 && bit(b7, 17), "avx512dq");
  add(osAvx512 && bit(b7, 21), "avx512ifma");
  add(osAvx512 && bit(b7, 28), "avx512cd");
  add(osAvx512 && bit(b7, 30), "avx512bw");
  add(osAvx512 && bit(b7, 31), "avx512vl");
  add(osAvx512 && bit(c7, 1), "avx512vbmi");
  add(osAvx512 && bit(c7, 6), "avx512vbmi2");
  add(bit(c7, 8), "gfni");
  add(osAvx512 && bit(c7, 11), "avx512vnni");
  add(osAvx512 && bit(c7, 12), "avx512bitalg");
  add(osAvx512 && bit(c7, 14), "avx512vpopcntdq");
  add(osAvx512 && bit(d7, 23), "avx512fp16");
  add(osAvx && bit(a71, 4), "avxvnni");
  add(osAvx512 && bit(a71, 5), "avx512bf16");

  if (__get_cpuid(0x80000001, &a, &b, &c, &d))
    add(bit(c, 5), "lzcnt"); // ABM/LZCNT
}
#endif

#if defined(__aarch64__)
static void detectAArch64(std::vector<std::string> &out) {
  // Bit numbers of <asm/hwcap.h>, spelled out so that any libc works.
  const unsigned long hw = getauxval(AT_HWCAP);
#ifdef AT_HWCAP2
  const unsigned long hw2 = getauxval(AT_HWCAP2);
#else
  const unsigned long hw2 = 0;
#endif
  auto add = [&](bool on, const char *name) {
    if (on)
      out.push_back(name);
  };
  add(hw & (1ul << 1), "neon");                          // HWCAP_ASIMD
  add((hw & (1ul << 9)) && (hw & (1ul << 10)), "fp16");  // FPHP, ASIMDHP
  add(hw & (1ul << 20), "dotprod");                      // HWCAP_ASIMDDP
  add(hw & (1ul << 22), "sve");                          // HWCAP_SVE
  add(hw2 & (1ul << 1), "sve2");                         // HWCAP2_SVE2
  add(hw2 & (1ul << 13), "i8mm");                        // HWCAP2_I8MM
  add(hw2 & (1ul << 14), "bf16");                        // HWCAP2_BF16
}
#endif

HostInfo attn::rt::detectHost() {
  HostInfo host;
#if defined(__x86_64__)
  host.arch = "x86_64";
  detectX86(host.features);
#elif defined(__aarch64__)
  host.arch = "aarch64";
  detectAArch64(host.features);
#else
  struct utsname name;
  host.arch = uname(&name) == 0 ? name.machine : "unknown";
#endif
  return host;
}
