// Tests of the CUDA device that run on any machine: where the driver or a
// GPU is missing, creating the device must say "no CUDA device" and leave
// everything else working; a CUDA model is refused by a CPU device (and the
// reverse), and malformed CUDA model descriptions are named. On a machine
// with a GPU the no-device expectations are skipped (test/cuda covers
// execution there).
#include "test_util.h"

#include <cstring>
#include <string>
#include <vector>

using namespace weft_test;

// The runtime's (internal) choice of image for a GPU, tested without one.
extern "C" void weft_cuda_image_order(const weft_device_image_t *images, int32_t count,
                                      int major, int minor, int32_t *order);

namespace {

const int64_t kShape[] = {4};
const weft_tensor_info_t kTensors[] = {{"x", WEFT_DTYPE_F32, 1, kShape}};

weft_status_t unusedDeviceEntry(weft_device_t *, const weft_kernel_table_t *, void *,
                                const void *, void *const *, void *const *) {
  return weft_status_create(WEFT_INTERNAL, "a CUDA model's entry ran on no GPU");
}

weft_status_t unusedEntry(weft_device_t *, void *, void *const *, void *const *) {
  return nullptr;
}

const unsigned char kImageBytes[] = {0x50, 0xed, 0x55, 0xba};
const weft_device_image_t kImages[] = {{"sm_90", kImageBytes, sizeof(kImageBytes)}};
const char *const kKernelNames[] = {"net_dispatch_0"};
const float kWeights[] = {1.0f, 2.0f};

weft_model_info_t cudaModelInfo() {
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "net";
  info.num_inputs = 1;
  info.inputs = kTensors;
  info.num_outputs = 1;
  info.outputs = kTensors;
  info.arena_size = 256;
  info.arena_alignment = 64;
  info.target = WEFT_DEVICE_CUDA;
  info.device_entry = unusedDeviceEntry;
  info.num_device_images = 1;
  info.device_images = kImages;
  info.num_kernels = 1;
  info.kernel_names = kKernelNames;
  info.weights = kWeights;
  info.weights_size = sizeof(kWeights);
  return info;
}

// The device, or null (and `why`) where this machine has no GPU.
DevicePtr tryCudaDevice(std::string &why) {
  weft_device_t *device = nullptr;
  Captured c = capture(weft_cuda_device_create(nullptr, nullptr, &device));
  why = c.message;
  if (!c.isNull) {
    EXPECT_EQ(device, nullptr);
    EXPECT_EQ(c.code, WEFT_UNAVAILABLE) << c.message;
  }
  return DevicePtr(device);
}

TEST(CudaDevice, MissingGpuIsUnavailableWithAClearMessage) {
  std::string why;
  DevicePtr device = tryCudaDevice(why);
  if (device)
    GTEST_SKIP() << "this machine has a GPU: " << weft_device_name(device.get());
  EXPECT_EQ(why.rfind("no CUDA device", 0), 0u) << why;
  // A second attempt answers the same (the driver is looked up once).
  std::string again;
  EXPECT_FALSE(tryCudaDevice(again));
  EXPECT_EQ(again, why);
  // CPU devices keep working.
  DevicePtr cpu = makeCpuDevice(1);
  ASSERT_TRUE(cpu);
  EXPECT_STREQ(weft_device_name(cpu.get()), "cpu");
}

TEST(CudaDevice, BadOrdinalAndNullOutAreInvalid) {
  weft_cuda_device_options_t options = {-1};
  weft_device_t *device = nullptr;
  Captured c = capture(weft_cuda_device_create(&options, nullptr, &device));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("ordinal -1"), std::string::npos) << c.message;
  c = capture(weft_cuda_device_create(nullptr, nullptr, nullptr));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  // An ordinal past every GPU there is: unavailable, never a crash.
  options.ordinal = 1 << 20;
  c = capture(weft_cuda_device_create(&options, nullptr, &device));
  EXPECT_EQ(c.code, WEFT_UNAVAILABLE);
  EXPECT_EQ(c.message.rfind("no CUDA device", 0), 0u) << c.message;
}

