// Tests of the GPU device group (NCCL) that run on any machine: its
// arguments are checked before any GPU is looked for, where the driver or
// the GPUs are missing creating it says "no CUDA device", and NCCL itself
// is found and names its results where it is installed. On a machine with
// GPUs the no-device expectation is skipped.
#include "test_util.h"

#include <dlfcn.h>

#include <string>

using namespace weft_test;

// The runtime's (internal) NCCL loader.
extern "C" const char *weft_nccl_load(int *out_version);
extern "C" const char *weft_nccl_result_text(int result);

namespace {

Captured createGroup(const weft_cuda_device_group_options_t *options, GroupPtr &out) {
  weft_device_group_t *group = nullptr;
  Captured c = capture(weft_cuda_device_group_create(options, nullptr, &group));
  if (!c.isNull) {
    EXPECT_EQ(group, nullptr);
  }
  out.reset(group);
  return c;
}

TEST(NcclGroup, InvalidOptionsAreNamedBeforeAnyGpuIsLookedFor) {
  const int32_t twice[] = {0, 0}, negative[] = {-1};
  struct Case {
    weft_cuda_device_group_options_t options;
    const char *expected;
  } cases[] = {
      {{0, nullptr}, "0 GPUs (1 to 1024)"},
      {{2000, nullptr}, "2000 GPUs (1 to 1024)"},
      {{2, twice}, "GPU 0 is named twice"},
      {{1, negative}, "GPU ordinal -1 is negative"},
  };
  for (const Case &k : cases) {
    GroupPtr group;
    Captured c = createGroup(&k.options, group);
    EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT) << k.expected;
    EXPECT_NE(c.message.find(k.expected), std::string::npos) << c.message;
  }
  Captured c = capture(weft_cuda_device_group_create(nullptr, nullptr, nullptr));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("out_group is NULL"), std::string::npos) << c.message;
}

TEST(NcclGroup, MissingGpusAreUnavailable) {
  weft_device_t *device = nullptr;
  Captured probe = capture(weft_cuda_device_create(nullptr, nullptr, &device));
  if (probe.isNull) {
    weft_device_destroy(device);
    GTEST_SKIP() << "this machine has a GPU";
  }
  weft_cuda_device_group_options_t options = {2, nullptr};
  GroupPtr group;
  Captured c = createGroup(&options, group);
  EXPECT_EQ(c.code, WEFT_UNAVAILABLE);
  EXPECT_EQ(c.message.rfind("no CUDA device", 0), 0u) << c.message;
}

TEST(NcclGroup, NcclIsLoadedAtRunTimeWhereInstalled) {
  void *probe = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  int version = 0;
  const char *why = weft_nccl_load(&version);
  if (!probe) {
    ASSERT_NE(why, nullptr);
    EXPECT_EQ(std::string(why).rfind("NCCL not found (libnccl.so.2)", 0), 0u) << why;
    return;
  }
  dlclose(probe);
  ASSERT_EQ(why, nullptr) << why;
  EXPECT_GE(version, 20700); // send/recv: NCCL 2.7
  // Its own words for its results: success and an invalid argument.
  EXPECT_STRNE(weft_nccl_result_text(0), weft_nccl_result_text(4));
  EXPECT_FALSE(std::string(weft_nccl_result_text(4)).empty());
}

} // namespace
