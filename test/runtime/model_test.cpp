// Tests for compiled-model instances, with a hand-written model in place of
// one emitted by weftc: its entry adds two float tensors into the arena and
// doubles the sum into the output, both through weft_device_dispatch.
#include "test_util.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

namespace {

constexpr int64_t kRows = 4;
constexpr int64_t kCols = 16;
const int64_t kShape[] = {kRows, kCols};

const weft_tensor_info_t kInputs[] = {
    {"a", WEFT_DTYPE_F32, 2, kShape},
    {"b", WEFT_DTYPE_F32, 2, kShape},
};
const weft_tensor_info_t kOutputs[] = {
    {"y", WEFT_DTYPE_F32, 2, kShape},
};

// What the entry saw, for the tests to inspect.
std::atomic<int> gEntryCalls{0};
std::atomic<uintptr_t> gLastArena{0};

// One workgroup per row: out[row] = lhs[row] + rhs[row].
void addRow(void *const *bindings, int64_t row) {
  const float *lhs = static_cast<const float *>(bindings[0]);
  const float *rhs = static_cast<const float *>(bindings[1]);
  float *out = static_cast<float *>(bindings[2]);
  for (int64_t c = 0; c < kCols; ++c)
    out[row * kCols + c] = lhs[row * kCols + c] + rhs[row * kCols + c];
}

weft_status_t addThenDoubleEntry(weft_device_t *device, void *arena,
                                 void *const *inputs, void *const *outputs) {
  gEntryCalls.fetch_add(1);
  gLastArena = reinterpret_cast<uintptr_t>(arena);
  if (!arena)
    return weft_status_create(WEFT_INTERNAL, "entry: no arena");
  float *sum = static_cast<float *>(arena); // the planned intermediate
  void *first[] = {inputs[0], inputs[1], sum};
  if (weft_status_t status = weft_device_dispatch(device, addRow, first, kRows))
    return status;
  void *second[] = {sum, sum, outputs[0]};
  return weft_device_dispatch(device, addRow, second, kRows);
}

weft_model_info_t addModelInfo() {
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "add_double";
  info.num_inputs = 2;
  info.inputs = kInputs;
  info.num_outputs = 1;
  info.outputs = kOutputs;
  info.arena_size = sizeof(float) * kRows * kCols;
  info.arena_alignment = 64;
  info.entry = addThenDoubleEntry;
  return info;
}

weft_tensor_view_t makeView(void *data, weft_dtype_t dtype,
                            std::initializer_list<int64_t> shape) {
  weft_tensor_view_t v = {};
  v.data = data;
  v.dtype = dtype;
  v.rank = static_cast<int32_t>(shape.size());
  int i = 0;
  for (int64_t d : shape)
    v.shape[i++] = d;
  return v;
}

struct ModelDeleter {
  void operator()(weft_model_t *model) const { weft_model_destroy(model); }
};
using ModelPtr = std::unique_ptr<weft_model_t, ModelDeleter>;

// A model instance plus valid buffers and views, which tests then break.
struct AddFixture : ::testing::Test {
  DevicePtr device = makeCpuDevice(4);
  weft_model_info_t info = addModelInfo();
  ModelPtr model;
  std::vector<float> a, b, y;
  weft_tensor_view_t inputs[2];
  weft_tensor_view_t outputs[1];

  void SetUp() override {
    weft_model_t *raw = nullptr;
    ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
    model.reset(raw);
    for (int64_t i = 0; i < kRows * kCols; ++i) {
      a.push_back(static_cast<float>(i));
      b.push_back(static_cast<float>(1000 - 3 * i));
    }
    y.assign(kRows * kCols, -1.0f);
    inputs[0] = makeView(a.data(), WEFT_DTYPE_F32, {kRows, kCols});
    inputs[1] = makeView(b.data(), WEFT_DTYPE_F32, {kRows, kCols});
    outputs[0] = makeView(y.data(), WEFT_DTYPE_F32, {kRows, kCols});
  }

  // Runs expecting a validation error; checks that the entry did not run and
  // the output is untouched, and returns the message.
  std::string runExpectingError() {
    int callsBefore = gEntryCalls.load();
    Captured c = capture(weft_model_run(model.get(), inputs, 2, outputs, 1));
    EXPECT_FALSE(c.isNull);
    EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(gEntryCalls.load(), callsBefore) << "entry ran after an error";
    for (float v : y)
      EXPECT_EQ(v, -1.0f);
    return c.message;
  }
};

} // namespace