TEST(CudaDevice, CpuDeviceLaunchesNoKernels) {
  DevicePtr cpu = makeCpuDevice(1);
  void *bindings[1] = {nullptr};
  Captured c = capture(weft_device_launch(cpu.get(), nullptr, 0, bindings, 1, 1, 1, 1, 32, 1,
                                          1, 0));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("CPU device runs no kernels"), std::string::npos) << c.message;
  c = capture(weft_device_launch(nullptr, nullptr, 0, bindings, 1, 1, 1, 1, 32, 1, 1, 0));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
}

TEST(DeviceBytes, CpuDeviceCopiesReadsAndWritesInPlace) {
  DevicePtr cpu = makeCpuDevice(1);
  int64_t a[3] = {1, 2, 3}, b[3] = {}, c = 0;
  EXPECT_TRUE(isOk(weft_device_copy(cpu.get(), b, a, sizeof(a))));
  EXPECT_EQ(b[2], 3);
  EXPECT_TRUE(isOk(weft_device_read(cpu.get(), &c, &a[1], sizeof(c))));
  EXPECT_EQ(c, 2);
  c = 9;
  EXPECT_TRUE(isOk(weft_device_write(cpu.get(), &a[0], &c, sizeof(c))));
  EXPECT_EQ(a[0], 9);
  // Nothing to move: no buffer needed.
  EXPECT_TRUE(isOk(weft_device_copy(cpu.get(), nullptr, nullptr, 0)));
  Captured e = capture(weft_device_read(cpu.get(), nullptr, a, 8));
  EXPECT_EQ(e.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(e.message.find("weft_device_read: a NULL buffer for 8 bytes"), std::string::npos)
      << e.message;
  e = capture(weft_device_write(nullptr, a, &c, 8));
  EXPECT_EQ(e.code, WEFT_INVALID_ARGUMENT);
}

TEST(CudaImages, TheGpusOwnArchitectureFirstThenCompatibleCubinsThenPtx) {
  const weft_device_image_t images[] = {{"sm_80", nullptr, 0}, {"sm_90", nullptr, 0},
                                        {"sm_86", nullptr, 0}, {"sm_100", nullptr, 0},
                                        {"sm_70", nullptr, 0}, {"bogus", nullptr, 0}};
  int32_t order[6];
  // An H100/H200 (9.0): its cubin, then PTX of 8.6, 8.0, 7.0, then what
  // cannot load.
  weft_cuda_image_order(images, 6, 9, 0, order);
  EXPECT_EQ(std::vector<int32_t>(order, order + 6), (std::vector<int32_t>{1, 2, 0, 4, 3, 5}));
  // An 8.9 GPU: no own cubin; 8.6's and 8.0's run as they are (same major).
  weft_cuda_image_order(images, 6, 8, 9, order);
  EXPECT_EQ(std::vector<int32_t>(order, order + 3), (std::vector<int32_t>{2, 0, 4}));
  // A model compiled for sm_80,sm_90 tried on a 9.0 GPU: sm_90 first, not
  // the sm_80 PTX that the driver would also accept.
  weft_cuda_image_order(images, 2, 9, 0, order);
  EXPECT_EQ(order[0], 1);
}

TEST(CudaModel, CpuDeviceRefusesACudaModel) {
  DevicePtr cpu = makeCpuDevice(1);
  weft_model_info_t info = cudaModelInfo();
  weft_model_t *model = nullptr;
  Captured c = capture(weft_model_create(&info, cpu.get(), nullptr, &model));
  EXPECT_EQ(model, nullptr);
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("compiled for a CUDA device (weftc --target=cuda) but the device "
                           "is a CPU device"),
            std::string::npos)
      << c.message;
}

