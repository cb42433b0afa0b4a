// Helpers shared by the runtime tests: status checking that frees what it
// inspects, RAII owners for runtime objects, and an allocator that counts
// (and can refuse) allocations.
#ifndef WEFT_TEST_RUNTIME_TEST_UTIL_H
#define WEFT_TEST_RUNTIME_TEST_UTIL_H

#include "weft/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

namespace weft_test {

// Passes for a NULL status; otherwise fails with the status message.
inline ::testing::AssertionResult isOk(weft_status_t status) {
  if (!status)
    return ::testing::AssertionSuccess();
  std::string message = weft_status_message(status);
  weft_status_free(status);
  return ::testing::AssertionFailure() << "status: " << message;
}

// What a status said, captured before freeing it.
struct Captured {
  bool isNull;
  weft_status_code_t code;
  std::string message;
};

inline Captured capture(weft_status_t status) {
  Captured result{status == nullptr, weft_status_code(status),
                  weft_status_message(status)};
  weft_status_free(status);
  return result;
}

struct DeviceDeleter {
  void operator()(weft_device_t *device) const { weft_device_destroy(device); }
};
using DevicePtr = std::unique_ptr<weft_device_t, DeviceDeleter>;

inline DevicePtr makeCpuDevice(int32_t numThreads) {
  weft_cpu_device_options_t options = {numThreads};
  weft_device_t *device = nullptr;
  EXPECT_TRUE(isOk(weft_cpu_device_create(&options, nullptr, &device)));
  return DevicePtr(device);
}

struct GroupDeleter {
  void operator()(weft_device_group_t *g) const { weft_device_group_destroy(g); }
};
using GroupPtr = std::unique_ptr<weft_device_group_t, GroupDeleter>;
struct GroupModelDeleter {
  void operator()(weft_group_model_t *m) const { weft_group_model_destroy(m); }
};
using GroupModelPtr = std::unique_ptr<weft_group_model_t, GroupModelDeleter>;

// An in-process group of `devices` CPU devices with `threads` each.
inline GroupPtr makeCpuGroup(int32_t devices, int32_t threads = 1) {
  weft_cpu_device_group_options_t options{devices, threads};
  weft_device_group_t *g = nullptr;
  EXPECT_TRUE(isOk(weft_cpu_device_group_create(&options, nullptr, &g)));
  return GroupPtr(g);
}

// Wraps the default allocator, counting live blocks; fails every allocation
// once `allowed` successful ones have happened (when `allowed` >= 0).
struct CountingAllocator {
  std::atomic<int> allocs{0};
  std::atomic<int> frees{0};
  int allowed = -1;
  weft_allocator_t allocator{this, &CountingAllocator::alloc,
                             &CountingAllocator::release};

  static void *alloc(void *self, size_t size, size_t alignment) {
    auto *counting = static_cast<CountingAllocator *>(self);
    if (counting->allowed >= 0 && counting->allocs >= counting->allowed)
      return nullptr;
    const weft_allocator_t *base = weft_allocator_default();
    void *ptr = base->alloc(base->user_data, size, alignment);
    if (ptr)
      ++counting->allocs;
    return ptr;
  }
  static void release(void *self, void *ptr) {
    auto *counting = static_cast<CountingAllocator *>(self);
    if (ptr)
      ++counting->frees;
    const weft_allocator_t *base = weft_allocator_default();
    base->free(base->user_data, ptr);
  }
};

} // namespace weft_test

#endif // WEFT_TEST_RUNTIME_TEST_UTIL_H
