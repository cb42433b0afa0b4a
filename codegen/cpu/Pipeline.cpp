//===- Pipeline.cpp - the CPU codegen pipeline ---------------------------===//
//
// One place that orders the CPU backend: outline, tile into workgroups,
// bufferize, distribute, vectorize, build the host, lower to LLVM.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace weft;

void cpu::buildCpuCodegenPipeline(OpPassManager &pm, const CpuPipelineOptions &o) {
  // Only numbers are formatted into the textual pipelines; the model name is
  // user input and goes to its pass as an option value, never as text that
  // the pipeline parser would read.
  std::string front = llvm::formatv(
      "weft-cpu-outline-dispatches,canonicalize,cse,"
      "func.func(weft-cpu-tile-workgroups{{target-workgroups={0} vector-width={1}}),"
      "func.func(weft-cpu-tile-contractions{{vector-width={1}}),"
      "canonicalize,cse,weft-cpu-bufferize,cse,canonicalize,"
      "func.func(weft-cpu-distribute-workgroups),canonicalize,cse,"
      "func.func(weft-cpu-tile-and-vectorize{{vector-width={1}}),"
      "func.func(weft-cpu-plan-scratch)",
      o.targetWorkgroups, o.vectorWidth);
  // Per-function lowering runs on all threads; only what needs the module
  // (memref globals, libm declarations, function signatures) runs on it.
  std::string back =
      "func.func(convert-linalg-to-loops,canonicalize,cse,"
      "lower-vector-multi-reduction,expand-strided-metadata,"
      "convert-vector-to-scf{full-unroll=true},lower-affine,convert-scf-to-cf,canonicalize,"
      "convert-vector-to-llvm{vector-contract-lowering=outerproduct},"
      "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm),"
      "finalize-memref-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
      "convert-func-to-llvm,"
      "convert-cf-to-llvm,convert-ub-to-llvm,reconcile-unrealized-casts,"
      "canonicalize,cse";
  if (failed(parsePassPipeline(front, pm, llvm::errs())))
    llvm::errs() << "internal error: cannot parse the CPU pipeline\n";
  BuildHostOptions hostOptions;
  hostOptions.modelName = o.modelName;
  pm.addPass(createBuildHost(hostOptions));
  if (failed(parsePassPipeline(back, pm, llvm::errs())))
    llvm::errs() << "internal error: cannot parse the CPU pipeline\n";
}

void cpu::registerCpuPipelines() {
  PassPipelineRegistration<>(
      "weft-cpu-codegen", "Dispatch bodies in linalg -> LLVM dialect for the CPU",
      [](OpPassManager &pm) { buildCpuCodegenPipeline(pm, CpuPipelineOptions()); });
}
