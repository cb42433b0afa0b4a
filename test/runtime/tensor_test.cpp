// Tests for dtype sizes/names and tensor view size arithmetic.
#include "test_util.h"

#include <cstdint>
#include <string>

namespace {
struct DtypeCase {
  weft_dtype_t dtype;
  size_t size;
  const char *name;
};
} // namespace

TEST(Dtype, SizesAndNamesOfEveryValue) {
  const DtypeCase cases[] = {
      {WEFT_DTYPE_F32, 4, "f32"},  {WEFT_DTYPE_U8, 1, "u8"},
      {WEFT_DTYPE_I8, 1, "i8"},    {WEFT_DTYPE_U16, 2, "u16"},
      {WEFT_DTYPE_I16, 2, "i16"},  {WEFT_DTYPE_I32, 4, "i32"},
      {WEFT_DTYPE_I64, 8, "i64"},  {WEFT_DTYPE_BOOL, 1, "bool"},
      {WEFT_DTYPE_F16, 2, "f16"},  {WEFT_DTYPE_F64, 8, "f64"},
      {WEFT_DTYPE_U32, 4, "u32"},  {WEFT_DTYPE_U64, 8, "u64"},
      {WEFT_DTYPE_BF16, 2, "bf16"},
      {WEFT_DTYPE_F8E4M3FN, 1, "f8e4m3fn"},
      {WEFT_DTYPE_F8E4M3FNUZ, 1, "f8e4m3fnuz"},
      {WEFT_DTYPE_F8E5M2, 1, "f8e5m2"},
      {WEFT_DTYPE_F8E5M2FNUZ, 1, "f8e5m2fnuz"},
  };
  for (const DtypeCase &c : cases) {
    EXPECT_EQ(weft_dtype_size(c.dtype), c.size) << c.name;
    EXPECT_STREQ(weft_dtype_name(c.dtype), c.name);
  }
}

TEST(Dtype, UnknownValues) {
  EXPECT_EQ(weft_dtype_size(WEFT_DTYPE_INVALID), 0u);
  EXPECT_STREQ(weft_dtype_name(WEFT_DTYPE_INVALID), "invalid");
  // 8 is ONNX STRING, which the runtime does not handle; 99 is nothing.
  for (int raw : {8, 14, 15, 99, -1}) {
    weft_dtype_t dtype = static_cast<weft_dtype_t>(raw);
    EXPECT_EQ(weft_dtype_size(dtype), 0u) << raw;
    EXPECT_STREQ(weft_dtype_name(dtype), "unknown") << raw;
  }
}

static weft_tensor_view_t view(weft_dtype_t dtype,
                               std::initializer_list<int64_t> shape) {
  weft_tensor_view_t v = {};
  v.dtype = dtype;
  v.rank = static_cast<int32_t>(shape.size());
  int i = 0;
  for (int64_t d : shape)
    v.shape[i++] = d;
  return v;
}

TEST(TensorView, ElementCountsAndByteSizes) {
  weft_tensor_view_t scalar = view(WEFT_DTYPE_F64, {});
  EXPECT_EQ(weft_tensor_view_num_elements(&scalar), 1);
  EXPECT_EQ(weft_tensor_view_byte_size(&scalar), 8u);

  weft_tensor_view_t t = view(WEFT_DTYPE_F32, {2, 3, 4});
  EXPECT_EQ(weft_tensor_view_num_elements(&t), 24);
  EXPECT_EQ(weft_tensor_view_byte_size(&t), 96u);

  weft_tensor_view_t b = view(WEFT_DTYPE_BF16, {1, 784});
  EXPECT_EQ(weft_tensor_view_byte_size(&b), 1568u);

  weft_tensor_view_t full = view(WEFT_DTYPE_U8, {1, 2, 1, 2, 1, 2, 1, 2});
  EXPECT_EQ(weft_tensor_view_num_elements(&full), 16);

  weft_tensor_view_t empty = view(WEFT_DTYPE_I64, {3, 0, 5});
  EXPECT_EQ(weft_tensor_view_num_elements(&empty), 0);
  EXPECT_EQ(weft_tensor_view_byte_size(&empty), 0u);
}

TEST(TensorView, InvalidViews) {
  EXPECT_EQ(weft_tensor_view_num_elements(nullptr), -1);
  EXPECT_EQ(weft_tensor_view_byte_size(nullptr), 0u);

  weft_tensor_view_t negative = view(WEFT_DTYPE_F32, {2, -1});
  EXPECT_EQ(weft_tensor_view_num_elements(&negative), -1);
  EXPECT_EQ(weft_tensor_view_byte_size(&negative), 0u);

  weft_tensor_view_t bad_rank = view(WEFT_DTYPE_F32, {1});
  bad_rank.rank = WEFT_MAX_RANK + 1;
  EXPECT_EQ(weft_tensor_view_num_elements(&bad_rank), -1);
  bad_rank.rank = -1;
  EXPECT_EQ(weft_tensor_view_num_elements(&bad_rank), -1);

  weft_tensor_view_t overflow =
      view(WEFT_DTYPE_F32, {INT64_C(1) << 40, INT64_C(1) << 40});
  EXPECT_EQ(weft_tensor_view_num_elements(&overflow), -1);

  // Fits in int64 elements but not in size_t bytes.
  weft_tensor_view_t too_many_bytes =
      view(WEFT_DTYPE_F64, {INT64_C(1) << 31, INT64_C(1) << 31});
  EXPECT_EQ(weft_tensor_view_num_elements(&too_many_bytes), INT64_C(1) << 62);
  EXPECT_EQ(weft_tensor_view_byte_size(&too_many_bytes), 0u);

  weft_tensor_view_t unknown = view(static_cast<weft_dtype_t>(99), {4});
  EXPECT_EQ(weft_tensor_view_num_elements(&unknown), 4);
  EXPECT_EQ(weft_tensor_view_byte_size(&unknown), 0u);
}