TEST_F(AddFixture, RunComputesTheModel) {
  ASSERT_TRUE(isOk(weft_model_run(model.get(), inputs, 2, outputs, 1)));
  for (int64_t i = 0; i < kRows * kCols; ++i)
    ASSERT_EQ(y[i], 2.0f * (a[i] + b[i])) << i;
  EXPECT_EQ(gLastArena.load() % 64, 0u);
  EXPECT_EQ(weft_model_get_info(model.get()), &info);
}

TEST_F(AddFixture, RunsRepeatedlyWithTheSameArena) {
  ASSERT_TRUE(isOk(weft_model_run(model.get(), inputs, 2, outputs, 1)));
  uintptr_t arena = gLastArena.load();
  for (int iter = 0; iter < 50; ++iter) {
    a[0] = static_cast<float>(iter);
    ASSERT_TRUE(isOk(weft_model_run(model.get(), inputs, 2, outputs, 1)));
    ASSERT_EQ(y[0], 2.0f * (a[0] + b[0]));
    ASSERT_EQ(gLastArena.load(), arena);
  }
}

TEST_F(AddFixture, NullModel) {
  Captured c = capture(weft_model_run(nullptr, inputs, 2, outputs, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("model is NULL"), std::string::npos) << c.message;
  EXPECT_EQ(weft_model_get_info(nullptr), nullptr);
  weft_model_destroy(nullptr);
}

TEST_F(AddFixture, WrongInputCount) {
  int callsBefore = gEntryCalls.load();
  Captured c = capture(weft_model_run(model.get(), inputs, 1, outputs, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("expected 2 inputs but got 1"), std::string::npos)
      << c.message;
  EXPECT_EQ(gEntryCalls.load(), callsBefore);
}

TEST_F(AddFixture, WrongOutputCount) {
  Captured c = capture(weft_model_run(model.get(), inputs, 2, outputs, 0));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("expected 1 outputs but got 0"), std::string::npos)
      << c.message;
}

TEST_F(AddFixture, NullViewArrays) {
  Captured in = capture(weft_model_run(model.get(), nullptr, 2, outputs, 1));
  EXPECT_EQ(in.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(in.message.find("input"), std::string::npos) << in.message;
  Captured out = capture(weft_model_run(model.get(), inputs, 2, nullptr, 1));
  EXPECT_EQ(out.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(out.message.find("output"), std::string::npos) << out.message;
}

TEST_F(AddFixture, NullInputData) {
  inputs[1].data = nullptr;
  EXPECT_EQ(runExpectingError(), "input 'b': data pointer is NULL");
}

TEST_F(AddFixture, NullOutputData) {
  outputs[0].data = nullptr;
  EXPECT_EQ(runExpectingError(), "output 'y': data pointer is NULL");
}

TEST_F(AddFixture, WrongDtype) {
  inputs[0].dtype = WEFT_DTYPE_I64;
  EXPECT_EQ(runExpectingError(), "input 'a': expected dtype f32 but got i64");
}

TEST_F(AddFixture, UnknownDtypeIsNamedWithItsNumber) {
  outputs[0].dtype = static_cast<weft_dtype_t>(99);
  EXPECT_EQ(runExpectingError(),
            "output 'y': expected dtype f32 but got unknown (99)");
}

TEST_F(AddFixture, WrongRank) {
  inputs[1] = makeView(b.data(), WEFT_DTYPE_F32, {kRows, kCols, 1});
  EXPECT_EQ(runExpectingError(), "input 'b': expected rank 2 but got rank 3 "
                                 "(expected shape [4,16] but got [4,16,1])");
}

TEST_F(AddFixture, OutOfRangeRank) {
  inputs[0].rank = WEFT_MAX_RANK + 1;
  EXPECT_EQ(runExpectingError(),
            "input 'a': expected rank 2 (shape [4,16]) but got rank 9");
}

TEST_F(AddFixture, WrongDimension) {
  inputs[0].shape[1] = kCols + 1;
  EXPECT_EQ(runExpectingError(),
            "input 'a': expected shape [4,16] but got [4,17]");
  inputs[0].shape[1] = kCols;
  outputs[0].shape[0] = 1;
  EXPECT_EQ(runExpectingError(),
            "output 'y': expected shape [4,16] but got [1,16]");
}

TEST_F(AddFixture, SameElementCountButDifferentShape) {
  inputs[0] = makeView(a.data(), WEFT_DTYPE_F32, {kCols, kRows});
  EXPECT_EQ(runExpectingError(),
            "input 'a': expected shape [4,16] but got [16,4]");
}

TEST_F(AddFixture, ConcurrentRunOnOneInstanceIsRefused) {
  // The entry of a second model blocks until released, so a second run on
  // the same instance is guaranteed to overlap it.
  static std::atomic<bool> started{false}, release{false};
  started = false;
  release = false;
  weft_model_info_t blocking = addModelInfo();
  blocking.entry = [](weft_device_t *, void *, void *const *,
                      void *const *) -> weft_status_t {
    started = true;
    while (!release)
      std::this_thread::yield();
    return nullptr;
  };
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&blocking, device.get(), nullptr, &raw)));
  ModelPtr blocked(raw);
  std::thread runner([&] {
    EXPECT_TRUE(isOk(weft_model_run(blocked.get(), inputs, 2, outputs, 1)));
  });
  while (!started)
    std::this_thread::yield();
  Captured c = capture(weft_model_run(blocked.get(), inputs, 2, outputs, 1));
  release = true;
  runner.join();
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("already running"), std::string::npos) << c.message;
  // Once the first run is over the instance is usable again.
  EXPECT_TRUE(isOk(weft_model_run(blocked.get(), inputs, 2, outputs, 1)));
}

