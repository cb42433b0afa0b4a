/* Compiled-model instances: checks a model's static description once at
 * creation, owns its arena, and on every run checks the caller's tensor views
 * against that description before calling the compiled entry point. A run
 * allocates nothing: data pointers are gathered into stack arrays, which is
 * why a model may have at most WEFT_MAX_MODEL_IO inputs and outputs. */
#include "internal.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>


struct weft_model_t {
  const weft_model_info_t *info;
  weft_device_t *device;
  weft_allocator_t allocator;
  weft_arena_t *arena;          /* a CPU model's */
  weft_cuda_model_t *cuda;      /* a CUDA model's device memory and kernels */
  weft_kernel_table_t host_kernels; /* a CUDA model compiled for the CPU */
  /* One run at a time: the arena holds the intermediates of a single run. */
  atomic_bool running;
  /* The sizes the entry writes (info->num_extents), and those of the last
   * successful run, which weft_model_output_shape reads. */
  int64_t extents_out[WEFT_MAX_RUN_TIME_SIZES];
  int64_t extents[WEFT_MAX_RUN_TIME_SIZES];
  bool have_extents;
};

const char *weft_model_name(const weft_model_info_t *info) {
  return info->name && info->name[0] ? info->name : "<unnamed>";
}

/* Writes "[d0,d1,...]" into buf (always NUL-terminated). */
static void format_shape(char *buf, size_t size, int32_t rank,
                         const int64_t *shape) {
  size_t used = 0;
  used += (size_t)snprintf(buf, size, "[");
  for (int32_t i = 0; i < rank && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64,
                             i ? "," : "", shape[i]);
  if (used < size)
    snprintf(buf + used, size - used, "]");
}

/* Writes the dtype's name, with its number when the runtime does not know it. */
static void format_dtype(char *buf, size_t size, weft_dtype_t dtype) {
  if (weft_dtype_size(dtype) != 0)
    snprintf(buf, size, "%s", weft_dtype_name(dtype));
  else
    snprintf(buf, size, "%s (%d)", weft_dtype_name(dtype), (int)dtype);
}

/* "input 'x'" or, for an unnamed tensor, "input #3". */
#define TENSOR_LABEL_FMT "%s %s%s%s"
#define TENSOR_LABEL_ARGS(kind, info, index_buf)                               \
  (kind), ((info)->name && (info)->name[0] ? "'" : "#"),                       \
      ((info)->name && (info)->name[0] ? (info)->name : (index_buf)),          \
      ((info)->name && (info)->name[0] ? "'" : "")

static bool info_is_empty(const weft_tensor_info_t *info) {
  for (int32_t i = 0; i < info->rank; ++i)
    if (info->shape[i] == 0)
      return true;
  return false;
}

static weft_status_t check_tensor_infos(const char *who, const weft_model_info_t *model,
                                        const char *kind, int32_t count,
                                        const weft_tensor_info_t *infos) {
  if (count < 0 || count > WEFT_MAX_MODEL_IO)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has %d %ss; the "
                              "runtime supports 0 to %d",
                              who, weft_model_name(model), (int)count, kind,
                              WEFT_MAX_MODEL_IO);
  if (count > 0 && !infos)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has %d %ss but "
                              "no %s descriptions",
                              who, weft_model_name(model), (int)count, kind, kind);
  for (int32_t i = 0; i < count; ++i) {
    const weft_tensor_info_t *info = &infos[i];
    char index_buf[16];
    snprintf(index_buf, sizeof(index_buf), "%d", (int)i);
    if (info->rank < 0 || info->rank > WEFT_MAX_RANK)
      return weft_status_create(
          WEFT_INVALID_ARGUMENT,
          "%s: " TENSOR_LABEL_FMT " has rank %d; the runtime "
          "supports 0 to %d",
          who, TENSOR_LABEL_ARGS(kind, info, index_buf), (int)info->rank,
          WEFT_MAX_RANK);
    if (info->rank > 0 && !info->shape)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: " TENSOR_LABEL_FMT
                                " has rank %d but no shape",
                                who, TENSOR_LABEL_ARGS(kind, info, index_buf),
                                (int)info->rank);
    for (int32_t d = 0; d < info->rank; ++d)
      if (info->shape[d] < 0)
        return weft_status_create(WEFT_INVALID_ARGUMENT,
                                  "%s: " TENSOR_LABEL_FMT
                                  " has negative dimension %" PRId64
                                  " at index %d",
                                  who, TENSOR_LABEL_ARGS(kind, info, index_buf),
                                  info->shape[d], (int)d);
    if (weft_dtype_size(info->dtype) == 0)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: " TENSOR_LABEL_FMT
                                " has unknown dtype %d",
                                who, TENSOR_LABEL_ARGS(kind, info, index_buf),
                                (int)info->dtype);
  }
  return NULL;
}

