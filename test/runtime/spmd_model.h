// A hand-written model for two devices, standing in for one that weftc
// emits with --devices=cpu:2, shared by the in-process and MPI tests of
// weft_group_model_*. Its entry checks that each device got its own part of
// every tensor and computes:
//   x [4,6] split on axis 0, z [4,6] split on axis 1 (staged), w [6] whole;
//   y = 2 * x                    [4,6] split on axis 0 (written in place)
//   v = 10 * z + rank            [4,6] split on axis 1 (staged)
//   s = 3 * w[0..2)              [2]   whole (every rank computes it)
//   t = sum of x over all ranks  [1]   whole (an all-reduce in the entry)
#ifndef WEFT_TEST_RUNTIME_SPMD_MODEL_H
#define WEFT_TEST_RUNTIME_SPMD_MODEL_H

#include "weft/runtime.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft_test {

inline const int64_t kSpmdMatrix[] = {4, 6};
inline const int64_t kSpmdVector[] = {6};
inline const int64_t kSpmdPair[] = {2};
inline const int64_t kSpmdOne[] = {1};

inline const weft_tensor_info_t kSpmdInputs[] = {
    {"x", WEFT_DTYPE_F32, 2, kSpmdMatrix, nullptr, 0},
    {"z", WEFT_DTYPE_F32, 2, kSpmdMatrix, nullptr, 1},
    {"w", WEFT_DTYPE_F32, 1, kSpmdVector, nullptr, -1},
};
inline const weft_tensor_info_t kSpmdOutputs[] = {
    {"y", WEFT_DTYPE_F32, 2, kSpmdMatrix, nullptr, 0},
    {"v", WEFT_DTYPE_F32, 2, kSpmdMatrix, nullptr, 1},
    {"s", WEFT_DTYPE_F32, 1, kSpmdPair, nullptr, -1},
    {"t", WEFT_DTYPE_F32, 1, kSpmdOne, nullptr, -1},
};

inline weft_status_t spmdEntry(weft_device_group_t *const *groups, int32_t rank,
                               weft_device_t *device, void *arena, void *const *in,
                               void *const *out) {
  weft_device_group_t *group = groups[0];
  if (!device || !arena || weft_device_group_device(group, rank) != device)
    return weft_status_create(WEFT_INTERNAL, "rank %d: wrong device or no arena", (int)rank);
  const float *x = static_cast<const float *>(in[0]); // [2,6]: rows 2r, 2r+1
  const float *z = static_cast<const float *>(in[1]); // [4,3]: columns 3r..3r+2
  const float *w = static_cast<const float *>(in[2]);
  float *y = static_cast<float *>(out[0]);
  float *v = static_cast<float *>(out[1]);
  float *s = static_cast<float *>(out[2]);
  float *t = static_cast<float *>(out[3]);
  float *partial = static_cast<float *>(arena);
  partial[0] = 0;
  for (int i = 0; i < 12; ++i) {
    y[i] = 2 * x[i];
    v[i] = 10 * z[i] + static_cast<float>(rank);
    partial[0] += x[i];
  }
  s[0] = 3 * w[0];
  s[1] = 3 * w[1];
  return weft_group_all_reduce(group, rank, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, partial, t, 1);
}

// spmdEntry, then a failure on rank 1.
inline weft_status_t failOnRankOne(weft_device_group_t *const *groups, int32_t rank,
                                   weft_device_t *device, void *arena, void *const *in,
                                   void *const *out) {
  weft_status_t status = spmdEntry(groups, rank, device, arena, in, out);
  if (!status && rank == 1)
    status = weft_status_create(WEFT_INTERNAL, "device 1 gave up");
  return status;
}

// Rank 1 fails before the collective that rank 0 waits in (the sum of
// spmdEntry), before a sum of the model's one-axis split (groups[1]), or
// before the message rank 0 waits for.
inline weft_status_t failBeforeTheSum(weft_device_group_t *const *groups, int32_t rank,
                                      weft_device_t *device, void *arena, void *const *in,
                                      void *const *out) {
  if (rank == 1)
    return weft_status_create(WEFT_INTERNAL, "device 1 gave up before the sum");
  return spmdEntry(groups, rank, device, arena, in, out);
}

