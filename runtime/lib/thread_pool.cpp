//===- thread_pool.cpp - Persistent workers for CPU kernels ---------------===//
//
// Part of the attn project: an MLIR compiler for controllable attention.
//
//===----------------------------------------------------------------------===//

#include "attn_runtime/thread_pool.h"

#include <algorithm>

using namespace attn::rt;

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  workers.reserve(threads - 1);
  try {
    for (int i = 1; i < threads; ++i)
      workers.emplace_back([this] { workerLoop(); });
  } catch (...) {
    // A thread that could not start (std::system_error): stop and join the
    // ones that did, or destroying them joinable would std::terminate.
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread &worker : workers)
      worker.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  for (std::thread &worker : workers)
    worker.join();
}

void ThreadPool::runChunks() {
  // Relaxed is enough: the counter only hands out disjoint ranges; the
  // results are published by the `pending` handshake under `mutex`.
  for (;;) {
    int64_t begin = next.fetch_add(jobGrain, std::memory_order_relaxed);
    if (begin >= jobItems)
      return;
    (*job)(begin, std::min(jobItems, begin + jobGrain));
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
    }
    runChunks();
    std::lock_guard<std::mutex> lock(mutex);
    // parallelFor waits for every worker, so no worker can miss a job: the
    // next generation starts only after this one has counted down to 0.
    if (--pending == 0)
      done.notify_one();
  }
}

void ThreadPool::parallelFor(int64_t items, int64_t grain, const RangeFn &fn) {
  if (items <= 0)
    return;
  grain = std::max<int64_t>(1, grain);
  // Nothing to share: skip the wake-up round trip.
  if (workers.empty() || items <= grain) {
    for (int64_t begin = 0; begin < items; begin += grain)
      fn(begin, std::min(items, begin + grain));
    return;
  }

  std::lock_guard<std::mutex> call(callMutex);
  {
    std::lock_guard<std::mutex> lock(mutex);
    job = &fn;
    jobItems = items;
    jobGrain = grain;
    next.store(0, std::memory_order_relaxed);
    pending = static_cast<int>(workers.size());
    ++generation;
  }
  wake.notify_all();
  runChunks();
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return pending == 0; });
  job = nullptr;
}
