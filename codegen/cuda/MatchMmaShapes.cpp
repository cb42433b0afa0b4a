//===- MatchMmaShapes.cpp - weft-cuda-match-mma-shapes --------------------===//
//
// The gpu dialect's WMMA lowering names the shape of a fragment load or
// store from the fragment alone, so an f32 accumulator is loaded and stored
// as m16n16k16 (the f16 shape) even where its products are m16n16k8 TF32
// ones. PTX asks that a fragment's loads, products and stores name one
// shape: this pass gives the f32 accumulator loads and stores of a function
// the shape of its products where all of them share one.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

namespace weft::cuda {
#define GEN_PASS_DEF_MATCHMMASHAPES
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

struct MatchMmaShapesPass : weft::cuda::impl::MatchMmaShapesBase<MatchMmaShapesPass> {
  void runOnOperation() override {
    getOperation().walk([&](LLVM::LLVMFuncOp fn) {
      std::optional<uint32_t> k;
      bool mixed = false;
      fn.walk([&](NVVM::WMMAMmaOp mma) {
        if (mma.getEltypeA() != NVVM::MMATypes::tf32 || mma.getM() != 16 || mma.getN() != 16)
          return;
        if (k && *k != mma.getK())
          mixed = true;
        k = mma.getK();
      });
      if (!k || mixed)
        return;
      fn.walk([&](Operation *op) {
        if (auto load = dyn_cast<NVVM::WMMALoadOp>(op)) {
          if (load.getFrag() == NVVM::MMAFrag::c && load.getEltype() == NVVM::MMATypes::f32)
            load.setK(*k);
        } else if (auto store = dyn_cast<NVVM::WMMAStoreOp>(op)) {
          if (store.getEltype() == NVVM::MMATypes::f32)
            store.setK(*k);
        }
      });
    });
  }
};

} // namespace
