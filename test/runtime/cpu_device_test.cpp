// Tests for the CPU device: argument checking, exactly-once workgroup
// coverage for many counts and thread counts, real parallelism, the worker
// stack size, nested and concurrent dispatches, and a stress run.
#include "test_util.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace weft_test;

namespace {

// bindings[0] -> std::atomic<int>[count]: increments its workgroup's slot.
void countWorkgroup(void *const *bindings, int64_t id) {
  auto *counters = static_cast<std::atomic<int> *>(bindings[0]);
  counters[id].fetch_add(1, std::memory_order_relaxed);
}

// Like countWorkgroup, after a little work so that workers get to claim ids
// before the calling thread has run them all, and also records whether a
// thread other than the dispatching one ran it (bindings[1] -> StressStats).
struct StressStats {
  std::atomic<int64_t> onWorkers{0};
  std::atomic<int64_t> total{0};
};
thread_local bool tIsApplicationThread = false;
void busyCountWorkgroup(void *const *bindings, int64_t id) {
  volatile int sink = 0;
  for (int i = 0; i < 2000; ++i)
    sink = sink + i;
  auto *stats = static_cast<StressStats *>(bindings[1]);
  stats->total.fetch_add(1, std::memory_order_relaxed);
  if (!tIsApplicationThread)
    stats->onWorkers.fetch_add(1, std::memory_order_relaxed);
  countWorkgroup(bindings, id);
}

void neverCalled(void *const *bindings, int64_t) {
  static_cast<std::atomic<int> *>(bindings[0])->fetch_add(1);
}

// Runs `count` workgroups on `device` and checks each ran exactly once.
void expectExactlyOnce(weft_device_t *device, int64_t count) {
  std::vector<std::atomic<int>> counters(static_cast<size_t>(count));
  void *bindings[] = {counters.data()};
  ASSERT_TRUE(
      isOk(weft_device_dispatch(device, countWorkgroup, bindings, count)));
  for (int64_t i = 0; i < count; ++i)
    ASSERT_EQ(counters[i].load(), 1)
        << "workgroup " << i << " of " << count << " with "
        << weft_device_num_threads(device) << " threads";
}

} // namespace

TEST(CpuDevice, CreateReportsKindAndThreads) {
  for (int32_t threads : {1, 2, 4, 8}) {
    DevicePtr device = makeCpuDevice(threads);
    ASSERT_NE(device, nullptr);
    EXPECT_EQ(weft_device_kind(device.get()), WEFT_DEVICE_CPU);
    EXPECT_EQ(weft_device_num_threads(device.get()), threads);
  }
}

TEST(CpuDevice, ZeroThreadsMeansOnlineCpus) {
  DevicePtr device = makeCpuDevice(0);
  ASSERT_NE(device, nullptr);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  EXPECT_EQ(weft_device_num_threads(device.get()),
            static_cast<int32_t>(online < 1 ? 1 : online));
  expectExactlyOnce(device.get(), 100);
}

TEST(CpuDevice, NullOptionsUseDefaults) {
  weft_device_t *device = nullptr;
  ASSERT_TRUE(isOk(weft_cpu_device_create(nullptr, nullptr, &device)));
  EXPECT_GE(weft_device_num_threads(device), 1);
  weft_device_destroy(device);
}