TEST(CudaModel, MalformedDescriptionsAreNamed) {
  DevicePtr cpu = makeCpuDevice(1);
  struct Case {
    void (*spoil)(weft_model_info_t &);
    const char *expected;
  } cases[] = {
      {[](weft_model_info_t &i) { i.device_entry = nullptr; }, "has no device entry function"},
      {[](weft_model_info_t &i) { i.num_device_images = 0; }, "has no kernel image"},
      {[](weft_model_info_t &i) { i.kernel_names = nullptr; }, "has 1 kernels but no names"},
      {[](weft_model_info_t &i) { i.weights = nullptr; }, "bytes of weights but no data"},
      {[](weft_model_info_t &i) { i.num_devices = 2; }, "has no device entry function"},
      {[](weft_model_info_t &i) { i.target = (weft_device_kind_t)7; },
       "unknown device kind 7"},
  };
  for (const Case &k : cases) {
    weft_model_info_t info = cudaModelInfo();
    k.spoil(info);
    weft_model_t *model = nullptr;
    Captured c = capture(weft_model_create(&info, cpu.get(), nullptr, &model));
    EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT) << k.expected;
    EXPECT_NE(c.message.find(k.expected), std::string::npos) << c.message;
  }
}

TEST(CudaModel, DeviceMemoryViewsNeedACudaModel) {
  DevicePtr cpu = makeCpuDevice(1);
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "host";
  info.num_inputs = 1;
  info.inputs = kTensors;
  info.num_outputs = 1;
  info.outputs = kTensors;
  info.entry = unusedEntry;
  weft_model_t *model = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, cpu.get(), nullptr, &model)));
  float x[4] = {}, y[4] = {};
  weft_tensor_view_t in = {x, WEFT_DTYPE_F32, 1, {4}, WEFT_MEMORY_DEVICE};
  weft_tensor_view_t out = {y, WEFT_DTYPE_F32, 1, {4}, WEFT_MEMORY_HOST};
  Captured c = capture(weft_model_run(model, &in, 1, &out, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("device memory given to a model that runs on the CPU"),
            std::string::npos)
      << c.message;
  in.memory = (weft_memory_t)5;
  c = capture(weft_model_run(model, &in, 1, &out, 1));
  EXPECT_NE(c.message.find("unknown memory kind"), std::string::npos) << c.message;
  in.memory = WEFT_MEMORY_HOST;
  EXPECT_TRUE(isOk(weft_model_run(model, &in, 1, &out, 1)));
  // A CPU device has no GPU timer.
  double ms = -1;
  c = capture(weft_model_device_time(model, &ms));
  EXPECT_EQ(c.code, WEFT_UNAVAILABLE);
  EXPECT_NE(c.message.find("runs on the CPU, which has no device timer"), std::string::npos)
      << c.message;
  weft_model_destroy(model);
}

TEST(CudaModel, GroupOfGpusModelNeedsGpus) {
  GroupPtr group = makeCpuGroup(2);
  weft_model_info_t info = cudaModelInfo();
  info.num_devices = 2;
  info.device_entry = nullptr;
  info.spmd_device_entry = [](weft_device_group_t *const *, int32_t, weft_device_t *,
                              const weft_kernel_table_t *, void *, const void *, void *const *,
                              void *const *) -> weft_status_t { return nullptr; };
  weft_group_model_t *model = nullptr;
  Captured c = capture(weft_group_model_create(&info, group.get(), nullptr, &model));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("needs a group of GPUs (weft_cuda_device_group_create"),
            std::string::npos)
      << c.message;
}

// A CUDA model for two devices compiled for the CPU (--target=cuda-on-cpu):
// each rank gets its part of the input in a slot of its own (not the
// caller's memory), its device, the host kernels and the weights, and its
// output part goes back into the caller's tensor.
const int64_t kBatchShape[] = {4, 2};
const weft_tensor_info_t kSplitTensors[] = {{"x", WEFT_DTYPE_F32, 2, kBatchShape, nullptr, 0}};
const float *gCallerInput = nullptr;
int gPartsSeen = 0;

