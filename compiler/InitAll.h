//===- InitAll.h - one registration point for all tools ----------*- C++ -*-===//
//
// Every tool registers dialects, passes and pipelines through these two
// functions so weft-opt and weftc always agree on what exists.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_COMPILER_INITALL_H
#define WEFT_COMPILER_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace weft {
void registerAllDialects(mlir::DialectRegistry &registry);
void registerAllPasses();
} // namespace weft

#endif // WEFT_COMPILER_INITALL_H
