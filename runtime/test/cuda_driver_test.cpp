//===- cuda_driver_test.cpp - The CUDA driver layer -----------------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// On a machine with a GPU: loads hand-written PTX through cuModuleLoadData,
// launches it, checks results, and checks the >48 KB shared memory opt-in
// and the error messages. Without libcuda or a GPU (CI), the GPU tests skip
// with the reason and only the failure mapping is tested (a missing
// library; the toolkit's stub libcuda when it is there).
//
//===----------------------------------------------------------------------===//

#include "cuda_driver.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>
#include <vector>

#include <dlfcn.h>
#include <unistd.h>

using namespace attn::rt;
using namespace attn::rt::cuda;

namespace {

// sm_80 PTX (ISA 7.0): the driver JITs it for any chip from sm_80 on.
//   twice(x, y, n):          y[i] = 2 * x[i] for i < n, one thread each
//   reverse_twice(x, y, n):  one block; stages x in n * 4 bytes of dynamic
//                            shared memory, then y[i] = 2 * x[n - 1 - i]
const char *kPtx = R"PTX(.version 7.0
.target sm_80
.address_size 64

// y[i] = 2 * x[i] for i < n
.visible .entry twice(
  .param .u64 twice_x,
  .param .u64 twice_y,
  .param .u32 twice_n)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<8>;

  ld.param.u64 %rd1, [twice_x];
  ld.param.u64 %rd2, [twice_y];
  ld.param.u32 %r1, [twice_n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mul.wide.u32 %rd5, %r5, 4;
  add.s64 %rd6, %rd3, %rd5;
  add.s64 %rd7, %rd4, %rd5;
  ld.global.f32 %f1, [%rd6];
  add.f32 %f2, %f1, %f1;
  st.global.f32 [%rd7], %f2;
DONE:
  ret;
}

// One block: stages x[0, n) in dynamic shared memory, then writes
// y[i] = 2 * s[n - 1 - i] (reversed, so the shared copy must be real).
// Needs n * 4 bytes of dynamic shared memory.
.extern .shared .align 16 .b8 stage[];

.visible .entry reverse_twice(
  .param .u64 rt_x,
  .param .u64 rt_y,
  .param .u32 rt_n)
{
  .reg .pred %p<3>;
  .reg .b32 %r<12>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<10>;

  ld.param.u64 %rd1, [rt_x];
  ld.param.u64 %rd2, [rt_y];
  ld.param.u32 %r1, [rt_n];
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mov.u32 %r2, %tid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r9, stage;
  mov.u32 %r4, %r2;
LOAD:
  setp.ge.u32 %p1, %r4, %r1;
  @%p1 bra LOADED;
  mul.wide.u32 %rd5, %r4, 4;
  add.s64 %rd6, %rd3, %rd5;
  ld.global.f32 %f1, [%rd6];
  shl.b32 %r5, %r4, 2;
  add.u32 %r10, %r9, %r5;
  st.shared.f32 [%r10], %f1;
  add.u32 %r4, %r4, %r3;
  bra LOAD;
LOADED:
  bar.sync 0;
  mov.u32 %r4, %r2;
STORE:
  setp.ge.u32 %p2, %r4, %r1;
  @%p2 bra DONE;
  sub.u32 %r6, %r1, %r4;
  sub.u32 %r6, %r6, 1;
  shl.b32 %r7, %r6, 2;
  add.u32 %r11, %r9, %r7;
  ld.shared.f32 %f1, [%r11];
  add.f32 %f2, %f1, %f1;
  mul.wide.u32 %rd7, %r4, 4;
  add.s64 %rd8, %rd4, %rd7;
  st.global.f32 [%rd8], %f2;
  add.u32 %r4, %r4, %r3;
  bra STORE;
DONE:
  ret;
}
)PTX";

#define EXPECT_STATUS(expr, expected, text)                                    \
  do {                                                                         \
    Status s_ = (expr);                                                        \
    EXPECT_EQ(s_.code(), expected) << s_.message();                            \
    EXPECT_NE(s_.message().find(text), std::string::npos)                      \
        << "message: " << s_.message() << "\nexpected: " << (text);            \
  } while (0)