TEST(Model, MnistShapedMessages) {
  DevicePtr device = makeCpuDevice(1);
  const int64_t shape[] = {1, 784};
  const int64_t outShape[] = {1, 10};
  const weft_tensor_info_t in[] = {{"x", WEFT_DTYPE_F32, 2, shape}};
  const weft_tensor_info_t out[] = {{"y", WEFT_DTYPE_F32, 2, outShape}};
  weft_model_info_t info = addModelInfo();
  info.name = "mnist";
  info.num_inputs = 1;
  info.inputs = in;
  info.outputs = out;
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
  ModelPtr model(raw);
  std::vector<float> x(2 * 784), y(10);
  weft_tensor_view_t xv = makeView(x.data(), WEFT_DTYPE_F32, {2, 784});
  weft_tensor_view_t yv = makeView(y.data(), WEFT_DTYPE_F32, {1, 10});
  Captured shapeError = capture(weft_model_run(model.get(), &xv, 1, &yv, 1));
  EXPECT_EQ(shapeError.message,
            "input 'x': expected shape [1,784] but got [2,784]");
  xv = makeView(x.data(), WEFT_DTYPE_I64, {1, 784});
  Captured dtypeError = capture(weft_model_run(model.get(), &xv, 1, &yv, 1));
  EXPECT_EQ(dtypeError.message, "input 'x': expected dtype f32 but got i64");
}