/* A pipeline's transfers: between stages in order, within the arena, an
 * input's transfer the size of its micro-batch. */
static weft_status_t check_transfers(const weft_model_info_t *info, const char *who) {
  if (info->num_micro_batches < 0 || info->num_transfers < 0 ||
      (info->num_transfers > 0 && (!info->transfers || !weft_model_is_pipeline(info))))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has an invalid pipeline description "
                              "(%d micro-batches, %d transfers)",
                              who, weft_model_name(info), (int)info->num_micro_batches,
                              (int)info->num_transfers);
  for (int32_t i = 0; i < info->num_transfers; ++i) {
    const weft_stage_transfer_t *t = &info->transfers[i];
    bool bad = t->from < 0 || t->to <= t->from || t->to >= weft_model_num_devices(info) ||
               t->from_input >= info->num_inputs || t->bytes > info->arena_size ||
               t->to_offset > info->arena_size - t->bytes;
    if (!bad && t->from_input >= 0) {
      const weft_tensor_info_t *in = &info->inputs[t->from_input];
      size_t whole = weft_info_byte_size(in);
      bad = t->bytes != (in->split_axis < 0 ? whole : whole / (size_t)info->num_micro_batches);
    } else if (!bad) {
      bad = t->from_offset > info->arena_size - t->bytes;
    }
    if (bad)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: model '%s': pipeline transfer %d (stage %d to %d, %" PRIu64
                                " bytes) is out of range",
                                who, weft_model_name(info), (int)i, (int)t->from, (int)t->to,
                                t->bytes);
  }
  return NULL;
}

/* Sizes decided at run time: only on one CPU device, each output dim naming
 * one of them. */
static weft_status_t check_run_time_dims(const weft_model_info_t *info, const char *who) {
  int32_t n = info->num_extents;
  if (n < 0 || n > WEFT_MAX_RUN_TIME_SIZES ||
      (n > 0 && (info->target != WEFT_DEVICE_CPU || weft_model_num_devices(info) != 1)))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has %d sizes decided at run time; the runtime "
                              "supports 0 to %d, on one CPU device",
                              who, weft_model_name(info), (int)n, WEFT_MAX_RUN_TIME_SIZES);
  for (int32_t i = 0; i < info->num_inputs; ++i)
    if (info->inputs[i].run_time_dims)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: model '%s': input %d claims dims sized at run time", who,
                                weft_model_name(info), (int)i);
  for (int32_t i = 0; i < info->num_outputs; ++i) {
    const weft_tensor_info_t *t = &info->outputs[i];
    for (int32_t d = 0; t->run_time_dims && d < t->rank; ++d)
      if (t->run_time_dims[d] < -1 || t->run_time_dims[d] >= n)
        return weft_status_create(WEFT_INVALID_ARGUMENT,
                                  "%s: model '%s': output %d's dim %d names size %d of %d",
                                  who, weft_model_name(info), (int)i, (int)d,
                                  (int)t->run_time_dims[d], (int)n);
  }
  return NULL;
}