weft_status_t scaleRowsOnCpu(weft_device_group_t *const *groups, int32_t rank,
                             weft_device_t *device, const weft_kernel_table_t *kernels,
                             void *arena, const void *weights, void *const *inputs,
                             void *const *outputs) {
  if (!groups || !groups[0] || weft_device_kind(device) != WEFT_DEVICE_CPU || !kernels ||
      !arena || weights != kWeights)
    return weft_status_create(WEFT_INTERNAL, "rank %d: wrong device, kernels or weights",
                              (int)rank);
  const float *in = static_cast<const float *>(inputs[0]);
  if (in == gCallerInput + rank * 4)
    return weft_status_create(WEFT_INTERNAL, "rank %d read the caller's memory", (int)rank);
  float *out = static_cast<float *>(outputs[0]);
  for (int i = 0; i < 4; ++i) // two rows of two
    out[i] = in[i] * kWeights[1];
  __atomic_add_fetch(&gPartsSeen, 1, __ATOMIC_RELAXED);
  return nullptr;
}

void noKernel(void *const *, int64_t) {}
const weft_workgroup_fn_t kHostKernels[] = {noKernel};

// A CUDA model for two devices compiled for the CPU, its batch split.
weft_model_info_t cudaOnCpuSplitInfo(const char *plan, weft_spmd_device_entry_fn_t entry) {
  weft_model_info_t info = cudaModelInfo();
  info.inputs = kSplitTensors;
  info.outputs = kSplitTensors;
  info.num_devices = 2;
  info.parallel_plan = plan;
  info.device_entry = nullptr;
  info.num_device_images = 0;
  info.device_images = nullptr;
  info.host_kernels = kHostKernels;
  info.spmd_device_entry = entry;
  return info;
}

TEST(CudaModel, CudaOnCpuGroupModelRunsEachPartInItsSlots) {
  GroupPtr group = makeCpuGroup(2);
  weft_model_info_t info = cudaOnCpuSplitInfo("data", scaleRowsOnCpu);
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, group.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {};
  gCallerInput = x;
  weft_tensor_view_t in = {x, WEFT_DTYPE_F32, 2, {4, 2}, WEFT_MEMORY_HOST};
  weft_tensor_view_t out = {y, WEFT_DTYPE_F32, 2, {4, 2}, WEFT_MEMORY_HOST};
  gPartsSeen = 0;
  ASSERT_TRUE(isOk(weft_group_model_run(model.get(), &in, 1, &out, 1)));
  EXPECT_EQ(gPartsSeen, 2);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(y[i], x[i] * 2.0f) << i;
  // A group model takes host tensors (it splits them itself).
  in.memory = WEFT_MEMORY_DEVICE;
  Captured c = capture(weft_group_model_run(model.get(), &in, 1, &out, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("input 0 is in device memory"), std::string::npos) << c.message;
}

weft_status_t copyInputDeviceEntry(weft_device_t *, const weft_kernel_table_t *, void *,
                                   const void *, void *const *inputs, void *const *outputs) {
  std::memcpy(outputs[0], inputs[0], 4 * sizeof(float));
  return nullptr;
}

// The kernels load and store 16 bytes at a time from the buffers' starts:
// device data that does not start on that grid is refused, by name (a
// CUDA model compiled for the CPU takes device views of host memory).
TEST(CudaModel, DeviceDataMustBeSixteenByteAligned) {
  DevicePtr cpu = makeCpuDevice(1);
  weft_model_info_t info = cudaModelInfo();
  info.num_device_images = 0;
  info.device_images = nullptr;
  info.host_kernels = kHostKernels;
  info.device_entry = copyInputDeviceEntry;
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, cpu.get(), nullptr, &raw)));
  alignas(16) float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  alignas(16) float y[4] = {};
  weft_tensor_view_t in = {x + 1, WEFT_DTYPE_F32, 1, {4}, WEFT_MEMORY_DEVICE};
  weft_tensor_view_t out = {y, WEFT_DTYPE_F32, 1, {4}, WEFT_MEMORY_DEVICE};
  Captured c = capture(weft_model_run(raw, &in, 1, &out, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("input 'x': device data at"), std::string::npos) << c.message;
  EXPECT_NE(c.message.find("is not 16-byte aligned"), std::string::npos) << c.message;
  in.data = x + 4;
  EXPECT_TRUE(isOk(weft_model_run(raw, &in, 1, &out, 1)));
  EXPECT_EQ(y[0], 5.0f);
  EXPECT_EQ(y[3], 8.0f);
  weft_model_destroy(raw);
}

