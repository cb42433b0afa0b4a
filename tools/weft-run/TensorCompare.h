//===- TensorCompare.h - Compare a model output with a reference -*- C++ -*-===//
//
// The check behind `weft-run --compare`: types and shapes must be equal, then
// floating-point elements (f16 and bf16 widened to float first) must satisfy
// |got - expected| <= atol + rtol * |expected|, with NaN matching NaN and an
// infinity matching only the same infinity; integers and bools must be equal.
//
//===----------------------------------------------------------------------===//

#ifndef WEFT_TOOLS_WEFT_RUN_TENSORCOMPARE_H
#define WEFT_TOOLS_WEFT_RUN_TENSORCOMPARE_H

#include "TensorIO.h"

#include <cstdint>
#include <string>

namespace weft {

struct CompareResult {
  bool ok = false;
  /// True when types and shapes agree but some elements differ.
  bool valuesDiffer = false;
  /// Largest |got - expected| over the matching finite elements (0 for
  /// integers and empty tensors).
  double maxAbsError = 0.0;
  /// For a mismatch, what differs, e.g. "at index 17: got 0.5 expected 0.25
  /// (3 of 12 elements differ)" or "expected shape [3,4] but got [4,3]".
  std::string detail;
};

CompareResult compareTensors(const HostTensor &got, const HostTensor &expected,
                             double rtol, double atol);

float halfToFloat(uint16_t bits);
float bfloat16ToFloat(uint16_t bits);

} // namespace weft

#endif // WEFT_TOOLS_WEFT_RUN_TENSORCOMPARE_H
