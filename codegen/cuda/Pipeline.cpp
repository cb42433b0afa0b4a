//===- Pipeline.cpp - the CUDA codegen pipeline --------------------------===//
//
// Orders the CUDA backend: the CPU backend's outlining and bufferization,
// one thread per output element, kernels in a GPU module lowered to NVVM and
// compiled by ptxas into fat binaries, embedded bytes, then the host program
// that launches them, lowered like the CPU backend's. Built from
// CudaPipelineOptions in C++: no option value is formatted into pipeline
// text.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {
void cleanup(OpPassManager &p) {
  p.addPass(createCanonicalizerPass());
  p.addPass(createCSEPass());
}

/// The kernel strategy, shared by both pipelines: distributed dispatch
/// functions that run iteration `id` (one GPU thread each, or one warp's 32
/// lanes where the dispatch says `weft.lanes`).
void addThreadStrategy(OpPassManager &pm, const CudaPipelineOptions &o, bool onHost) {
  pm.addPass(cpu::createOutlineDispatches());
  cleanup(pm);
  TileThreadsOptions threads;
  threads.workgroupMemory = !onHost;
  threads.tf32 = o.tf32;
  threads.tf32x3 = o.tf32x3;
  threads.f16Mma = o.f16Mma;
  threads.bf16Mma = o.bf16Mma;
  pm.addNestedPass<func::FuncOp>(createTileThreads(threads));
  // A thread's register tile of a contraction or an NCHW convolution: one
  // reduction step per outer product, the accumulator carried in registers.
  cpu::TileContractionsOptions contractions;
  contractions.vectorWidth = kThreadVectorWidth;
  contractions.vectorRegisters = 64; // room for 4 x 4 accumulators
  contractions.l1Bytes = 0;          // no reduction blocks
  contractions.gpuThreads = true;
  pm.addNestedPass<func::FuncOp>(cpu::createTileContractions(contractions));
  cleanup(pm);
  pm.addPass(cpu::createBufferize());
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(cpu::createDistributeWorkgroups());
  // Rows shared by a warp's lanes: shuffles on a GPU, loops on a CPU.
  DistributeLanesOptions lanes;
  lanes.onHost = onHost;
  lanes.asyncCopies = !onHost && o.asyncCopies;
  pm.addNestedPass<func::FuncOp>(createDistributeLanes(lanes));
  cleanup(pm);
  // A thread's small vectorized reductions (a split reduction's sum of
  // parts) as elementwise vector ops.
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  // A thread's temporaries stay in its local memory; a dispatch that runs
  // as one thread gets its (possibly whole-tensor) temporaries in the arena.
  cpu::PlanScratchOptions scratch;
  scratch.alignment = o.alignment;
  scratch.maxWorkgroups = 1;
  pm.addNestedPass<func::FuncOp>(cpu::createPlanScratch(scratch));
}
} // namespace

void cuda::buildCudaCodegenPipeline(OpPassManager &pm, const CudaPipelineOptions &o) {
  addThreadStrategy(pm, o, /*onHost=*/false);
  OutlineKernelsOptions outline;
  outline.modelName = o.modelName;
  outline.threadsPerBlock = kThreadsPerBlock;
  outline.chips.assign(o.chips.begin(), o.chips.end());
  pm.addPass(createOutlineKernels(outline));

  OpPassManager &gpuModule = pm.nest<gpu::GPUModuleOp>();
  gpuModule.addPass(createConvertLinalgToLoopsPass());
  cleanup(gpuModule);
  // A lane's private arrays indexed at constants, so they stay in registers.
  gpuModule.addPass(createUnrollPrivateLoops());
  cleanup(gpuModule);
  // Register tiles' vector transfers become loads and stores of whole
  // vectors where contiguous; contractions become outer products.
  gpuModule.addPass(createConvertVectorToSCFPass(VectorTransferToSCFOptions().enableFullUnroll()));
  gpuModule.addPass(memref::createExpandStridedMetadataPass());
  gpuModule.addPass(createLowerAffinePass());
  gpuModule.addPass(createSCFToControlFlowPass());
  gpuModule.addPass(createCanonicalizerPass());
  // bf16 tensor-core fragments (ldmatrix) before their vectors are lowered.
  gpuModule.addPass(createConvertNVGPUToNVVMPass());
  ConvertVectorToLLVMPassOptions vectors;
  vectors.vectorContractLowering = vector::VectorContractLowering::OuterProduct;
  gpuModule.addPass(createConvertVectorToLLVMPass(vectors));
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  // Kernel arguments are plain device pointers (static shapes), one per
  // binding, as the runtime passes them.
  nvvm.useBarePtrCallConv = true;
  gpuModule.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  gpuModule.addPass(createReconcileUnrealizedCastsPass());
  gpuModule.addPass(createCanonicalizerPass());

  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = o.toolkitPath;
  binary.compilationTarget = o.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  if (o.format != "fatbin")
    return;
  pm.addPass(createEmbedImage());

  cpu::BuildHostOptions host;
  host.modelName = o.modelName;
  host.alignment = o.alignment;
  host.target = "cuda";
  pm.addPass(cpu::createBuildHost(host));
  cpu::buildLowerToLLVMPipeline(pm);
}

void cuda::buildThreadStrategyOnCpuPipeline(OpPassManager &pm, const CudaPipelineOptions &o) {
  addThreadStrategy(pm, o, /*onHost=*/true);
  OutlineKernelsOptions outline;
  outline.modelName = o.modelName;
  outline.onHost = true;
  pm.addPass(createOutlineKernels(outline));
  cpu::BuildHostOptions host;
  host.modelName = o.modelName;
  host.alignment = o.alignment;
  host.target = "cuda";
  host.hostKernels = true;
  pm.addPass(cpu::createBuildHost(host));
  cpu::buildLowerToLLVMPipeline(pm);
}

void cuda::registerCudaPipelines() {
  PassPipelineRegistration<>(
      "weft-cuda-codegen", "Dispatch bodies in linalg -> CUDA kernels and a host program",
      [](OpPassManager &pm) { buildCudaCodegenPipeline(pm, CudaPipelineOptions()); });
}
