/* Element types and tensor views: sizes and names of the dtypes (whose values
 * mirror ONNX TensorProto.DataType) and the size arithmetic of dense views. */
#include "internal.h"

#include <stdint.h>

size_t weft_dtype_size(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_U8:
  case WEFT_DTYPE_I8:
  case WEFT_DTYPE_BOOL:
  case WEFT_DTYPE_F8E4M3FN:
  case WEFT_DTYPE_F8E4M3FNUZ:
  case WEFT_DTYPE_F8E5M2:
  case WEFT_DTYPE_F8E5M2FNUZ:
    return 1;
  case WEFT_DTYPE_U16:
  case WEFT_DTYPE_I16:
  case WEFT_DTYPE_F16:
  case WEFT_DTYPE_BF16:
    return 2;
  case WEFT_DTYPE_F32:
  case WEFT_DTYPE_I32:
  case WEFT_DTYPE_U32:
    return 4;
  case WEFT_DTYPE_I64:
  case WEFT_DTYPE_F64:
  case WEFT_DTYPE_U64:
    return 8;
  default:
    return 0;
  }
}

const char *weft_dtype_name(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F32:
    return "f32";
  case WEFT_DTYPE_U8:
    return "u8";
  case WEFT_DTYPE_I8:
    return "i8";
  case WEFT_DTYPE_U16:
    return "u16";
  case WEFT_DTYPE_I16:
    return "i16";
  case WEFT_DTYPE_I32:
    return "i32";
  case WEFT_DTYPE_I64:
    return "i64";
  case WEFT_DTYPE_BOOL:
    return "bool";
  case WEFT_DTYPE_F16:
    return "f16";
  case WEFT_DTYPE_F64:
    return "f64";
  case WEFT_DTYPE_U32:
    return "u32";
  case WEFT_DTYPE_U64:
    return "u64";
  case WEFT_DTYPE_BF16:
    return "bf16";
  case WEFT_DTYPE_F8E4M3FN:
    return "f8e4m3fn";
  case WEFT_DTYPE_F8E4M3FNUZ:
    return "f8e4m3fnuz";
  case WEFT_DTYPE_F8E5M2:
    return "f8e5m2";
  case WEFT_DTYPE_F8E5M2FNUZ:
    return "f8e5m2fnuz";
  case WEFT_DTYPE_INVALID:
    return "invalid";
  default:
    return "unknown";
  }
}

/* -1 flags a view that describes no valid tensor (NULL, bad rank, negative
 * dim, or an element count that overflows int64). Rank 0 is a scalar. */
int64_t weft_tensor_view_num_elements(const weft_tensor_view_t *view) {
  if (!view || view->rank < 0 || view->rank > WEFT_MAX_RANK)
    return -1;
  int64_t count = 1;
  for (int32_t i = 0; i < view->rank; ++i) {
    int64_t dim = view->shape[i];
    if (dim < 0)
      return -1;
    if (dim != 0 && count > INT64_MAX / dim)
      return -1;
    count *= dim;
  }
  return count;
}

/* 0 for an invalid view or an unknown dtype as well as for an empty tensor. */
size_t weft_tensor_view_byte_size(const weft_tensor_view_t *view) {
  int64_t count = weft_tensor_view_num_elements(view);
  if (count <= 0)
    return 0;
  size_t elem = weft_dtype_size(view->dtype);
  if (elem == 0 || (uint64_t)count > SIZE_MAX / elem)
    return 0;
  return (size_t)count * elem;
}