weft_status_t weft_check_model_info(const weft_model_info_t *info, const char *who) {
  if (!info)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: model info is NULL", who);
  if (info->abi_version != WEFT_MODEL_ABI_VERSION)
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "%s: model '%s' was compiled for runtime ABI version "
        "%u but this runtime implements version %u",
        who, weft_model_name(info), (unsigned)info->abi_version,
        (unsigned)WEFT_MODEL_ABI_VERSION);
  if (info->num_devices < 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' claims %d devices", who,
                              weft_model_name(info), (int)info->num_devices);
  if (info->target != WEFT_DEVICE_CPU && info->target != WEFT_DEVICE_CUDA)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' is for an unknown device kind %d", who,
                              weft_model_name(info), (int)info->target);
  if (info->target == WEFT_DEVICE_CUDA) {
    weft_status_t cuda = weft_check_cuda_model_info(info, who);
    if (cuda)
      return cuda;
  } else if (weft_model_num_devices(info) == 1 ? !info->entry : !info->spmd_entry)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has no entry function", who,
                              weft_model_name(info));
  weft_status_t status =
      check_tensor_infos(who, info, "input", info->num_inputs, info->inputs);
  if (status)
    return status;
  status = check_tensor_infos(who, info, "output", info->num_outputs, info->outputs);
  if (status)
    return status;
  if (info->num_grid_axes < 0 || info->num_grid_axes > WEFT_MAX_GRID_AXES ||
      (info->num_grid_axes > 0 && !info->grid_shape))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has an invalid grid (%d axes; at most %d)", who,
                              weft_model_name(info), (int)info->num_grid_axes,
                              (int)WEFT_MAX_GRID_AXES);
  if (info->num_grid_axes > 0) {
    int64_t devices = 1;
    bool bad = weft_model_is_pipeline(info);
    for (int32_t k = 0; k < info->num_grid_axes && !bad; ++k) {
      bad = info->grid_shape[k] < 1 || info->grid_shape[k] > 4096;
      devices *= bad ? 1 : info->grid_shape[k];
    }
    if (bad || devices != weft_model_num_devices(info))
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: model '%s' has a grid of devices that is not %d devices%s",
                                who, weft_model_name(info), (int)weft_model_num_devices(info),
                                weft_model_is_pipeline(info) ? " (or is a pipeline)" : "");
  }
  for (int kind = 0; kind < 2 && weft_model_num_devices(info) > 1; ++kind) {
    int32_t count = kind ? info->num_outputs : info->num_inputs;
    const weft_tensor_info_t *infos = kind ? info->outputs : info->inputs;
    for (int32_t i = 0; i < count; ++i) {
      const weft_tensor_info_t *t = &infos[i];
      char index_buf[16];
      snprintf(index_buf, sizeof(index_buf), "%d", (int)i);
      int32_t axis = t->split_axis;
      if (axis == -1)
        continue;
      if (axis < 0 || axis >= t->rank ||
          t->shape[axis] % weft_model_parts(info) != 0)
        return weft_status_create(
            WEFT_INVALID_ARGUMENT,
            "%s: " TENSOR_LABEL_FMT " of model '%s' is split on axis %d, "
            "which cannot be cut into %d equal parts",
            who, TENSOR_LABEL_ARGS(kind ? "output" : "input", t, index_buf),
            weft_model_name(info), (int)axis, (int)weft_model_parts(info));
    }
  }
  status = check_transfers(info, who);
  if (status)
    return status;
  status = check_run_time_dims(info, who);
  if (status)
    return status;
  uint64_t alignment = weft_model_arena_alignment(info);
  if (alignment > SIZE_MAX || !weft_is_pow2((size_t)alignment))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' asks for arena "
                              "alignment %" PRIu64
                              ", which is not a power of two",
                              who, weft_model_name(info), alignment);
  if (info->arena_size > SIZE_MAX)
    return weft_status_create(WEFT_OUT_OF_MEMORY,
                              "%s: model '%s' needs an arena of "
                              "%" PRIu64 " bytes, more than this machine can "
                              "address",
                              who, weft_model_name(info), info->arena_size);
  return NULL;
}

