// RUN: weft-opt %s -split-input-file --weft-cuda-embed-image -verify-diagnostics | FileCheck %s

// Each compiled object (a fat binary per chip) becomes private constant
// bytes in .nv_fatbin, where cuobjdump finds them in the object file; the
// module records chip, global and size for the model description, and is
// no longer a GPU container.
// CHECK-LABEL: module attributes {weft.device_images = {{\[}}["sm_80", "__weft_device_image_0", 3], ["sm_90", "__weft_device_image_1", 4]]}
// CHECK-NOT: gpu.binary
// CHECK: llvm.mlir.global private constant @__weft_device_image_0("AB\00") {addr_space = 0 : i32, alignment = 8 : i64, section = ".nv_fatbin"}
// CHECK: llvm.mlir.global private constant @__weft_device_image_1("WXYZ") {addr_space = 0 : i32, alignment = 8 : i64, section = ".nv_fatbin"}
module attributes {gpu.container_module} {
  gpu.binary @net_kernels [#gpu.object<#nvvm.target<chip = "sm_80">, "AB\00">,
                           #gpu.object<#nvvm.target<chip = "sm_90">, "WXYZ">]
}

// -----

// PTX text is not an image the runtime loads.
module attributes {gpu.container_module} {
  // expected-error @+1 {{expected CUDA fat binaries (gpu-module-to-binary format=fatbin)}}
  gpu.binary @net_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = ".version 8.0">]
}
