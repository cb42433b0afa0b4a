//===- Calibrate.h - weftc --calibrate ---------------------------*- C++ -*-===//
#ifndef WEFT_TOOLS_WEFTC_CALIBRATE_H
#define WEFT_TOOLS_WEFTC_CALIBRATE_H

#include "compiler/Compiler.h"

namespace weft {

/// Measures this machine's cost model rates (one thread of one CPU device;
/// the in-process device group's collectives) by compiling and timing small
/// models with `base`'s target options, and writes them to `outputPath`
/// for weftc --cost-model. Returns the process exit code.
int runCalibration(mlir::MLIRContext &context, const CompileOptions &base,
                   llvm::StringRef outputPath);

} // namespace weft

#endif // WEFT_TOOLS_WEFTC_CALIBRATE_H