uint64_t weft_model_arena_alignment(const weft_model_info_t *info) {
  return info->arena_alignment ? info->arena_alignment : WEFT_DEFAULT_ARENA_ALIGNMENT;
}

weft_status_t weft_model_create(const weft_model_info_t *info,
                                weft_device_t *device,
                                const weft_allocator_t *allocator,
                                weft_model_t **out_model) {
  if (!out_model)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_create: out_model is NULL");
  *out_model = NULL;
  weft_status_t status = weft_check_model_info(info, "weft_model_create");
  if (status)
    return status;
  if (weft_model_num_devices(info) != 1)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_create: model '%s' was compiled for %d "
                              "devices; create it on a device group with "
                              "weft_group_model_create",
                              weft_model_name(info), (int)info->num_devices);
  if (!device)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_create: device is NULL");
  bool on_host = info->target == WEFT_DEVICE_CUDA && info->host_kernels &&
                 weft_device_kind(device) == WEFT_DEVICE_CPU;
  if (weft_device_kind(device) != info->target && !on_host)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_create: model '%s' was compiled for a %s device "
                              "(weftc --target=%s) but the device is a %s device",
                              weft_model_name(info),
                              info->target == WEFT_DEVICE_CUDA ? "CUDA" : "CPU",
                              info->target == WEFT_DEVICE_CUDA ? "cuda" : "cpu",
                              weft_device_kind(device) == WEFT_DEVICE_CUDA ? "CUDA" : "CPU");

  allocator = weft_allocator_or_default(allocator);
  if (!allocator->alloc || !allocator->free)
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "weft_model_create: allocator has a NULL alloc or free function");
  weft_model_t *model = allocator->alloc(allocator->user_data, sizeof(*model),
                                         _Alignof(weft_model_t));
  if (!model)
    return weft_status_create(WEFT_OUT_OF_MEMORY,
                              "weft_model_create: out of memory");
  model->info = info;
  model->device = device;
  model->allocator = *allocator;
  model->arena = NULL;
  model->cuda = NULL;
  memset(&model->host_kernels, 0, sizeof(model->host_kernels));
  atomic_init(&model->running, false);
  model->have_extents = false;
  if (on_host) {
    model->host_kernels.count = info->num_kernels;
    model->host_kernels.names = info->kernel_names;
    model->host_kernels.host = info->host_kernels;
    model->host_kernels.model = weft_model_name(info);
  } else if (info->target == WEFT_DEVICE_CUDA) {
    status = weft_cuda_model_create(info, device, -1, allocator, &model->cuda);
    if (status) {
      allocator->free(allocator->user_data, model);
      return status;
    }
    *out_model = model;
    return NULL;
  }
  status = weft_arena_create(allocator, (size_t)info->arena_size,
                             (size_t)weft_model_arena_alignment(info), &model->arena);
  if (status) {
    allocator->free(allocator->user_data, model);
    return status;
  }
  *out_model = model;
  return NULL;
}

void weft_model_destroy(weft_model_t *model) {
  if (!model)
    return;
  weft_allocator_t allocator = model->allocator;
  weft_arena_destroy(model->arena);
  weft_cuda_model_destroy(model->cuda);
  allocator.free(allocator.user_data, model);
}

weft_status_t weft_model_device_time(const weft_model_t *model, double *out_ms) {
  if (!model || !out_ms)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_device_time: model or out_ms is NULL");
  if (!model->cuda)
    return weft_status_create(WEFT_UNAVAILABLE,
                              "weft_model_device_time: model '%s' runs on the CPU, which has no "
                              "device timer",
                              weft_model_name(model->info));
  if (!weft_cuda_model_time(model->cuda, out_ms))
    return weft_status_create(WEFT_UNAVAILABLE,
                              "weft_model_device_time: model '%s' has not completed a run",
                              weft_model_name(model->info));
  return NULL;
}

