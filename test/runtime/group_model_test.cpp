// Tests for models compiled for several devices, run in one process on an
// in-process device group (spmd_model.h holds the hand-written model): each
// device gets its own part of every tensor (in place or staged), whole
// outputs come from device 0, an entry's collective works, and bad models,
// groups and views are refused with messages.
#include "spmd_model.h"
#include "test_util.h"

#include <cstring>
#include <string>
#include <utility>

using namespace weft_test;

namespace {

TEST(GroupModel, EachDeviceRunsOnItsPart) {
  GroupPtr g = makeCpuGroup(2);
  CountingAllocator counting;
  weft_model_info_t info = spmdModelInfo();
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), &counting.allocator, &raw)));
  GroupModelPtr model(raw);
  EXPECT_EQ(weft_group_model_get_info(raw), &info);
  int before = counting.allocs;
  for (int round = 0; round < 3; ++round) {
    SpmdRun run;
    auto in = run.inputs();
    auto out = run.outputs();
    ASSERT_TRUE(isOk(weft_group_model_run(raw, in.data(), in.size(), out.data(), out.size())));
    EXPECT_EQ(run.mismatch(), "") << "round " << round;
  }
  EXPECT_EQ(counting.allocs, before) << "a run allocated";
  model.reset();
  EXPECT_EQ(counting.allocs, counting.frees);
}

TEST(GroupModel, GroupMustHaveTheModelsDevices) {
  GroupPtr g = makeCpuGroup(3);
  weft_model_info_t info = spmdModelInfo();
  weft_group_model_t *m = nullptr;
  Captured c = capture(weft_group_model_create(&info, g.get(), nullptr, &m));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("compiled for 2 devices but the group has 3"), std::string::npos)
      << c.message;
  EXPECT_EQ(m, nullptr);
}

TEST(GroupModel, OneDeviceApiRefusesAMultiDeviceModel) {
  DevicePtr device = makeCpuDevice(1);
  weft_model_info_t info = spmdModelInfo();
  weft_model_t *m = nullptr;
  Captured c = capture(weft_model_create(&info, device.get(), nullptr, &m));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("compiled for 2 devices; create it on a device group"),
            std::string::npos)
      << c.message;
}

TEST(GroupModel, SplitAxisMustCutIntoEqualParts) {
  GroupPtr g = makeCpuGroup(2);
  weft_tensor_info_t outputs[4];
  std::memcpy(outputs, kSpmdOutputs, sizeof(outputs));
  outputs[3].split_axis = 0; // t is [1]
  weft_model_info_t info = spmdModelInfo();
  info.outputs = outputs;
  weft_group_model_t *m = nullptr;
  Captured c = capture(weft_group_model_create(&info, g.get(), nullptr, &m));
  EXPECT_NE(c.message.find("output 't' of model 'spmd_test' is split on axis 0, which "
                           "cannot be cut into 2 equal parts"),
            std::string::npos)
      << c.message;
  outputs[3].split_axis = 1; // past the rank
  c = capture(weft_group_model_create(&info, g.get(), nullptr, &m));
  EXPECT_NE(c.message.find("split on axis 1"), std::string::npos) << c.message;
  info = spmdModelInfo();
  info.spmd_entry = nullptr;
  c = capture(weft_group_model_create(&info, g.get(), nullptr, &m));
  EXPECT_NE(c.message.find("has no entry function"), std::string::npos) << c.message;
}

TEST(GroupModel, ViewsAreCheckedAsWholeTensors) {
  GroupPtr g = makeCpuGroup(2);
  weft_model_info_t info = spmdModelInfo();
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  SpmdRun run;
  auto in = run.inputs();
  auto out = run.outputs();
  in[0].shape[0] = 2; // a device's part is not the tensor
  Captured c = capture(weft_group_model_run(raw, in.data(), in.size(), out.data(), out.size()));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("input 'x': expected shape [4,6] but got [2,6]"), std::string::npos)
      << c.message;
  in = run.inputs();
  out[1].data = run.x.data(); // an output over an input
  c = capture(weft_group_model_run(raw, in.data(), in.size(), out.data(), out.size()));
  EXPECT_NE(c.message.find("output 'v' overlaps input 'x'"), std::string::npos) << c.message;
}

// A device's failure is the run's status, after the collective or before
// a collective or a message that its peer waits in (the run is aborted:
// the peer fails too instead of waiting forever, and the run reports the
// failure that caused it); the instance stays usable, twice over.
TEST(GroupModel, ADevicesFailureIsTheRunsStatus) {
  GroupPtr g = makeCpuGroup(2);
  weft_model_info_t info = spmdModelInfo();
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  SpmdRun run;
  auto in = run.inputs();
  auto out = run.outputs();
  for (int round = 0; round < 2; ++round) {
    for (const auto &[entry, message] : kRankOneFailures) {
      info.spmd_entry = entry;
      Captured c =
          capture(weft_group_model_run(raw, in.data(), in.size(), out.data(), out.size()));
      EXPECT_EQ(c.code, WEFT_INTERNAL);
      EXPECT_EQ(c.message, message);
    }
    info.spmd_entry = spmdEntry;
    ASSERT_TRUE(isOk(weft_group_model_run(raw, in.data(), in.size(), out.data(), out.size())));
    EXPECT_EQ(run.mismatch(), "");
  }
}

weft_status_t copyEntry(weft_device_t *, void *, void *const *in, void *const *out) {
  std::memcpy(out[0], in[0], 24 * sizeof(float));
  return nullptr;
}

