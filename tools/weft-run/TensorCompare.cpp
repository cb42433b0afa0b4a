//===- TensorCompare.cpp - Compare a model output with a reference --------===//
//
// Elements are compared in double so that the tolerance test itself adds no
// rounding to f32 results. The first differing element is reported, because
// that is the one a compiler engineer looks at first when a tiling boundary
// or a broadcast goes wrong, together with how many elements differ in all.
//
//===----------------------------------------------------------------------===//

#include "TensorCompare.h"

#include "llvm/ADT/APFloat.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace weft;

float weft::halfToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t result;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f)
    result = sign | 0x7f800000u | (mantissa << 13);
  else
    result = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

float weft::bfloat16ToFloat(uint16_t bits) {
  uint32_t result = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

template <typename T>
static T load(const HostTensor &tensor, int64_t index) {
  T value;
  std::memcpy(&value, static_cast<const char *>(tensor.data()) +
                          index * static_cast<int64_t>(sizeof(T)),
              sizeof(T));
  return value;
}

/// The semantics of an 8-bit float dtype; null for the others.
static const llvm::fltSemantics *float8Semantics(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F8E4M3FN:
    return &llvm::APFloat::Float8E4M3FN();
  case WEFT_DTYPE_F8E4M3FNUZ:
    return &llvm::APFloat::Float8E4M3FNUZ();
  case WEFT_DTYPE_F8E5M2:
    return &llvm::APFloat::Float8E5M2();
  case WEFT_DTYPE_F8E5M2FNUZ:
    return &llvm::APFloat::Float8E5M2FNUZ();
  default:
    return nullptr;
  }
}

static bool isFloating(weft_dtype_t dtype) {
  return dtype == WEFT_DTYPE_F32 || dtype == WEFT_DTYPE_F64 ||
         dtype == WEFT_DTYPE_F16 || dtype == WEFT_DTYPE_BF16 || float8Semantics(dtype);
}

static double loadFloating(const HostTensor &tensor, int64_t index) {
  switch (tensor.dtype()) {
  case WEFT_DTYPE_F32:
    return load<float>(tensor, index);
  case WEFT_DTYPE_F64:
    return load<double>(tensor, index);
  case WEFT_DTYPE_F16:
    return halfToFloat(load<uint16_t>(tensor, index));
  case WEFT_DTYPE_BF16:
    return bfloat16ToFloat(load<uint16_t>(tensor, index));
  default:
    if (const llvm::fltSemantics *sem = float8Semantics(tensor.dtype()))
      return llvm::APFloat(*sem, llvm::APInt(8, load<uint8_t>(tensor, index)))
          .convertToDouble();
    return 0.0;
  }
}

/// The shortest %g text that reads back as the same value of the element
/// type (so 2.304f prints as "2.304", not "2.30399990").
static std::string formatFloating(double value, bool isDouble) {
  if (std::isnan(value))
    return "nan"; // The sign and payload of a NaN mean nothing here.
  char buffer[32];
  for (int precision = isDouble ? 15 : 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    double parsed = std::strtod(buffer, nullptr);
    if (isDouble ? parsed == value
                 : static_cast<float>(parsed) == static_cast<float>(value))
      break;
  }
  return buffer;
}

/// One element as text: integers exactly, floats with enough digits to tell
/// neighbouring values of their type apart.
static std::string formatElement(const HostTensor &tensor, int64_t index) {
  std::string text;
  llvm::raw_string_ostream os(text);
  switch (tensor.dtype()) {
  case WEFT_DTYPE_F64:
    os << formatFloating(loadFloating(tensor, index), /*isDouble=*/true);
    break;
  case WEFT_DTYPE_F32:
  case WEFT_DTYPE_F16:
  case WEFT_DTYPE_BF16:
  case WEFT_DTYPE_F8E4M3FN:
  case WEFT_DTYPE_F8E4M3FNUZ:
  case WEFT_DTYPE_F8E5M2:
  case WEFT_DTYPE_F8E5M2FNUZ:
    // f16, bf16 and f8 values are exact in float, so float round-trip
    // suffices.
    os << formatFloating(loadFloating(tensor, index), /*isDouble=*/false);
    break;
  case WEFT_DTYPE_I8:
    os << static_cast<int>(load<int8_t>(tensor, index));
    break;
  case WEFT_DTYPE_U8:
  case WEFT_DTYPE_BOOL:
    os << static_cast<unsigned>(load<uint8_t>(tensor, index));
    break;
  case WEFT_DTYPE_I16:
    os << load<int16_t>(tensor, index);
    break;
  case WEFT_DTYPE_U16:
    os << load<uint16_t>(tensor, index);
    break;
  case WEFT_DTYPE_I32:
    os << load<int32_t>(tensor, index);
    break;
  case WEFT_DTYPE_U32:
    os << load<uint32_t>(tensor, index);
    break;
  case WEFT_DTYPE_I64:
    os << load<int64_t>(tensor, index);
    break;
  case WEFT_DTYPE_U64:
    os << load<uint64_t>(tensor, index);
    break;
  default:
    os << "?";
    break;
  }
  return text;
}

static bool floatingMatches(double got, double expected, double rtol,
                            double atol, double &maxAbsError) {
  if (std::isnan(expected))
    return std::isnan(got);
  if (std::isinf(expected))
    return got == expected;
  if (!std::isfinite(got))
    return false;
  double error = std::fabs(got - expected);
  if (error > atol + rtol * std::fabs(expected))
    return false;
  maxAbsError = std::max(maxAbsError, error);
  return true;
}

CompareResult weft::compareTensors(const HostTensor &got,
                                   const HostTensor &expected, double rtol,
                                   double atol) {
  CompareResult result;
  if (got.dtype() != expected.dtype()) {
    result.detail = std::string("expected dtype ") +
                    weft_dtype_name(expected.dtype()) + " but got " +
                    weft_dtype_name(got.dtype());
    return result;
  }
  if (got.shape() != expected.shape()) {
    result.detail = "expected shape " + formatShape(expected.shape()) +
                    " but got " + formatShape(got.shape());
    return result;
  }

  bool floating = isFloating(got.dtype());
  size_t elementSize = weft_dtype_size(got.dtype());
  const auto *gotBytes = static_cast<const char *>(got.data());
  const auto *expectedBytes = static_cast<const char *>(expected.data());
  int64_t numElements = got.numElements();
  int64_t numDiffering = 0;
  int64_t firstDiffering = -1;
  for (int64_t i = 0; i < numElements; ++i) {
    bool matches =
        floating
            ? floatingMatches(loadFloating(got, i), loadFloating(expected, i),
                              rtol, atol, result.maxAbsError)
            : std::memcmp(gotBytes + i * elementSize,
                          expectedBytes + i * elementSize, elementSize) == 0;
    if (matches)
      continue;
    if (numDiffering++ == 0)
      firstDiffering = i;
  }
  if (numDiffering == 0) {
    result.ok = true;
    return result;
  }
  result.valuesDiffer = true;
  result.detail = "at index " + std::to_string(firstDiffering) + ": got " +
                  formatElement(got, firstDiffering) + " expected " +
                  formatElement(expected, firstDiffering) + " (" +
                  std::to_string(numDiffering) + " of " +
                  std::to_string(numElements) + " elements differ)";
  return result;
}
