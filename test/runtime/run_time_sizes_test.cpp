// Tests for outputs whose sizes each run decides (weftc's NonZero, Compress
// and NonMaxSuppression): a hand-written model whose entry keeps the even
// elements of its input, packed at the start of the output, and writes their
// count after the outputs, where weft_model_run points it.
#include "test_util.h"

#include <cstdint>
#include <string>
#include <vector>

using namespace weft_test;

namespace {

constexpr int64_t kN = 8;
const int64_t kVector[] = {kN};
const int64_t kScalar[] = {1};
const int32_t kEvensDims[] = {0};
const int32_t kBadDims[] = {1};

const weft_tensor_info_t kInputs[] = {{"x", WEFT_DTYPE_I32, 1, kVector}};
const weft_tensor_info_t kOutputs[] = {
    {"evens", WEFT_DTYPE_I32, 1, kVector, nullptr, -1, kEvensDims},
    {"total", WEFT_DTYPE_I32, 1, kScalar, nullptr, -1, nullptr},
};

weft_status_t evensEntry(weft_device_t *, void *, void *const *inputs,
                         void *const *outputs) {
  const int32_t *x = static_cast<const int32_t *>(inputs[0]);
  int32_t *evens = static_cast<int32_t *>(outputs[0]);
  int32_t *total = static_cast<int32_t *>(outputs[1]);
  int64_t *count = static_cast<int64_t *>(outputs[2]); // the run's size
  *count = 0;
  *total = 0;
  for (int64_t i = 0; i < kN; ++i) {
    *total += x[i];
    if (x[i] % 2 == 0)
      evens[(*count)++] = x[i];
  }
  if (*total < 0)
    return weft_status_create(WEFT_INTERNAL, "entry: a negative total");
  return nullptr;
}

weft_model_info_t evensInfo() {
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "evens";
  info.num_inputs = 1;
  info.inputs = kInputs;
  info.num_outputs = 2;
  info.outputs = kOutputs;
  info.entry = evensEntry;
  info.num_extents = 1;
  return info;
}

weft_tensor_view_t view(void *data, int64_t n) {
  weft_tensor_view_t v = {};
  v.data = data;
  v.dtype = WEFT_DTYPE_I32;
  v.rank = 1;
  v.shape[0] = n;
  return v;
}

struct ModelDeleter {
  void operator()(weft_model_t *model) const { weft_model_destroy(model); }
};

struct EvensFixture : ::testing::Test {
  DevicePtr device = makeCpuDevice(1);
  weft_model_info_t info = evensInfo();
  std::unique_ptr<weft_model_t, ModelDeleter> model;
  std::vector<int32_t> x{3, 4, 7, 10, 12, 1, 5, 8}, evens = std::vector<int32_t>(kN, -1);
  int32_t total = 0;

  void SetUp() override {
    weft_model_t *raw = nullptr;
    ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
    model.reset(raw);
  }
  weft_status_t run() {
    weft_tensor_view_t in[] = {view(x.data(), kN)};
    weft_tensor_view_t out[] = {view(evens.data(), kN), view(&total, 1)};
    return weft_model_run(model.get(), in, 1, out, 2);
  }
  std::vector<int64_t> shapeOf(int32_t output) {
    int32_t rank = -1;
    int64_t shape[WEFT_MAX_RANK];
    EXPECT_TRUE(isOk(weft_model_output_shape(model.get(), output, &rank, shape)));
    return std::vector<int64_t>(shape, shape + (rank < 0 ? 0 : rank));
  }
};

} // namespace

TEST_F(EvensFixture, TheRunDecidesTheShape) {
  ASSERT_TRUE(isOk(run()));
  EXPECT_EQ(shapeOf(0), std::vector<int64_t>{4});
  EXPECT_EQ(std::vector<int32_t>(evens.begin(), evens.begin() + 4),
            (std::vector<int32_t>{4, 10, 12, 8}));
  EXPECT_EQ(shapeOf(1), std::vector<int64_t>{1});
  EXPECT_EQ(total, 50);

  x = {1, 3, 5, 7, 9, 11, 13, 15};
  ASSERT_TRUE(isOk(run()));
  EXPECT_EQ(shapeOf(0), std::vector<int64_t>{0});
}

TEST_F(EvensFixture, NoShapeBeforeASuccessfulRun) {
  int32_t rank = 0;
  int64_t shape[WEFT_MAX_RANK];
  Captured before = capture(weft_model_output_shape(model.get(), 0, &rank, shape));
  EXPECT_EQ(before.code, WEFT_UNAVAILABLE);
  EXPECT_NE(before.message.find("no run has succeeded"), std::string::npos) << before.message;
  // A fixed output has its shape from the start.
  EXPECT_EQ(shapeOf(1), std::vector<int64_t>{1});

  ASSERT_TRUE(isOk(run()));
  x[0] = -100; // the entry fails: the last run's shape is gone
  Captured failed = capture(run());
  EXPECT_EQ(failed.code, WEFT_INTERNAL);
  EXPECT_EQ(capture(weft_model_output_shape(model.get(), 0, &rank, shape)).code,
            WEFT_UNAVAILABLE);
}

TEST_F(EvensFixture, BadQueriesAreRefused) {
  int32_t rank = 0;
  int64_t shape[WEFT_MAX_RANK];
  EXPECT_EQ(capture(weft_model_output_shape(model.get(), 2, &rank, shape)).code,
            WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(capture(weft_model_output_shape(model.get(), -1, &rank, shape)).code,
            WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(capture(weft_model_output_shape(nullptr, 0, &rank, shape)).code,
            WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(capture(weft_model_output_shape(model.get(), 0, nullptr, shape)).code,
            WEFT_INVALID_ARGUMENT);
}

TEST(RunTimeSizes, MalformedDescriptionsAreRefused) {
  DevicePtr device = makeCpuDevice(1);
  weft_model_t *model = nullptr;
  // A dim naming a size the model does not have.
  weft_tensor_info_t outputs[] = {kOutputs[0], kOutputs[1]};
  outputs[0].run_time_dims = kBadDims;
  weft_model_info_t info = evensInfo();
  info.outputs = outputs;
  Captured bad = capture(weft_model_create(&info, device.get(), nullptr, &model));
  EXPECT_EQ(bad.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(bad.message.find("names size 1 of 1"), std::string::npos) << bad.message;
  EXPECT_EQ(model, nullptr);
  // Too many sizes.
  info = evensInfo();
  info.num_extents = WEFT_MAX_RUN_TIME_SIZES + 1;
  EXPECT_EQ(capture(weft_model_create(&info, device.get(), nullptr, &model)).code,
            WEFT_INVALID_ARGUMENT);
  // An input cannot be sized by the run.
  weft_tensor_info_t inputs[] = {kInputs[0]};
  inputs[0].run_time_dims = kEvensDims;
  info = evensInfo();
  info.inputs = inputs;
  EXPECT_EQ(capture(weft_model_create(&info, device.get(), nullptr, &model)).code,
            WEFT_INVALID_ARGUMENT);
}

TEST(RunTimeSizes, DeviceGroupsAreRefused) {
  weft_model_info_t info = evensInfo();
  GroupPtr group = makeCpuGroup(1);
  weft_group_model_t *model = nullptr;
  Captured c = capture(weft_group_model_create(&info, group.get(), nullptr, &model));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("sized at run time"), std::string::npos) << c.message;
  EXPECT_EQ(model, nullptr);
}