TEST(CpuDevice, CreateRejectsBadArguments) {
  weft_cpu_device_options_t options = {-1};
  weft_device_t *device = reinterpret_cast<weft_device_t *>(0x1);
  Captured negative =
      capture(weft_cpu_device_create(&options, nullptr, &device));
  EXPECT_EQ(negative.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(negative.message.find("num_threads"), std::string::npos)
      << negative.message;
  EXPECT_EQ(device, nullptr);

  options.num_threads = 2;
  Captured noOut = capture(weft_cpu_device_create(&options, nullptr, nullptr));
  EXPECT_EQ(noOut.code, WEFT_INVALID_ARGUMENT);
}

TEST(CpuDevice, NullDeviceAccessorsAndDestroy) {
  EXPECT_EQ(weft_device_num_threads(nullptr), 0);
  weft_device_destroy(nullptr);
}

TEST(CpuDevice, UsesTheGivenAllocatorAndReportsItsFailure) {
  CountingAllocator counting;
  weft_cpu_device_options_t options = {4};
  weft_device_t *device = nullptr;
  ASSERT_TRUE(
      isOk(weft_cpu_device_create(&options, &counting.allocator, &device)));
  EXPECT_GE(counting.allocs.load(), 1);
  expectExactlyOnce(device, 10);
  weft_device_destroy(device);
  EXPECT_EQ(counting.allocs.load(), counting.frees.load());

  // The device, its worker handles and its per-thread id ranges: each
  // allocation's failure is reported and frees the ones before it.
  for (int allowed : {0, 1, 2}) {
    CountingAllocator failing;
    failing.allowed = allowed;
    Captured c = capture(
        weft_cpu_device_create(&options, &failing.allocator, &device));
    EXPECT_EQ(c.code, WEFT_OUT_OF_MEMORY) << "allowed " << allowed;
    EXPECT_EQ(device, nullptr);
    EXPECT_EQ(failing.allocs.load(), failing.frees.load());
  }
}

TEST(CpuDevice, DispatchRejectsBadArguments) {
  DevicePtr device = makeCpuDevice(2);
  std::atomic<int> calls{0};
  void *bindings[] = {&calls};

  Captured noDevice =
      capture(weft_device_dispatch(nullptr, neverCalled, bindings, 4));
  EXPECT_EQ(noDevice.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(noDevice.message.find("device"), std::string::npos);

  Captured noFn = capture(weft_device_dispatch(device.get(), nullptr,
                                               bindings, 4));
  EXPECT_EQ(noFn.code, WEFT_INVALID_ARGUMENT);

  Captured negative = capture(
      weft_device_dispatch(device.get(), neverCalled, bindings, -3));
  EXPECT_EQ(negative.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(negative.message.find("-3"), std::string::npos)
      << negative.message;

  EXPECT_TRUE(
      isOk(weft_device_dispatch(device.get(), neverCalled, bindings, 0)));
  EXPECT_EQ(calls.load(), 0);
}

TEST(CpuDevice, EveryWorkgroupRunsExactlyOnce) {
  for (int32_t threads : {1, 2, 4, 8}) {
    DevicePtr device = makeCpuDevice(threads);
    for (int64_t count : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100,
                          1000, 4097, 100000})
      expectExactlyOnce(device.get(), count);
  }
}

namespace {
struct BindingsCheck {
  void *const *expected;
  std::atomic<int> mismatches{0};
};
void checkBindings(void *const *bindings, int64_t) {
  auto *check = static_cast<BindingsCheck *>(bindings[0]);
  if (bindings != check->expected)
    check->mismatches.fetch_add(1);
}
} // namespace

TEST(CpuDevice, PassesTheBindingsArrayThrough) {
  DevicePtr device = makeCpuDevice(4);
  BindingsCheck check;
  void *bindings[] = {&check, nullptr, &check};
  check.expected = bindings;
  ASSERT_TRUE(
      isOk(weft_device_dispatch(device.get(), checkBindings, bindings, 64)));
  EXPECT_EQ(check.mismatches.load(), 0);
}

namespace {
// Each workgroup records its thread and then waits until `expected`
// workgroups have started: it completes only if that many threads run
// workgroups at the same time. The deadline turns a broken pool into a
// failure instead of a hang; it is not a performance bound.
struct Rendezvous {
  int expected;
  std::atomic<int> arrived{0};
  std::atomic<bool> timedOut{false};
  std::mutex mutex;
  std::set<pthread_t> threads;
  std::vector<size_t> workerStackSizes;
  pthread_t caller;
};

void rendezvousWorkgroup(void *const *bindings, int64_t) {
  auto *r = static_cast<Rendezvous *>(bindings[0]);
  pthread_t self = pthread_self();
  size_t stackSize = 0;
  pthread_attr_t attr;
  if (pthread_getattr_np(self, &attr) == 0) {
    pthread_attr_getstacksize(&attr, &stackSize);
    pthread_attr_destroy(&attr);
  }
  {
    std::lock_guard<std::mutex> lock(r->mutex);
    r->threads.insert(self);
    if (!pthread_equal(self, r->caller))
      r->workerStackSizes.push_back(stackSize);
  }
  r->arrived.fetch_add(1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (r->arrived.load() < r->expected) {
    if (std::chrono::steady_clock::now() > deadline) {
      r->timedOut = true;
      return;
    }
    std::this_thread::yield();
  }
}
} // namespace

TEST(CpuDevice, RunsWorkgroupsOnAllThreadsConcurrently) {
  for (int32_t threads : {2, 4, 8}) {
    DevicePtr device = makeCpuDevice(threads);
    Rendezvous r;
    r.expected = threads;
    r.caller = pthread_self();
    void *bindings[] = {&r};
    ASSERT_TRUE(isOk(weft_device_dispatch(device.get(), rendezvousWorkgroup,
                                          bindings, threads)));
    EXPECT_FALSE(r.timedOut.load()) << threads << " threads";
    EXPECT_EQ(r.threads.size(), static_cast<size_t>(threads));
    EXPECT_EQ(r.threads.count(r.caller), 1u)
        << "the calling thread runs workgroups too";
    ASSERT_EQ(r.workerStackSizes.size(), static_cast<size_t>(threads - 1));
    for (size_t size : r.workerStackSizes)
      EXPECT_GE(size, size_t(8) << 20);
  }
}

namespace {
void recordThread(void *const *bindings, int64_t) {
  auto *threads = static_cast<std::vector<pthread_t> *>(bindings[0]);
  threads->push_back(pthread_self()); // single-threaded device: no race
}
} // namespace

TEST(CpuDevice, OneThreadRunsInlineOnTheCaller) {
  DevicePtr device = makeCpuDevice(1);
  std::vector<pthread_t> threads;
  void *bindings[] = {&threads};
  ASSERT_TRUE(
      isOk(weft_device_dispatch(device.get(), recordThread, bindings, 50)));
  ASSERT_EQ(threads.size(), 50u);
  for (pthread_t t : threads)
    EXPECT_TRUE(pthread_equal(t, pthread_self()));
}

namespace {
// A workgroup that itself dispatches on the same device.
struct Nested {
  weft_device_t *device;
  std::vector<std::atomic<int>> inner;
  std::atomic<int> failures{0};
  explicit Nested(size_t n) : inner(n) {}
};
constexpr int64_t kInnerCount = 16;
void innerWorkgroup(void *const *bindings, int64_t id) {
  auto *nested = static_cast<Nested *>(bindings[0]);
  int64_t outer = reinterpret_cast<intptr_t>(bindings[1]);
  nested->inner[outer * kInnerCount + id].fetch_add(1);
}
void outerWorkgroup(void *const *bindings, int64_t id) {
  auto *nested = static_cast<Nested *>(bindings[0]);
  void *inner[] = {nested, reinterpret_cast<void *>(static_cast<intptr_t>(id))};
  weft_status_t status =
      weft_device_dispatch(nested->device, innerWorkgroup, inner, kInnerCount);
  if (status) {
    nested->failures.fetch_add(1);
    weft_status_free(status);
  }
}
} // namespace

TEST(CpuDevice, NestedDispatchOnTheSameDeviceCompletes) {
  for (int32_t threads : {1, 4}) {
    DevicePtr device = makeCpuDevice(threads);
    constexpr int64_t outerCount = 12;
    Nested nested(outerCount * kInnerCount);
    nested.device = device.get();
    void *bindings[] = {&nested};
    ASSERT_TRUE(isOk(weft_device_dispatch(device.get(), outerWorkgroup,
                                          bindings, outerCount)));
    EXPECT_EQ(nested.failures.load(), 0);
    for (size_t i = 0; i < nested.inner.size(); ++i)
      ASSERT_EQ(nested.inner[i].load(), 1) << i;
  }
}

namespace {
struct Serial {
  std::atomic<bool> firstStarted{false};
  std::atomic<bool> secondCalling{false};
  std::atomic<bool> secondRan{false};
  std::atomic<bool> overlapped{false};
};
void firstWorkgroup(void *const *bindings, int64_t) {
  auto *s = static_cast<Serial *>(bindings[0]);
  s->firstStarted = true;
  while (!s->secondCalling)
    std::this_thread::yield();
  // Give the second dispatch every chance to (wrongly) start.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (s->secondRan)
    s->overlapped = true;
}
void secondWorkgroup(void *const *bindings, int64_t) {
  static_cast<Serial *>(bindings[0])->secondRan = true;
}
} // namespace

TEST(CpuDevice, DispatchesFromTwoThreadsDoNotOverlap) {
  DevicePtr device = makeCpuDevice(4);
  Serial s;
  void *bindings[] = {&s};
  std::thread first([&] {
    EXPECT_TRUE(isOk(
        weft_device_dispatch(device.get(), firstWorkgroup, bindings, 1)));
  });
  while (!s.firstStarted)
    std::this_thread::yield();
  s.secondCalling = true;
  EXPECT_TRUE(
      isOk(weft_device_dispatch(device.get(), secondWorkgroup, bindings, 4)));
  first.join();
  EXPECT_TRUE(s.secondRan.load());
  EXPECT_FALSE(s.overlapped.load());
}

TEST(CpuDeviceStress, ThousandsOfBackToBackDispatches) {
  tIsApplicationThread = true;
  for (int32_t threads : {2, 4, 8}) {
    DevicePtr device = makeCpuDevice(threads);
    constexpr int64_t maxCount = 37;
    std::vector<std::atomic<int>> counters(maxCount);
    std::vector<int> expected(maxCount, 0);
    StressStats stats;
    void *bindings[] = {counters.data(), &stats};
    for (int iter = 0; iter < 3000; ++iter) {
      // Alternate trivial and busier workgroups: the first mostly finish on
      // the caller before workers wake (late joiners), the second overlap.
      weft_workgroup_fn_t fn = iter % 2 ? busyCountWorkgroup : countWorkgroup;
      int64_t count = 1 + (iter * 7) % maxCount;
      ASSERT_TRUE(
          isOk(weft_device_dispatch(device.get(), fn, bindings, count)));
      for (int64_t i = 0; i < count; ++i)
        ++expected[i];
      // Checked after every dispatch: a workgroup still running after the
      // dispatch returned, or one run twice, shows up here.
      for (int64_t i = 0; i < maxCount; ++i)
        ASSERT_EQ(counters[i].load(), expected[i])
            << "iteration " << iter << " id " << i << " threads " << threads;
    }
    // Informational only: how much of the work the pool's workers took.
    RecordProperty("workers_share_" + std::to_string(threads),
                   std::to_string(stats.onWorkers.load()) + "/" +
                       std::to_string(stats.total.load()));
  }
}

TEST(CpuDeviceStress, ConcurrentDispatchesFromFourThreads) {
  DevicePtr device = makeCpuDevice(4);
  constexpr int appThreads = 4;
  constexpr int iterations = 600;
  constexpr int64_t maxCount = 29;
  std::vector<std::vector<std::atomic<int>>> counters;
  for (int t = 0; t < appThreads; ++t)
    counters.emplace_back(maxCount);
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < appThreads; ++t) {
    pool.emplace_back([&, t] {
      tIsApplicationThread = true;
      StressStats stats;
      void *bindings[] = {counters[t].data(), &stats};
      for (int iter = 0; iter < iterations; ++iter) {
        int64_t count = 1 + (iter * 5 + t) % maxCount;
        weft_workgroup_fn_t fn =
            iter % 2 ? busyCountWorkgroup : countWorkgroup;
        weft_status_t status =
            weft_device_dispatch(device.get(), fn, bindings, count);
        if (status) {
          failures.fetch_add(1);
          weft_status_free(status);
        }
      }
    });
  }
  for (std::thread &thread : pool)
    thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < appThreads; ++t) {
    for (int64_t i = 0; i < maxCount; ++i) {
      int expected = 0;
      for (int iter = 0; iter < iterations; ++iter)
        if (i < 1 + (iter * 5 + t) % maxCount)
          ++expected;
      EXPECT_EQ(counters[t][i].load(), expected)
          << "app thread " << t << " id " << i;
    }
  }
}

TEST(CpuDeviceStress, CreateAndDestroyRepeatedly) {
  // Destroy must join idle, spinning and just-woken workers alike.
  for (int iter = 0; iter < 200; ++iter) {
    DevicePtr device = makeCpuDevice(1 + iter % 8);
    if (iter % 2)
      expectExactlyOnce(device.get(), 1 + iter % 13);
  }
}
