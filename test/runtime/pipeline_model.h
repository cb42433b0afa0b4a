// A hand-written three-stage pipeline, standing in for one that weftc
// emits with --devices=cpu:3 --parallel=pipeline, shared by the in-process
// and MPI tests. x [8,2] and y [8,2] are cut on axis 0 into 4
// micro-batches of [2,2]; per micro-batch:
//   stage 0: a = 2x                  (arena 0), sent to stage 1 (arena 64);
//            x itself is sent to stage 2 (arena 128), from the input
//   stage 1: b = a + 1               (arena 0), sent to stage 2 (arena 64)
//   stage 2: y = b + x = 3x + 1
// failingPipeline is the same, except that stage 1 refuses a micro-batch
// holding a value of 1000 or more.
#ifndef WEFT_TEST_RUNTIME_PIPELINE_MODEL_H
#define WEFT_TEST_RUNTIME_PIPELINE_MODEL_H

#include "weft/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace weft_test {

inline const int64_t kPipeShape[] = {8, 2};
inline const weft_tensor_info_t kPipeInputs[] = {{"x", WEFT_DTYPE_F32, 2, kPipeShape, nullptr, 0}};
inline const weft_tensor_info_t kPipeOutputs[] = {{"y", WEFT_DTYPE_F32, 2, kPipeShape, nullptr, 0}};
inline const weft_stage_transfer_t kPipeTransfers[] = {
    {0, 1, -1, 0, 64, 16},
    {0, 2, 0, 0, 128, 16},
    {1, 2, -1, 0, 64, 16},
};

inline weft_status_t pipelineStage(weft_device_group_t *const *groups, int32_t rank,
                                   weft_device_t *device, void *arena, void *const *in,
                                   void *const *out, bool refuseLarge) {
  weft_device_group_t *group = groups[0];
  if (!device || !arena || weft_device_group_device(group, rank) != device)
    return weft_status_create(WEFT_INTERNAL, "rank %d: wrong device or no arena", (int)rank);
  float *a = static_cast<float *>(arena);
  if ((rank == 0) != (in[0] != nullptr) || (rank == 2) != (out[0] != nullptr))
    return weft_status_create(WEFT_INTERNAL, "stage %d got the wrong tensors", (int)rank);
  for (int i = 0; i < 4; ++i) {
    if (rank == 0) {
      a[i] = 2 * static_cast<const float *>(in[0])[i];
    } else if (rank == 1) {
      if (refuseLarge && a[16 + i] >= 2000)
        return weft_status_create(WEFT_INVALID_ARGUMENT, "stage 1 refused a micro-batch");
      a[i] = a[16 + i] + 1;
    } else {
      static_cast<float *>(out[0])[i] = a[16 + i] + a[32 + i];
    }
  }
  return nullptr;
}

inline weft_status_t goodPipeline(weft_device_group_t *const *g, int32_t rank, weft_device_t *d,
                                  void *arena, void *const *in, void *const *out) {
  return pipelineStage(g, rank, d, arena, in, out, false);
}

inline weft_status_t failingPipeline(weft_device_group_t *const *g, int32_t rank, weft_device_t *d,
                                     void *arena, void *const *in, void *const *out) {
  return pipelineStage(g, rank, d, arena, in, out, true);
}

inline weft_model_info_t pipelineModelInfo() {
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "pipeline_test";
  info.num_inputs = 1;
  info.inputs = kPipeInputs;
  info.num_outputs = 1;
  info.outputs = kPipeOutputs;
  info.arena_size = 256;
  info.arena_alignment = 64;
  info.num_devices = 3;
  info.parallel_plan = "pipeline";
  info.spmd_entry = goodPipeline;
  info.num_micro_batches = 4;
  info.num_transfers = 3;
  info.transfers = kPipeTransfers;
  return info;
}

// One run's tensors; `large` puts 1000 into micro-batch 2.
struct PipelineRun {
  std::vector<float> x = std::vector<float>(16), y = std::vector<float>(16, -1);
  explicit PipelineRun(bool large = false) {
    for (int i = 0; i < 16; ++i)
      x[i] = static_cast<float>(i);
    if (large)
      x[9] = 1000;
  }
  weft_tensor_view_t view(std::vector<float> &data) {
    weft_tensor_view_t v = {};
    v.data = data.data();
    v.dtype = WEFT_DTYPE_F32;
    v.rank = 2;
    v.shape[0] = 8;
    v.shape[1] = 2;
    return v;
  }
  std::string mismatch() const {
    for (int i = 0; i < 16; ++i)
      if (y[i] != 3 * x[i] + 1)
        return "y[" + std::to_string(i) + "] = " + std::to_string(y[i]);
    return "";
  }
};

} // namespace weft_test

#endif // WEFT_TEST_RUNTIME_PIPELINE_MODEL_H