TEST(CudaDriverNoGpu, MissingLibraryIsNoCuda) {
  std::unique_ptr<Driver> driver;
  Status s = Driver::load("libattn-no-such-driver.so.1", driver);
  EXPECT_EQ(s.code(), ATTN_ERROR_NO_CUDA) << s.message();
  EXPECT_NE(s.message().find("cannot load libattn-no-such-driver.so.1 (the "
                             "NVIDIA driver library)"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(driver, nullptr);
}

TEST(CudaDriverNoGpu, StubLibraryIsNoCuda) {
#ifdef ATTN_CUDA_STUB
  if (access(ATTN_CUDA_STUB, R_OK) != 0)
    GTEST_SKIP() << "no stub libcuda at " ATTN_CUDA_STUB;
  // The stub's soname is libcuda.so.1: loaded into a process that has the
  // real driver it would alias it (and loaded first, it would stand in for
  // the real one). So settle the real driver first, and test the stub only
  // where there is none.
  const Driver *real = nullptr;
  Driver::get(real);
  if (dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD))
    GTEST_SKIP() << "a real libcuda.so.1 is loaded; the stub would alias it";
  // The toolkit's link-time stub answers every call with
  // CUDA_ERROR_STUB_LIBRARY: that is "no driver", not a CUDA failure.
  std::unique_ptr<Driver> driver;
  Status s = Driver::load(ATTN_CUDA_STUB, driver);
  EXPECT_EQ(s.code(), ATTN_ERROR_NO_CUDA) << s.message();
  EXPECT_NE(s.message().find("CUDA_ERROR_STUB_LIBRARY"), std::string::npos)
      << s.message();
  std::printf("stub libcuda: %s\n", s.message().c_str());
#else
  GTEST_SKIP() << "no stub libcuda (the CUDA toolkit's lib64/stubs) was "
                  "found when this test was built";
#endif
}

/// Gives the GPU tests a context of device 0, or skips them with the reason.
class CudaDriverGpu : public ::testing::Test {
protected:
  void SetUp() override {
    const Driver *driver = nullptr;
    Status s = Driver::get(driver);
    if (!s.ok()) {
      ASSERT_TRUE(s.code() == ATTN_ERROR_NO_CUDA ||
                  s.code() == ATTN_ERROR_NO_DEVICE)
          << s.message();
      GTEST_SKIP() << "no GPU to test on: " << s.message();
    }
    s = Context::retain(*driver, 0, ctx);
    ASSERT_TRUE(s.ok()) << s.message();
    const DeviceInfo &d = ctx->device();
    std::printf("device 0: %s, sm_%d%d, %d SMs, %d bytes of shared memory "
                "per block (opt-in), driver %d\n",
                d.name.c_str(), d.major, d.minor, d.multiprocessors,
                d.maxSharedPerBlockOptin, driver->version());
    if (d.major < 8)
      GTEST_SKIP() << "the test PTX targets sm_80; device 0 is sm_" << d.major
                   << d.minor;
    s = Module::load(*ctx, kPtx, module);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  /// x[i] = i - 500.25, copied to the device; y allocated.
  void buffers(unsigned n) {
    host.resize(n);
    for (unsigned i = 0; i < n; ++i)
      host[i] = static_cast<float>(i) - 500.25f;
    ASSERT_TRUE(ctx->alloc(n * 4, x).ok());
    ASSERT_TRUE(ctx->alloc(n * 4, y).ok());
    ASSERT_TRUE(ctx->copyToDevice(x, host.data(), n * 4).ok());
  }

  std::vector<float> result(unsigned n) {
    std::vector<float> out(n, -1.0f);
    Status s = ctx->synchronize(nullptr);
    EXPECT_TRUE(s.ok()) << s.message();
    s = ctx->copyToHost(out.data(), y, n * 4);
    EXPECT_TRUE(s.ok()) << s.message();
    return out;
  }

  void TearDown() override {
    if (ctx) {
      if (x) {
        EXPECT_TRUE(ctx->free(x).ok());
      }
      if (y) {
        EXPECT_TRUE(ctx->free(y).ok());
      }
    }
    module.reset();
    ctx.reset();
  }

  std::unique_ptr<Context> ctx;
  std::unique_ptr<Module> module;
  std::vector<float> host;
  DevicePtr x = 0, y = 0;
};

TEST_F(CudaDriverGpu, LaunchesPtxKernel) {
  const unsigned n = 1000; // not a multiple of the block
  buffers(n);
  Function twice;
  Status s = module->function("twice", twice);
  ASSERT_TRUE(s.ok()) << s.message();
  unsigned count = n;
  void *params[] = {&x, &y, &count};
  s = twice.launch({(n + 127) / 128, 1, 1}, {128, 1, 1}, 0, nullptr, params);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<float> out = result(n);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], 2 * host[i]) << "i = " << i;

  // From another thread: the context is made current there too.
  ASSERT_TRUE(ctx->copyToDevice(y, std::vector<float>(n, 0).data(), n * 4).ok());
  std::thread([&] {
    Status t = twice.launch({(n + 255) / 256, 1, 1}, {256, 1, 1}, 0, nullptr,
                            params);
    EXPECT_TRUE(t.ok()) << t.message();
    EXPECT_TRUE(ctx->synchronize(nullptr).ok());
  }).join();
  out = result(n);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], 2 * host[i]) << "i = " << i;
}

