//===- EmbedImage.cpp - weft-cuda-embed-image ----------------------------===//
//
// The images that gpu-module-to-binary compiled become constant bytes of the
// host object, in the section where CUDA's tools look for fat binaries.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"

namespace weft::cuda {
#define GEN_PASS_DEF_EMBEDIMAGE
#include "codegen/cuda/Passes.h.inc"
} // namespace weft::cuda

using namespace mlir;
using namespace weft;
using namespace weft::cuda;

namespace {

struct EmbedImagePass : weft::cuda::impl::EmbedImageBase<EmbedImagePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
    if (binaries.empty())
      return;
    if (binaries.size() != 1) {
      module.emitError("expected one compiled GPU module, found ") << binaries.size();
      return signalPassFailure();
    }
    gpu::BinaryOp binary = binaries.front();
    OpBuilder b(binary);
    SmallVector<Attribute> images;
    for (auto [i, attr] : llvm::enumerate(binary.getObjects())) {
      auto object = cast<gpu::ObjectAttr>(attr);
      auto target = dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget());
      if (!target || object.getFormat() != gpu::CompilationTarget::Fatbin) {
        binary.emitError("expected CUDA fat binaries (gpu-module-to-binary format=fatbin)");
        return signalPassFailure();
      }
      StringRef bytes = object.getObject().getValue();
      std::string name = "__weft_device_image_" + std::to_string(i);
      auto type = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), bytes.size());
      auto global = LLVM::GlobalOp::create(b, binary.getLoc(), type, /*isConstant=*/true,
                                           LLVM::Linkage::Private, name,
                                           b.getStringAttr(bytes), /*alignment=*/8);
      // Where nvcc puts its fat binaries: cuobjdump lists them from there.
      global.setSection(StringRef(".nv_fatbin"));
      images.push_back(b.getArrayAttr({b.getStringAttr(target.getChip()),
                                       b.getStringAttr(name),
                                       b.getI64IntegerAttr((int64_t)bytes.size())}));
    }
    module->setAttr(kDeviceImagesAttr, b.getArrayAttr(images));
    binary.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