const weft_model_info_t *weft_model_get_info(const weft_model_t *model) {
  return model ? model->info : NULL;
}


static weft_status_t check_view(const weft_model_info_t *model, const char *kind,
                                int32_t index, const weft_tensor_info_t *info,
                                const weft_tensor_view_t *view) {
  char index_buf[16];
  snprintf(index_buf, sizeof(index_buf), "%d", (int)index);
  if (view->memory != WEFT_MEMORY_HOST &&
      (view->memory != WEFT_MEMORY_DEVICE || model->target != WEFT_DEVICE_CUDA))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT ": %s",
                              TENSOR_LABEL_ARGS(kind, info, index_buf),
                              view->memory == WEFT_MEMORY_DEVICE
                                  ? "device memory given to a model that runs on the CPU"
                                  : "unknown memory kind (WEFT_MEMORY_HOST or _DEVICE)");
  if (view->memory == WEFT_MEMORY_DEVICE && info->value)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT ": an input compiled for one value "
                              "(weftc --input-value) is checked on the host; give it in "
                              "host memory",
                              TENSOR_LABEL_ARGS(kind, info, index_buf));
  /* CUDA kernels load and store a buffer 16 bytes at a time where its
   * layout allows, from a start they take to be 16-byte aligned (as
   * cuMemAlloc's memory is). */
  if (view->memory == WEFT_MEMORY_DEVICE && ((uintptr_t)view->data % WEFT_DEVICE_DATA_ALIGNMENT) != 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT ": device data at %p is not %d-byte aligned",
                              TENSOR_LABEL_ARGS(kind, info, index_buf), view->data,
                              WEFT_DEVICE_DATA_ALIGNMENT);
  /* An empty tensor has no bytes to point at; std::vector and friends hand
   * out NULL for it, so only tensors with elements need data. */
  if (!view->data && !info_is_empty(info))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT ": data pointer is NULL",
                              TENSOR_LABEL_ARGS(kind, info, index_buf));
  if (view->dtype != info->dtype) {
    char expected[32], actual[32];
    format_dtype(expected, sizeof(expected), info->dtype);
    format_dtype(actual, sizeof(actual), view->dtype);
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT
                              ": expected dtype %s but got %s",
                              TENSOR_LABEL_ARGS(kind, info, index_buf),
                              expected, actual);
  }
  char expected_shape[256];
  format_shape(expected_shape, sizeof(expected_shape), info->rank,
               info->shape);
  if (view->rank < 0 || view->rank > WEFT_MAX_RANK)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT ": expected rank %d (shape %s) "
                              "but got rank %d",
                              TENSOR_LABEL_ARGS(kind, info, index_buf),
                              (int)info->rank, expected_shape,
                              (int)view->rank);
  char actual_shape[256];
  format_shape(actual_shape, sizeof(actual_shape), view->rank, view->shape);
  if (view->rank != info->rank)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT ": expected rank %d but got "
                              "rank %d (expected shape %s but got %s)",
                              TENSOR_LABEL_ARGS(kind, info, index_buf),
                              (int)info->rank, (int)view->rank,
                              expected_shape, actual_shape);
  for (int32_t d = 0; d < info->rank; ++d)
    if (view->shape[d] != info->shape[d])
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                TENSOR_LABEL_FMT
                                ": expected shape %s but got %s",
                                TENSOR_LABEL_ARGS(kind, info, index_buf),
                                expected_shape, actual_shape);
  size_t bytes = weft_info_byte_size(info);
  if (info->value && bytes > 0 && memcmp(view->data, info->value, bytes) != 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              TENSOR_LABEL_FMT
                              ": the model was compiled for one value of this "
                              "input (weftc --input-value) and was given "
                              "another; compile again for other values",
                              TENSOR_LABEL_ARGS(kind, info, index_buf));
  return NULL;
}