// Weights cut into parts: each rank's device holds the shared bytes and its
// own part, and reads them at the same addresses.
const float kCutWeights[] = {10.0f, 1.0f, 2.0f}; // shared, part 0, part 1
const int32_t kPartOf[] = {1, 0};                // rank 0 reads part 1

weft_status_t checkOwnPart(weft_device_group_t *const *, int32_t rank, weft_device_t *,
                           const weft_kernel_table_t *, void *, const void *weights,
                           void *const *inputs, void *const *outputs) {
  const float *w = static_cast<const float *>(weights);
  float expected = rank == 0 ? 2.0f : 1.0f;
  if (w == kCutWeights || w[0] != 10.0f || w[1] != expected)
    return weft_status_create(WEFT_INTERNAL, "rank %d holds %g, %g", (int)rank, w[0], w[1]);
  const float *in = static_cast<const float *>(inputs[0]);
  float *out = static_cast<float *>(outputs[0]);
  for (int i = 0; i < 4; ++i)
    out[i] = in[i] * w[1];
  return nullptr;
}

TEST(CudaModel, CutWeightsGiveEachRankItsPart) {
  GroupPtr group = makeCpuGroup(2);
  weft_model_info_t info = cudaOnCpuSplitInfo("tensor", checkOwnPart);
  info.weights = kCutWeights;
  info.weights_size = sizeof(kCutWeights);
  info.weights_shared_size = 4;
  info.weight_part_size = 4;
  info.num_weight_parts = 2;
  info.weight_part_of = kPartOf;
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, group.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {};
  weft_tensor_view_t in = {x, WEFT_DTYPE_F32, 2, {4, 2}, WEFT_MEMORY_HOST};
  weft_tensor_view_t out = {y, WEFT_DTYPE_F32, 2, {4, 2}, WEFT_MEMORY_HOST};
  ASSERT_TRUE(isOk(weft_group_model_run(model.get(), &in, 1, &out, 1)));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(y[i], x[i] * (i < 4 ? 2.0f : 1.0f)) << i;
  // Parts that do not add up to the weights, or a rank's part out of range.
  const int32_t outOfRange[] = {0, 2};
  struct Case {
    void (*spoil)(weft_model_info_t &);
  } cases[] = {
      {[](weft_model_info_t &i) { i.weight_part_size = 8; }},
      {[](weft_model_info_t &i) { i.num_weight_parts = 1; }},
      {[](weft_model_info_t &i) { i.weight_part_of = nullptr; }},
  };
  for (const Case &k : cases) {
    weft_model_info_t bad = info;
    k.spoil(bad);
    Captured c = capture(weft_group_model_create(&bad, group.get(), nullptr, &raw));
    EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
    EXPECT_NE(c.message.find("weight parts that do not add up"), std::string::npos)
        << c.message;
  }
  weft_model_info_t bad = info;
  bad.weight_part_of = outOfRange;
  Captured c = capture(weft_group_model_create(&bad, group.get(), nullptr, &raw));
  EXPECT_NE(c.message.find("names a part out of range"), std::string::npos) << c.message;
}

} // namespace
