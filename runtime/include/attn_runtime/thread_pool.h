//===- thread_pool.h - Persistent workers for CPU kernels -------*- C++ -*-===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//
//
// A fixed set of worker threads that split a range of independent work items
// between themselves and the calling thread. Threads are created once and
// reused, because a kernel launch is often shorter than a thread's start.
//
// Scheduling is dynamic: each thread takes the next `grain` items from a
// shared atomic counter until none are left, so items of unequal cost (the
// query tiles of a causal kernel, the visited blocks of a sparse one) balance
// without the caller knowing their cost.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_THREAD_POOL_H
#define ATTN_RUNTIME_THREAD_POOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace attn::rt {

class ThreadPool {
public:
  /// `threads` counts the calling thread: ThreadPool(1) creates no thread
  /// and runs everything inline. threads <= 0 means one per hardware thread.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Threads taking part in a parallelFor, the calling one included.
  int size() const { return static_cast<int>(workers.size()) + 1; }

  using RangeFn = std::function<void(int64_t begin, int64_t end)>;

  /// Calls `fn` on disjoint ranges [begin, end) that together cover
  /// [0, items), each at most `grain` items long, from all threads; returns
  /// when every range is done. Calls from several threads are serialized;
  /// calling parallelFor from inside `fn` deadlocks.
  void parallelFor(int64_t items, int64_t grain, const RangeFn &fn);

private:
  void workerLoop();
  void runChunks();

  std::vector<std::thread> workers;
  std::mutex callMutex; // one parallelFor at a time

  // Guarded by `mutex`: the job's publication and completion.
  std::mutex mutex;
  std::condition_variable wake, done;
  uint64_t generation = 0; // bumped once per job; workers wait for a change
  int pending = 0;         // workers still in the current job
  bool stopping = false;

  // The current job. Written under `mutex` before `generation` changes, so
  // a worker that saw the new generation sees these too.
  const RangeFn *job = nullptr;
  int64_t jobItems = 0;
  int64_t jobGrain = 1;
  std::atomic<int64_t> next{0};
};

} // namespace attn::rt

#endif // ATTN_RUNTIME_THREAD_POOL_H