static weft_status_t check_views(const weft_model_info_t *info,
                                 const char *kind, int32_t expected_count,
                                 const weft_tensor_info_t *infos,
                                 const weft_tensor_view_t *views,
                                 size_t count, void **out_data) {
  if (count != (size_t)expected_count)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "model '%s': expected %d %ss but got %zu",
                              weft_model_name(info), (int)expected_count, kind,
                              count);
  if (count > 0 && !views)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "model '%s': the %s array is NULL but %d %ss "
                              "are expected",
                              weft_model_name(info), kind, (int)expected_count,
                              kind);
  for (int32_t i = 0; i < expected_count; ++i) {
    weft_status_t status = check_view(info, kind, i, &infos[i], &views[i]);
    if (status)
      return status;
    out_data[i] = views[i].data;
  }
  return NULL;
}

/* Byte size of a tensor described by `info` (the create-time checks bound
 * it, so the product does not overflow). */
size_t weft_info_byte_size(const weft_tensor_info_t *info) {
  size_t bytes = weft_dtype_size(info->dtype);
  for (int32_t d = 0; d < info->rank; ++d)
    bytes *= (size_t)info->shape[d];
  return bytes;
}

static bool ranges_overlap(const void *a, size_t a_size, const void *b,
                           size_t b_size) {
  if (!a || !b || a_size == 0 || b_size == 0)
    return false;
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return x < y + b_size && y < x + a_size;
}

/* Compiled code reads inputs while it writes outputs and arena tensors,
 * tile by tile and from several threads, so no output may share a byte with
 * an input, another output or the model's own arena. */
static weft_status_t check_no_aliasing(const weft_model_info_t *info,
                                       void *const *input_data,
                                       void *const *output_data,
                                       weft_arena_t *const *arenas,
                                       int32_t num_arenas) {
  for (int32_t o = 0; o < info->num_outputs; ++o) {
    const weft_tensor_info_t *out = &info->outputs[o];
    size_t out_size = weft_info_byte_size(out);
    /* Find the first conflict; names are formatted only for the error. */
    const char *kind = NULL;
    const weft_tensor_info_t *other = NULL;
    int32_t other_index = 0;
    for (int32_t i = 0; i < info->num_inputs && !kind; ++i)
      if (ranges_overlap(output_data[o], out_size, input_data[i],
                         weft_info_byte_size(&info->inputs[i])))
        kind = "input", other = &info->inputs[i], other_index = i;
    for (int32_t j = 0; j < o && !kind; ++j)
      if (ranges_overlap(output_data[o], out_size, output_data[j],
                         weft_info_byte_size(&info->outputs[j])))
        kind = "output", other = &info->outputs[j], other_index = j;
    bool in_arena = false;
    for (int32_t a = 0; a < num_arenas && !kind && !in_arena; ++a)
      in_arena = ranges_overlap(output_data[o], out_size, weft_arena_data(arenas[a]),
                                weft_arena_size(arenas[a]));
    if (!kind && !in_arena)
      continue;
    char out_buf[16], other_buf[16];
    snprintf(out_buf, sizeof(out_buf), "%d", (int)o);
    if (in_arena)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                TENSOR_LABEL_FMT " overlaps the model's arena",
                                TENSOR_LABEL_ARGS("output", out, out_buf));
    snprintf(other_buf, sizeof(other_buf), "%d", (int)other_index);
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        TENSOR_LABEL_FMT " overlaps " TENSOR_LABEL_FMT ": %s",
        TENSOR_LABEL_ARGS("output", out, out_buf),
        TENSOR_LABEL_ARGS(kind, other, other_buf),
        kind[0] == 'i'
            ? "outputs must not share memory with inputs (in-place runs are "
              "not supported)"
            : "outputs must not share memory with each other");
  }
  return NULL;
}