inline weft_status_t failBeforeTheSplitSum(weft_device_group_t *const *groups, int32_t rank,
                                           weft_device_t *, void *arena, void *const *,
                                           void *const *) {
  if (rank == 1)
    return weft_status_create(WEFT_INTERNAL, "device 1 gave up before the split's sum");
  float *partial = static_cast<float *>(arena);
  return weft_group_all_reduce(groups[1], rank, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, partial,
                               partial + 1, 1);
}

inline weft_status_t failBeforeTheMessage(weft_device_group_t *const *groups, int32_t rank,
                                          weft_device_t *, void *arena, void *const *,
                                          void *const *) {
  if (rank == 1)
    return weft_status_create(WEFT_INTERNAL, "device 1 gave up before sending");
  return weft_group_recv(groups[0], rank, 1, arena, sizeof(float));
}

// Rank 1's failures above, each with its message.
inline const std::pair<weft_spmd_entry_fn_t, const char *> kRankOneFailures[] = {
    {failOnRankOne, "device 1 gave up"},
    {failBeforeTheSum, "device 1 gave up before the sum"},
    {failBeforeTheSplitSum, "device 1 gave up before the split's sum"},
    {failBeforeTheMessage, "device 1 gave up before sending"}};

inline weft_model_info_t spmdModelInfo() {
  weft_model_info_t info = {};
  info.abi_version = WEFT_MODEL_ABI_VERSION;
  info.name = "spmd_test";
  info.num_inputs = 3;
  info.inputs = kSpmdInputs;
  info.num_outputs = 4;
  info.outputs = kSpmdOutputs;
  info.arena_size = 64;
  info.arena_alignment = 64;
  info.num_devices = 2;
  info.parallel_plan = "data";
  info.spmd_entry = spmdEntry;
  return info;
}

inline weft_tensor_view_t spmdView(std::vector<float> &data, int rank, const int64_t *shape) {
  weft_tensor_view_t v = {};
  v.data = data.data();
  v.dtype = WEFT_DTYPE_F32;
  v.rank = rank;
  for (int i = 0; i < rank; ++i)
    v.shape[i] = shape[i];
  return v;
}

// Inputs and outputs of one run, and the outputs it must give.
struct SpmdRun {
  std::vector<float> x = std::vector<float>(24), z = std::vector<float>(24),
                     w = std::vector<float>(6);
  std::vector<float> y = std::vector<float>(24, -1), v = std::vector<float>(24, -1),
                     s = std::vector<float>(2, -1), t = std::vector<float>(1, -1);
  SpmdRun() {
    for (int i = 0; i < 24; ++i) {
      x[i] = static_cast<float>(i);
      z[i] = static_cast<float>(100 + i);
    }
    for (int i = 0; i < 6; ++i)
      w[i] = static_cast<float>(i + 1);
  }
  std::vector<weft_tensor_view_t> inputs() {
    return {spmdView(x, 2, kSpmdMatrix), spmdView(z, 2, kSpmdMatrix),
            spmdView(w, 1, kSpmdVector)};
  }
  std::vector<weft_tensor_view_t> outputs() {
    return {spmdView(y, 2, kSpmdMatrix), spmdView(v, 2, kSpmdMatrix),
            spmdView(s, 1, kSpmdPair), spmdView(t, 1, kSpmdOne)};
  }
  // Empty when every output holds what the model computes.
  std::string mismatch() const {
    for (int i = 0; i < 24; ++i) {
      if (y[i] != 2 * x[i])
        return "y[" + std::to_string(i) + "] = " + std::to_string(y[i]);
      float rank = (i % 6) >= 3 ? 1.0f : 0.0f;
      if (v[i] != 10 * z[i] + rank)
        return "v[" + std::to_string(i) + "] = " + std::to_string(v[i]);
    }
    if (s[0] != 3 || s[1] != 6)
      return "s = " + std::to_string(s[0]) + ", " + std::to_string(s[1]);
    if (t[0] != 276) // 0 + 1 + ... + 23
      return "t = " + std::to_string(t[0]);
    return "";
  }
};

} // namespace weft_test

#endif // WEFT_TEST_RUNTIME_SPMD_MODEL_H
