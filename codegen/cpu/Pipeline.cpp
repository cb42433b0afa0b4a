//===- Pipeline.cpp - the CPU codegen pipeline ---------------------------===//
//
// One place that orders the CPU backend: outline, tile into workgroups,
// tile and vectorize contractions, bufferize, distribute, vectorize the
// rest, build the host, lower to LLVM. The pipeline is built from
// CpuPipelineOptions in C++: no option value is formatted into pipeline
// text, so nothing can fail to parse.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace weft;

void cpu::buildCpuCodegenPipeline(OpPassManager &pm, const CpuPipelineOptions &o) {
  auto cleanup = [](OpPassManager &p) {
    p.addPass(createCanonicalizerPass());
    p.addPass(createCSEPass());
  };
  pm.addPass(createOutlineDispatches());
  cleanup(pm);
  TileWorkgroupsOptions workgroups;
  workgroups.targetWorkgroups = o.targetWorkgroups;
  workgroups.vectorWidth = o.vectorWidth;
  workgroups.vectorRegisters = o.vectorRegisters;
  workgroups.l1Bytes = o.l1Bytes;
  workgroups.l1Ways = o.l1Ways;
  pm.addNestedPass<func::FuncOp>(createTileWorkgroups(workgroups));
  TileContractionsOptions contractions;
  contractions.vectorWidth = o.vectorWidth;
  contractions.vectorRegisters = o.vectorRegisters;
  contractions.l1Bytes = o.l1Bytes;
  contractions.l1Ways = o.l1Ways;
  contractions.vnni = o.vnni;
  pm.addNestedPass<func::FuncOp>(createTileContractions(contractions));
  cleanup(pm);
  pm.addPass(createBufferize());
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createDistributeWorkgroups());
  cleanup(pm);
  TileAndVectorizeOptions vectorize;
  vectorize.vectorWidth = o.vectorWidth;
  pm.addNestedPass<func::FuncOp>(createTileAndVectorize(vectorize));
  if (o.prefetchWeights)
    pm.addNestedPass<func::FuncOp>(createPrefetchWeights());
  PlanScratchOptions scratch;
  scratch.alignment = o.alignment;
  pm.addNestedPass<func::FuncOp>(createPlanScratch(scratch));

  BuildHostOptions hostOptions;
  hostOptions.modelName = o.modelName;
  hostOptions.alignment = o.alignment;
  pm.addPass(createBuildHost(hostOptions));

  buildLowerToLLVMPipeline(pm);
}

void cpu::buildLowerToLLVMPipeline(OpPassManager &pm) {
  auto cleanup = [](OpPassManager &p) {
    p.addPass(createCanonicalizerPass());
    p.addPass(createCSEPass());
  };
  // Per-function lowering runs on all threads; only what needs the module
  // (memref globals, libm declarations, function signatures) runs on it.
  OpPassManager &fn = pm.nest<func::FuncOp>();
  fn.addPass(createConvertLinalgToLoopsPass());
  cleanup(fn);
  fn.addPass(vector::createLowerVectorMultiReductionPass());
  fn.addPass(memref::createExpandStridedMetadataPass());
  fn.addPass(createConvertVectorToSCFPass(VectorTransferToSCFOptions().enableFullUnroll()));
  fn.addPass(createLowerAffinePass());
  fn.addPass(createSCFToControlFlowPass());
  fn.addPass(createCanonicalizerPass());
  fn.addPass(createExpandBF16());
  ConvertVectorToLLVMPassOptions toLLVM;
  toLLVM.vectorContractLowering = vector::VectorContractLowering::OuterProduct;
  fn.addPass(createConvertVectorToLLVMPass(toLLVM));
  fn.addPass(createConvertMathToLLVMPass());
  fn.addPass(createArithToLLVMConversionPass());
  fn.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLibmPass());
  // A vector math op without an LLVM intrinsic (erf of a GPU thread's
  // vector, under --target=cuda-on-cpu) becomes libm calls on its
  // extracted elements: those extracts and inserts.
  pm.addNestedPass<func::FuncOp>(createConvertVectorToLLVMPass(toLLVM));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  cleanup(pm);
}

void cpu::registerCpuPipelines() {
  PassPipelineRegistration<>(
      "weft-cpu-codegen", "Dispatch bodies in linalg -> LLVM dialect for the CPU",
      [](OpPassManager &pm) { buildCpuCodegenPipeline(pm, CpuPipelineOptions()); });
}