weft_status_t weft_check_run_views(const weft_model_info_t *info,
                                   const weft_tensor_view_t *inputs, size_t num_inputs,
                                   const weft_tensor_view_t *outputs, size_t num_outputs,
                                   weft_arena_t *const *arenas, int32_t num_arenas,
                                   void **input_data, void **output_data) {
  weft_status_t status = check_views(info, "input", info->num_inputs,
                                     info->inputs, inputs, num_inputs,
                                     input_data);
  if (status)
    return status;
  status = check_views(info, "output", info->num_outputs, info->outputs,
                       outputs, num_outputs, output_data);
  if (status)
    return status;
  return check_no_aliasing(info, input_data, output_data, arenas, num_arenas);
}

weft_status_t weft_model_run(weft_model_t *model,
                             const weft_tensor_view_t *inputs,
                             size_t num_inputs,
                             const weft_tensor_view_t *outputs,
                             size_t num_outputs) {
  if (!model)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_run: model is NULL");
  const weft_model_info_t *info = model->info;
  void *input_data[WEFT_MAX_MODEL_IO];
  void *output_data[WEFT_MAX_MODEL_IO + WEFT_MAX_RUN_TIME_SIZES];
  weft_status_t status =
      weft_check_run_views(info, inputs, num_inputs, outputs, num_outputs, &model->arena,
                           model->arena ? 1 : 0, input_data, output_data);
  if (status)
    return status;

  if (atomic_exchange_explicit(&model->running, true, memory_order_acquire))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "model '%s': already running on another thread; "
                              "create one model instance per thread",
                              weft_model_name(info));
  /* The run's sizes land after the outputs. */
  for (int32_t k = 0; k < info->num_extents; ++k)
    output_data[info->num_outputs + k] = &model->extents_out[k];
  model->have_extents = false;
  if (model->cuda)
    status = weft_cuda_model_run(model->cuda, info, inputs, outputs);
  else if (model->host_kernels.host)
    status = info->device_entry(model->device, &model->host_kernels,
                                weft_arena_data(model->arena), info->weights, input_data,
                                output_data);
  else
    status = info->entry(model->device, weft_arena_data(model->arena), input_data,
                         output_data);
  if (!status && info->num_extents > 0) {
    memcpy(model->extents, model->extents_out, sizeof(int64_t) * (size_t)info->num_extents);
    model->have_extents = true;
  }
  atomic_store_explicit(&model->running, false, memory_order_release);
  return status;
}

weft_status_t weft_model_output_shape(const weft_model_t *model, int32_t output,
                                      int32_t *out_rank, int64_t *out_shape) {
  if (!model || !out_rank || !out_shape)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_output_shape: model, out_rank or out_shape is NULL");
  const weft_model_info_t *info = model->info;
  if (output < 0 || output >= info->num_outputs)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_model_output_shape: model '%s' has %d outputs, not %d",
                              weft_model_name(info), (int)info->num_outputs, (int)output + 1);
  const weft_tensor_info_t *t = &info->outputs[output];
  if (t->run_time_dims && !model->have_extents)
    return weft_status_create(WEFT_UNAVAILABLE,
                              "weft_model_output_shape: output %d of model '%s' is sized by "
                              "each run, and no run has succeeded yet",
                              (int)output, weft_model_name(info));
  *out_rank = t->rank;
  for (int32_t d = 0; d < t->rank; ++d) {
    int32_t k = t->run_time_dims ? t->run_time_dims[d] : -1;
    int64_t size = k < 0 ? t->shape[d] : model->extents[k];
    /* The kernels never exceed the bound; clamp anyway, so that a caller
     * never reads past its buffer. */
    out_shape[d] = size < 0 ? 0 : size > t->shape[d] ? t->shape[d] : size;
  }
  return NULL;
}