const weft_tensor_info_t kCopyIo[] = {{"x", WEFT_DTYPE_F32, 2, kSpmdMatrix, nullptr, 0}};

/// A one-device model copying x [2, 12] to its output, named `name`.
weft_model_info_t copyModel(const char *name) {
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = name;
  info.num_inputs = 1;
  info.inputs = kCopyIo;
  info.num_outputs = 1;
  info.outputs = kCopyIo;
  return info;
}

/// Runs `info` (a copying model) on a group of one CPU device.
void expectCopiesOnAGroupOfOne(const weft_model_info_t &info) {
  GroupPtr g = makeCpuGroup(1);
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  SpmdRun run;
  weft_tensor_view_t in = spmdView(run.x, 2, kSpmdMatrix), out = spmdView(run.y, 2, kSpmdMatrix);
  ASSERT_TRUE(isOk(weft_group_model_run(raw, &in, 1, &out, 1)));
  EXPECT_EQ(run.y, run.x);
}

TEST(GroupModel, AOneDeviceModelRunsOnAGroupOfOne) {
  weft_model_info_t info = copyModel("copy");
  info.entry = copyEntry;
  expectCopiesOnAGroupOfOne(info);
}

weft_status_t copyDeviceEntry(weft_device_t *, const weft_kernel_table_t *, void *,
                              const void *, void *const *in, void *const *out) {
  std::memcpy(out[0], in[0], 24 * sizeof(float));
  return nullptr;
}

// A CUDA model compiled for one device (its device_entry, no SPMD entry),
// with --target=cuda-on-cpu: on a group of one CPU device it runs through
// device_entry.
TEST(GroupModel, AOneDeviceCudaOnCpuModelRunsOnAGroupOfOne) {
  static const weft_workgroup_fn_t noKernels[1] = {nullptr};
  weft_model_info_t info = copyModel("copy_cuda_on_cpu");
  info.target = WEFT_DEVICE_CUDA;
  info.host_kernels = noKernels;
  info.device_entry = copyDeviceEntry;
  expectCopiesOnAGroupOfOne(info);
}

// A 2 x 2 grid: device r = 2d + t holds part d of the split tensors, and
// its collectives along each axis meet only its row or column.
const int64_t kGridShape[] = {2, 2};
const int64_t kGridMatrix[] = {2, 3};
const int64_t kGridOne[] = {1};
const weft_tensor_info_t kGridInputs[] = {{"x", WEFT_DTYPE_F32, 2, kGridMatrix, nullptr, 0}};
const weft_tensor_info_t kGridOutputs[] = {{"y", WEFT_DTYPE_F32, 2, kGridMatrix, nullptr, 0},
                                           {"s", WEFT_DTYPE_F32, 1, kGridOne, nullptr, -1}};

weft_status_t gridEntry(weft_device_group_t *const *groups, int32_t rank, weft_device_t *,
                        void *, void *const *in, void *const *out) {
  float along1 = (float)(rank % 2 + 1), along0 = (float)(rank / 2 + 1), all = (float)rank;
  float sum1 = 0, sum0 = 0, sumAll = 0;
  weft_status_t s =
      weft_group_all_reduce(groups[2], rank, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &along1, &sum1, 1);
  if (!s)
    s = weft_group_all_reduce(groups[1], rank, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &along0,
                              &sum0, 1);
  if (!s)
    s = weft_group_all_reduce(groups[0], rank, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, &all, &sumAll,
                              1);
  const float *x = static_cast<const float *>(in[0]); // row d
  float *y = static_cast<float *>(out[0]);
  // sum1 and sum0 are 3 on every device; the second device of a row adds
  // its coordinate, which only a writer's part may reach the caller.
  for (int i = 0; i < 3; ++i)
    y[i] = x[i] * sum1 * sum0 + (float)(rank % 2);
  static_cast<float *>(out[1])[0] = sumAll;
  return s;
}

TEST(GroupModel, GridDevicesShareTheirPartAndMeetAlongEachAxis) {
  GroupPtr g = makeCpuGroup(4, 1);
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "grid_test";
  info.num_inputs = 1;
  info.inputs = kGridInputs;
  info.num_outputs = 2;
  info.outputs = kGridOutputs;
  info.arena_size = 64;
  info.num_devices = 4;
  info.parallel_plan = "data*tensor";
  info.spmd_entry = gridEntry;
  info.num_grid_axes = 2;
  info.grid_shape = kGridShape;
  weft_group_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_group_model_create(&info, g.get(), nullptr, &raw)));
  GroupModelPtr model(raw);
  std::vector<float> x = {1, 2, 3, 4, 5, 6}, y(6, -1), s(1, -1);
  weft_tensor_view_t in[] = {spmdView(x, 2, kGridMatrix)};
  weft_tensor_view_t out[] = {spmdView(y, 2, kGridMatrix), spmdView(s, 1, kGridOne)};
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(isOk(weft_group_model_run(raw, in, 1, out, 2)));
    EXPECT_EQ(y, (std::vector<float>{9, 18, 27, 36, 45, 54}));
    EXPECT_EQ(s[0], 6);
  }
  // A grid whose devices are not the model's is refused at creation.
  const int64_t wrong[] = {3, 2};
  info.grid_shape = wrong;
  Captured c = capture(weft_group_model_create(&info, g.get(), nullptr, &raw));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("grid of devices that is not 4 devices"), std::string::npos)
      << c.message;
}

} // namespace