TEST_F(CudaDriverGpu, LargeDynamicSharedMemoryNeedsTheOptIn) {
  const DeviceInfo &d = ctx->device();
  const int bytes = 64 << 10; // above the 48 KB default
  if (d.maxSharedPerBlockOptin < bytes)
    GTEST_SKIP() << d.name << " allows only " << d.maxSharedPerBlockOptin
                 << " bytes per block";
  const unsigned n = bytes / 4;
  buffers(n);
  Function reverse;
  Status s = module->function("reverse_twice", reverse);
  ASSERT_TRUE(s.ok()) << s.message();
  unsigned count = n;
  void *params[] = {&x, &y, &count};
  // Without the attribute the launch is refused.
  EXPECT_STATUS(reverse.launch({1, 1, 1}, {256, 1, 1}, bytes, nullptr, params),
                ATTN_ERROR_CUDA, "cuLaunchKernel('reverse_twice', grid 1x1x1, "
                                 "block 256x1x1, 65536 bytes of dynamic shared "
                                 "memory) failed: CUDA_ERROR_");
  ASSERT_TRUE(reverse.setMaxDynamicSharedMemory(bytes).ok());
  s = reverse.launch({1, 1, 1}, {256, 1, 1}, bytes, nullptr, params);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<float> out = result(n);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], 2 * host[n - 1 - i]) << "i = " << i;
  // Above the device's maximum: refused before the driver is asked.
  EXPECT_STATUS(reverse.setMaxDynamicSharedMemory(d.maxSharedPerBlockOptin + 1),
                ATTN_ERROR_TARGET_MISMATCH, "allows at most");
}

TEST_F(CudaDriverGpu, ZeroesRowsOnAStream) {
  // What attn_call queues before an active-list kernel: 1-D and 2-D fills
  // that set exactly their bytes (the gaps between rows keep theirs).
  const unsigned n = 1000;
  buffers(n);
  ASSERT_TRUE(ctx->copyToDevice(y, host.data(), n * 4).ok());
  // Floats 10..19, then rows of 3 floats every 7 from float 100, 5 rows.
  Status s = ctx->zeroAsync(y + 40, 40, 40, 1, nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  s = ctx->zeroAsync(y + 400, 28, 12, 5, nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<float> out = result(n);
  for (unsigned i = 0; i < n; ++i) {
    const bool zero = (i >= 10 && i < 20) ||
                      (i >= 100 && i < 135 && (i - 100) % 7 < 3);
    ASSERT_EQ(out[i], zero ? 0.0f : host[i]) << "i = " << i;
  }
  // A width past the pitch is the driver's to refuse, with the call named.
  EXPECT_STATUS(ctx->zeroAsync(y, 8, 12, 2, nullptr), ATTN_ERROR_CUDA,
                "cuMemsetD2D8Async(12 bytes x 2 rows, pitch 8) failed");
}

TEST_F(CudaDriverGpu, TileCountersAreZeroedAndTakenInTurn) {
  // A persistent kernel's work-item counter: zeroed on the stream, a
  // different one for the next launch, back to the first after
  // kTileCounters.
  DevicePtr first = 0, second = 0;
  ASSERT_TRUE(ctx->tileCounter(nullptr, first).ok());
  ASSERT_TRUE(ctx->tileCounter(nullptr, second).ok());
  EXPECT_EQ(second, first + 4);
  const uint32_t dirty = 77;
  ASSERT_TRUE(ctx->copyToDevice(first, &dirty, 4).ok());
  DevicePtr again = 0;
  for (size_t i = 2; i <= Context::kTileCounters; ++i)
    ASSERT_TRUE(ctx->tileCounter(nullptr, again).ok());
  EXPECT_EQ(again, first);
  ASSERT_TRUE(ctx->synchronize(nullptr).ok());
  uint32_t value = 1;
  ASSERT_TRUE(ctx->copyToHost(&value, first, 4).ok());
  EXPECT_EQ(value, 0u);
}

TEST_F(CudaDriverGpu, ErrorsNameTheCall) {
  std::unique_ptr<Module> bad;
  EXPECT_STATUS(Module::load(*ctx, "this is not an image", bad),
                ATTN_ERROR_CUDA, "cuModuleLoadData failed: CUDA_ERROR_");
  // PTX with a syntax error: the JIT log says where.
  EXPECT_STATUS(Module::load(*ctx,
                             ".version 7.0\n.target sm_80\n.address_size 64\n"
                             ".visible .entry f() { bogus.u32 %r1; ret; }\n",
                             bad),
                ATTN_ERROR_CUDA, "JIT log: ");
  Function f;
  EXPECT_STATUS(module->function("nope", f), ATTN_ERROR_CUDA,
                "cuModuleGetFunction('nope') failed: CUDA_ERROR_NOT_FOUND");
  const Driver *driver = nullptr;
  ASSERT_TRUE(Driver::get(driver).ok());
  std::unique_ptr<Context> other;
  EXPECT_STATUS(Context::retain(*driver, driver->deviceCount(), other),
                ATTN_ERROR_NO_DEVICE, "does not exist");
  DeviceInfo info;
  ASSERT_TRUE(describeDevice(*driver, 0, info).ok());
  EXPECT_EQ(info.name, ctx->device().name);
}

} // namespace