// An input compiled for one value (weftc --input-value): equal bytes run,
// any other value is refused before the entry runs.
TEST(Model, InputCompiledForOneValueRefusesOthers) {
  DevicePtr device = makeCpuDevice(1);
  std::vector<float> fixed(kRows * kCols, 0.5f);
  weft_tensor_info_t in[] = {kInputs[0], kInputs[1]};
  in[1].value = fixed.data();
  weft_model_info_t info = addModelInfo();
  info.inputs = in;
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
  ModelPtr model(raw);
  std::vector<float> a(kRows * kCols, 1.0f), b = fixed, y(kRows * kCols);
  weft_tensor_view_t inputs[] = {makeView(a.data(), WEFT_DTYPE_F32, {kRows, kCols}),
                                 makeView(b.data(), WEFT_DTYPE_F32, {kRows, kCols})};
  weft_tensor_view_t outputs[] = {makeView(y.data(), WEFT_DTYPE_F32, {kRows, kCols})};
  EXPECT_TRUE(isOk(weft_model_run(model.get(), inputs, 2, outputs, 1)));
  EXPECT_EQ(y[0], 3.0f);
  b[kRows * kCols - 1] = 0.25f;
  int callsBefore = gEntryCalls.load();
  Captured c = capture(weft_model_run(model.get(), inputs, 2, outputs, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(c.message, "input 'b': the model was compiled for one value of this input "
                       "(weftc --input-value) and was given another; compile again for "
                       "other values");
  EXPECT_EQ(gEntryCalls.load(), callsBefore);
}

namespace {
weft_status_t failingEntry(weft_device_t *, void *, void *const *,
                           void *const *) {
  return weft_status_create(WEFT_INTERNAL, "kernel %d failed", 3);
}
weft_status_t noOpEntry(weft_device_t *, void *, void *const *,
                        void *const *) {
  gEntryCalls.fetch_add(1);
  return nullptr;
}
} // namespace

TEST(Model, EntryStatusIsReturned) {
  DevicePtr device = makeCpuDevice(2);
  weft_model_info_t info = addModelInfo();
  info.entry = failingEntry;
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
  ModelPtr model(raw);
  std::vector<float> a(kRows * kCols), b(kRows * kCols), y(kRows * kCols);
  weft_tensor_view_t in[] = {makeView(a.data(), WEFT_DTYPE_F32, {kRows, kCols}),
                             makeView(b.data(), WEFT_DTYPE_F32, {kRows, kCols})};
  weft_tensor_view_t out = makeView(y.data(), WEFT_DTYPE_F32, {kRows, kCols});
  Captured c = capture(weft_model_run(model.get(), in, 2, &out, 1));
  EXPECT_EQ(c.code, WEFT_INTERNAL);
  EXPECT_EQ(c.message, "kernel 3 failed");
}

TEST(Model, UnnamedTensorsAreNumbered) {
  DevicePtr device = makeCpuDevice(1);
  const int64_t shape[] = {3};
  const weft_tensor_info_t in[] = {{"p", WEFT_DTYPE_I32, 1, shape},
                                   {nullptr, WEFT_DTYPE_I32, 1, shape}};
  weft_model_info_t info = addModelInfo();
  info.inputs = in;
  info.num_outputs = 0;
  info.outputs = nullptr;
  info.entry = noOpEntry;
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
  ModelPtr model(raw);
  int32_t data[3] = {};
  weft_tensor_view_t views[] = {makeView(data, WEFT_DTYPE_I32, {3}),
                                makeView(data, WEFT_DTYPE_I32, {4})};
  Captured c = capture(weft_model_run(model.get(), views, 2, nullptr, 0));
  EXPECT_EQ(c.message, "input #1: expected shape [3] but got [4]");
}

TEST(Model, ScalarsAndEmptyTensors) {
  DevicePtr device = makeCpuDevice(1);
  const int64_t emptyShape[] = {0, 5};
  const weft_tensor_info_t in[] = {{"s", WEFT_DTYPE_F64, 0, nullptr},
                                   {"e", WEFT_DTYPE_U8, 2, emptyShape}};
  weft_model_info_t info = addModelInfo();
  info.inputs = in;
  info.num_outputs = 0;
  info.outputs = nullptr;
  info.arena_size = 0;
  info.entry = noOpEntry;
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
  ModelPtr model(raw);
  double scalar = 1.5;
  // An empty tensor has no bytes, so NULL data is accepted for it.
  weft_tensor_view_t views[] = {makeView(&scalar, WEFT_DTYPE_F64, {}),
                                makeView(nullptr, WEFT_DTYPE_U8, {0, 5})};
  int callsBefore = gEntryCalls.load();
  EXPECT_TRUE(isOk(weft_model_run(model.get(), views, 2, nullptr, 0)));
  EXPECT_EQ(gEntryCalls.load(), callsBefore + 1);
  views[0].data = nullptr;
  Captured c = capture(weft_model_run(model.get(), views, 2, nullptr, 0));
  EXPECT_EQ(c.message, "input 's': data pointer is NULL");
  views[0] = makeView(&scalar, WEFT_DTYPE_F64, {1});
  Captured r = capture(weft_model_run(model.get(), views, 2, nullptr, 0));
  EXPECT_EQ(r.message, "input 's': expected rank 0 but got rank 1 "
                       "(expected shape [] but got [1])");
}

TEST(Model, ArenaAlignmentDefaultsTo64AndIsHonoured) {
  DevicePtr device = makeCpuDevice(1);
  std::vector<float> a(kRows * kCols), b(kRows * kCols), y(kRows * kCols);
  weft_tensor_view_t in[] = {makeView(a.data(), WEFT_DTYPE_F32, {kRows, kCols}),
                             makeView(b.data(), WEFT_DTYPE_F32, {kRows, kCols})};
  weft_tensor_view_t out = makeView(y.data(), WEFT_DTYPE_F32, {kRows, kCols});
  for (uint64_t alignment : {uint64_t(0), uint64_t(64), uint64_t(4096)}) {
    weft_model_info_t info = addModelInfo();
    info.arena_alignment = alignment;
    weft_model_t *raw = nullptr;
    ASSERT_TRUE(isOk(weft_model_create(&info, device.get(), nullptr, &raw)));
    ModelPtr model(raw);
    ASSERT_TRUE(isOk(weft_model_run(model.get(), in, 2, &out, 1)));
    EXPECT_EQ(gLastArena.load() % (alignment ? alignment : 64), 0u)
        << alignment;
  }
}

TEST(Model, UsesTheGivenAllocatorAndRunDoesNotAllocate) {
  DevicePtr device = makeCpuDevice(2);
  CountingAllocator counting;
  weft_model_info_t info = addModelInfo();
  weft_model_t *raw = nullptr;
  ASSERT_TRUE(
      isOk(weft_model_create(&info, device.get(), &counting.allocator, &raw)));
  int allocsAfterCreate = counting.allocs.load();
  EXPECT_GE(allocsAfterCreate, 1);
  std::vector<float> a(kRows * kCols, 1.0f), b(kRows * kCols, 2.0f),
      y(kRows * kCols);
  weft_tensor_view_t in[] = {makeView(a.data(), WEFT_DTYPE_F32, {kRows, kCols}),
                             makeView(b.data(), WEFT_DTYPE_F32, {kRows, kCols})};
  weft_tensor_view_t out = makeView(y.data(), WEFT_DTYPE_F32, {kRows, kCols});
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(isOk(weft_model_run(raw, in, 2, &out, 1)));
  EXPECT_EQ(y[5], 6.0f);
  EXPECT_EQ(counting.allocs.load(), allocsAfterCreate);
  EXPECT_EQ(counting.frees.load(), 0);
  weft_model_destroy(raw);
  EXPECT_EQ(counting.allocs.load(), counting.frees.load());
}

TEST(Model, CreateRejectsBadArguments) {
  DevicePtr device = makeCpuDevice(1);
  weft_model_t *model = nullptr;

  auto expectInvalid = [&](const weft_model_info_t *info, weft_device_t *dev,
                           const char *needle) {
    model = reinterpret_cast<weft_model_t *>(0x1);
    Captured c = capture(weft_model_create(info, dev, nullptr, &model));
    EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT) << needle;
    EXPECT_NE(c.message.find(needle), std::string::npos)
        << "'" << c.message << "' should mention '" << needle << "'";
    EXPECT_EQ(model, nullptr);
  };

  weft_model_info_t info = addModelInfo();
  expectInvalid(nullptr, device.get(), "info is NULL");
  expectInvalid(&info, nullptr, "device is NULL");

  weft_model_info_t wrongAbi = addModelInfo();
  wrongAbi.abi_version = WEFT_MODEL_ABI_VERSION + 1;
  const std::string newer =
      "ABI version " + std::to_string(WEFT_MODEL_ABI_VERSION + 1);
  expectInvalid(&wrongAbi, device.get(), newer.c_str());

  weft_model_info_t noEntry = addModelInfo();
  noEntry.entry = nullptr;
  expectInvalid(&noEntry, device.get(), "no entry");

  weft_model_info_t badAlignment = addModelInfo();
  badAlignment.arena_alignment = 48;
  expectInvalid(&badAlignment, device.get(), "power of two");

  std::vector<weft_tensor_info_t> many(65, kInputs[0]);
  weft_model_info_t tooMany = addModelInfo();
  tooMany.num_inputs = 65;
  tooMany.inputs = many.data();
  expectInvalid(&tooMany, device.get(), "65 inputs");
  tooMany.num_inputs = 64; // the limit itself is fine
  ASSERT_TRUE(isOk(weft_model_create(&tooMany, device.get(), nullptr, &model)));
  weft_model_destroy(model);

  weft_model_info_t negative = addModelInfo();
  negative.num_outputs = -1;
  expectInvalid(&negative, device.get(), "-1 outputs");

  weft_model_info_t missingDescs = addModelInfo();
  missingDescs.outputs = nullptr;
  expectInvalid(&missingDescs, device.get(), "output");

  const int64_t bigShape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  const weft_tensor_info_t deep[] = {{"deep", WEFT_DTYPE_F32, 9, bigShape}};
  weft_model_info_t tooDeep = addModelInfo();
  tooDeep.num_inputs = 1;
  tooDeep.inputs = deep;
  expectInvalid(&tooDeep, device.get(), "input 'deep' has rank 9");

  const weft_tensor_info_t badType[] = {
      {"s", static_cast<weft_dtype_t>(8), 2, kShape}};
  weft_model_info_t stringInput = addModelInfo();
  stringInput.num_inputs = 1;
  stringInput.inputs = badType;
  expectInvalid(&stringInput, device.get(), "unknown dtype 8");

  Captured noOut =
      capture(weft_model_create(&info, device.get(), nullptr, nullptr));
  EXPECT_EQ(noOut.code, WEFT_INVALID_ARGUMENT);
}

TEST(Model, CreateReportsAllocationFailureWithoutLeaks) {
  DevicePtr device = makeCpuDevice(1);
  weft_model_info_t info = addModelInfo();
  for (int allowed : {0, 1, 2}) {
    CountingAllocator failing;
    failing.allowed = allowed;
    weft_model_t *model = nullptr;
    Captured c = capture(
        weft_model_create(&info, device.get(), &failing.allocator, &model));
    EXPECT_EQ(c.code, WEFT_OUT_OF_MEMORY) << "allowed " << allowed;
    EXPECT_EQ(model, nullptr);
    EXPECT_EQ(failing.allocs.load(), failing.frees.load());
  }
}

// Outputs that share bytes with an input, another output or the arena are
// refused before the entry runs: compiled code would read what it has
// already overwritten (an in-place transpose came out half wrong).
TEST_F(AddFixture, OutputAliasingAnInputIsRefused) {
  outputs[0] = makeView(a.data(), WEFT_DTYPE_F32, {kRows, kCols});
  int callsBefore = gEntryCalls.load();
  Captured c = capture(weft_model_run(model.get(), inputs, 2, outputs, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(c.message, "output 'y' overlaps input 'a': outputs must not share "
                       "memory with inputs (in-place runs are not supported)");
  EXPECT_EQ(gEntryCalls.load(), callsBefore);
}

TEST_F(AddFixture, PartialOverlapIsRefused) {
  // The output starts at the last element of input 'b'.
  std::vector<float> big(2 * kRows * kCols, 0.0f);
  inputs[1] = makeView(big.data(), WEFT_DTYPE_F32, {kRows, kCols});
  outputs[0] = makeView(big.data() + kRows * kCols - 1, WEFT_DTYPE_F32, {kRows, kCols});
  Captured c = capture(weft_model_run(model.get(), inputs, 2, outputs, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_NE(c.message.find("overlaps input 'b'"), std::string::npos) << c.message;
}

TEST_F(AddFixture, AdjacentBuffersAndSharedInputsAreFine) {
  std::vector<float> big(2 * kRows * kCols);
  for (int64_t i = 0; i < kRows * kCols; ++i)
    big[i] = static_cast<float>(i);
  // Both inputs read the same bytes; the output starts right after them.
  inputs[0] = makeView(big.data(), WEFT_DTYPE_F32, {kRows, kCols});
  inputs[1] = makeView(big.data(), WEFT_DTYPE_F32, {kRows, kCols});
  outputs[0] = makeView(big.data() + kRows * kCols, WEFT_DTYPE_F32, {kRows, kCols});
  ASSERT_TRUE(isOk(weft_model_run(model.get(), inputs, 2, outputs, 1)));
  for (int64_t i = 0; i < kRows * kCols; ++i)
    ASSERT_EQ(big[kRows * kCols + i], 4.0f * static_cast<float>(i)) << i;
}

TEST_F(AddFixture, OutputInsideTheArenaIsRefused) {
  ASSERT_TRUE(isOk(weft_model_run(model.get(), inputs, 2, outputs, 1)));
  void *arena = reinterpret_cast<void *>(gLastArena.load());
  outputs[0] = makeView(arena, WEFT_DTYPE_F32, {kRows, kCols});
  Captured c = capture(weft_model_run(model.get(), inputs, 2, outputs, 1));
  EXPECT_EQ(c.code, WEFT_INVALID_ARGUMENT);
  EXPECT_EQ(c.message, "output 'y' overlaps the model's arena");
}
