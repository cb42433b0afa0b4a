/* Private declarations shared by the runtime's source files: the layouts of
 * the opaque objects of runtime.h and the device "vtable" through which the
 * generic device functions reach a concrete backend (CPU now, CUDA later). */
#ifndef WEFT_RUNTIME_INTERNAL_H
#define WEFT_RUNTIME_INTERNAL_H

#include "weft/runtime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A status is one heap block: the header followed by the message bytes.
 * `message` points into the same block (or at a literal for the static
 * out-of-memory status), so one free releases everything. */
struct weft_status_s {
  weft_status_code_t code;
  const char *message;
};

/* The operations every device backend provides. Kept as function pointers so
 * that weft_device_* can stay backend-agnostic and a CUDA device can be added
 * without touching callers. */
typedef struct weft_device_vtable_t {
  void (*destroy)(weft_device_t *device);
  weft_status_t (*dispatch)(weft_device_t *device, weft_workgroup_fn_t fn,
                            void *const *bindings, int64_t workgroup_count);
} weft_device_vtable_t;

/* The common head of every device; backends embed it as their first member. */
struct weft_device_t {
  weft_device_kind_t kind;
  const weft_device_vtable_t *vtable;
  /* Copied by value so the caller's allocator struct need not outlive us. */
  weft_allocator_t allocator;
  int32_t num_threads;
};

/* The collectives every device-group backend provides (in process now,
 * MPI in libweft_runtime_mpi). group.c checks the group, the rank and a
 * point-to-point peer before calling them; a backend checks the rest. */
typedef struct weft_group_vtable_t {
  void (*destroy)(weft_device_group_t *group);
  weft_status_t (*all_reduce)(weft_device_group_t *group, int32_t rank,
                              weft_dtype_t dtype, weft_reduce_op_t op,
                              const void *send, void *recv, int64_t count);
  weft_status_t (*reduce_scatter)(weft_device_group_t *group, int32_t rank,
                                  weft_dtype_t dtype, weft_reduce_op_t op,
                                  const void *send, void *recv, int64_t count);
  weft_status_t (*all_gather)(weft_device_group_t *group, int32_t rank,
                              const void *send, void *recv, size_t bytes);
  weft_status_t (*all_to_all)(weft_device_group_t *group, int32_t rank,
                              const void *send, void *recv, size_t bytes);
  weft_status_t (*broadcast)(weft_device_group_t *group, int32_t rank,
                             int32_t root, void *buffer, size_t bytes);
  weft_status_t (*send)(weft_device_group_t *group, int32_t rank, int32_t peer,
                        const void *buffer, size_t bytes);
  weft_status_t (*recv)(weft_device_group_t *group, int32_t rank, int32_t peer,
                        void *buffer, size_t bytes);
  /* weft_device_group_split: `colors` is checked (one non-negative color
   * per rank) and `group` is not a split itself. */
  weft_status_t (*split)(weft_device_group_t *group, const int32_t *colors,
                         const weft_allocator_t *allocator, weft_device_group_t **out);
  /* A rank of a run failed: wakes every rank waiting in this group's
   * collectives or messages, which then fail too instead of waiting for it
   * (across MPI processes: every process, through a note to each). */
  void (*abort)(weft_device_group_t *group);
  /* After an aborted run, once no rank is inside the group: ready for the
   * next one (across processes every process calls it, in the same order
   * of groups and splits: it is collective there). */
  void (*recover)(weft_device_group_t *group);
  /* Across processes, the end of every run (NULL, or only this process's
   * failure returned, in one process): each
   * process says whether its run failed and learns whether any did
   * (*any_failed) and whether a peer's abort interrupted this process
   * (*interrupted: its own status then is only "another rank failed").
   * Never waits for anything but the other processes' end of the same
   * run. */
  weft_status_t (*conclude)(weft_device_group_t *group, bool failed, bool *any_failed,
                            bool *interrupted);
} weft_group_vtable_t;

/* The common head of every device group; backends embed it first. Ranks
 * [first_local, first_local + num_local) live in this process, and
 * devices[i] is rank first_local + i's device. A split (weft_device_group_split)
 * has the parent's ranks and devices and `parent` set. */
struct weft_device_group_t {
  const weft_group_vtable_t *vtable;
  weft_device_group_t *parent;
  int32_t size;
  int32_t first_local;
  int32_t num_local;
  weft_device_t **devices;
};

static inline void weft_group_abort(weft_device_group_t *group) {
  if (group && group->vtable->abort)
    group->vtable->abort(group);
}

static inline void weft_group_recover(weft_device_group_t *group) {
  if (group && group->vtable->recover)
    group->vtable->recover(group);
}

/* Peers of a barrier or a run usually arrive within microseconds: waiting
 * threads poll for this long (a pause between reads; the clock is read
 * every 64 polls, since a pause lasts from a few to a hundred cycles
 * depending on the CPU) before they sleep on a condition variable. The
 * cost model's pipeline prediction assumes it (CostModel::kPollUs). */
#define WEFT_SPIN_US 150

static inline uint64_t weft_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Whether a poll that began at `start` (weft_now_ns) goes on after poll i. */
static inline bool weft_keep_polling(uint64_t start, uint32_t i) {
  return (i & 63) != 0 || weft_now_ns() - start < (uint64_t)WEFT_SPIN_US * 1000u;
}

static inline void weft_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Polls until *word differs from `seen` or WEFT_SPIN_US pass; returns the
 * last value read. */
static inline uint64_t weft_spin_while_equal(const uint64_t *word, uint64_t seen) {
  uint64_t now = seen, start = weft_now_ns();
  for (uint32_t i = 1; now == seen && weft_keep_polling(start, i); ++i) {
    weft_cpu_relax();
    now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  }
  return now;
}

/* Returns true when `x` is a non-zero power of two. */
static inline bool weft_is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* `allocator` or the default one when NULL. */
static inline const weft_allocator_t *
weft_allocator_or_default(const weft_allocator_t *allocator) {
  return allocator ? allocator : weft_allocator_default();
}

/* Models (model.c), shared with the multi-device models of group_model.c.
 * A run gathers data pointers into stack arrays, which is why a model may
 * have at most WEFT_MAX_MODEL_IO inputs and outputs. */
#define WEFT_MAX_MODEL_IO 64
#define WEFT_DEFAULT_ARENA_ALIGNMENT 64

/* The devices a model runs on (a description's 0 means 1). */
static inline int32_t weft_model_num_devices(const weft_model_info_t *info) {
  return info->num_devices > 1 ? info->num_devices : 1;
}
/* Whether the model is a pipeline: each device runs one stage on each
 * micro-batch in turn. */
static inline int weft_model_is_pipeline(const weft_model_info_t *info) {
  return weft_model_num_devices(info) > 1 && info->num_micro_batches >= 1;
}
/* Into how many equal parts a split tensor is cut: micro-batches in a
 * pipeline, else one part per device along the grid's first axis. */
static inline int32_t weft_model_parts(const weft_model_info_t *info) {
  if (weft_model_is_pipeline(info))
    return info->num_micro_batches;
  if (weft_model_num_devices(info) > 1 && info->num_grid_axes > 0)
    return (int32_t)info->grid_shape[0];
  return weft_model_num_devices(info);
}
/* The part of a split tensor that device `rank` holds (not a pipeline). */
static inline int32_t weft_model_part_of(const weft_model_info_t *info, int32_t rank) {
  return rank / (weft_model_num_devices(info) / weft_model_parts(info));
}
/* The model's name, or "<unnamed>". */
const char *weft_model_name(const weft_model_info_t *info);
/* Checks a model description once, at creation; `who` starts messages. */
weft_status_t weft_check_model_info(const weft_model_info_t *info, const char *who);
/* The arena alignment the model asks for (64 when it says 0). */
uint64_t weft_model_arena_alignment(const weft_model_info_t *info);
/* Bytes of a tensor described by a checked `info`. */
size_t weft_info_byte_size(const weft_tensor_info_t *info);
/* Checks a run's views against the (whole-tensor) description, that no
 * output overlaps an input, another output or one of the arenas, and
 * gathers the data pointers. */
weft_status_t weft_check_run_views(const weft_model_info_t *info,
                                   const weft_tensor_view_t *inputs, size_t num_inputs,
                                   const weft_tensor_view_t *outputs, size_t num_outputs,
                                   weft_arena_t *const *arenas, int32_t num_arenas,
                                   void **input_data, void **output_data);

/* Copies on a CUDA device (cuda_device.c); `kind`: 0 device to device,
 * 1 device to host (waits), 2 host to device (waits). */
weft_status_t weft_cuda_move(weft_device_t *device, int kind, void *dst, const void *src,
                             size_t bytes);

/* A model's kernels on its device: a CUDA module's functions, or for a
 * CUDA model compiled for the CPU (info->host_kernels) the workgroup
 * functions that a CPU device dispatches. */
struct weft_kernel_table_t {
  struct cu_module_s *module;
  int32_t count;
  const char *const *names;
  struct cu_function_s **functions;
  const weft_workgroup_fn_t *host;
  const char *model; /* for messages */
};

/* The order in which a GPU of compute capability major.minor tries a CUDA
 * model's images: its own architecture's cubin, then a compatible cubin,
 * then PTX the driver compiles (newest first); `order` gets `count`
 * indices. */
void weft_cuda_image_order(const weft_device_image_t *images, int32_t count, int major,
                           int minor, int32_t *order);

/* CUDA models (cuda_device.c): the device-side part of a weft_model_t
 * whose info->target is WEFT_DEVICE_CUDA. */
typedef struct weft_cuda_model_t weft_cuda_model_t;
weft_status_t weft_check_cuda_model_info(const weft_model_info_t *info, const char *who);
/* `device` is a CUDA device; `allocator` is not NULL. `rank` is the
 * device's rank in a group model (its part of cut weights), -1 alone. */
weft_status_t weft_cuda_model_create(const weft_model_info_t *info, weft_device_t *device,
                                     int32_t rank, const weft_allocator_t *allocator,
                                     weft_cuda_model_t **out_model);
void weft_cuda_model_destroy(weft_cuda_model_t *model);
/* The last completed run's GPU time in ms; false before one. */
bool weft_cuda_model_time(const weft_cuda_model_t *model, double *out_ms);
/* The views are checked; copies host inputs in, runs, copies host outputs
 * out and waits. */
weft_status_t weft_cuda_model_run(weft_cuda_model_t *model, const weft_model_info_t *info,
                                  const weft_tensor_view_t *inputs,
                                  const weft_tensor_view_t *outputs);
/* A CUDA model's device buffers (for a group model's rank): its arena,
 * weights, one slot per input and output (whole-tensor sized) and its
 * kernels. */
void weft_cuda_model_buffers(weft_cuda_model_t *model, const weft_model_info_t *info,
                             void **arena, const void **weights, void **inputs,
                             void **outputs, const weft_kernel_table_t **kernels);

/* For the NCCL device group (nccl_group.c); `device` is a CUDA device. */
void *weft_cuda_stream(weft_device_t *device); /* a CUstream */
int32_t weft_cuda_ordinal(const weft_device_t *device);
/* Makes the device's context current on the calling thread. */
weft_status_t weft_cuda_enter(weft_device_t *device);
/* Whether `ptr` is device memory of some GPU (the driver is loaded). */
bool weft_cuda_is_device_memory(const void *ptr);
weft_status_t weft_cuda_alloc(weft_device_t *device, size_t bytes, void **out);
void weft_cuda_free(weft_device_t *device, void *ptr);
/* Loads NCCL once (nccl_group.c): NULL, or why it cannot be used. */
const char *weft_nccl_load(int *out_version);
/* NCCL's text for one of its results. */
const char *weft_nccl_result_text(int result);
/* For a GPU group across MPI processes (mpi_group.c): rank 0's NCCL id
 * (128 bytes, ncclGetUniqueId), which every process passes to
 * weft_nccl_member_create for its rank. That takes ownership of `host`
 * (an MPI group of the same ranks, for the argument checks and host
 * buffers) and `device` (this process's GPU) whether it succeeds or not. */
weft_status_t weft_nccl_unique_id(void *out);
weft_status_t weft_nccl_member_create(weft_device_group_t *host, weft_device_t *device,
                                      int32_t rank, int32_t size, const void *id,
                                      const weft_allocator_t *allocator,
                                      weft_device_group_t **out);
/* Waits for everything queued on a CUDA device's stream (a CPU device has
 * nothing queued); `model` names the model in the message (NULL: a
 * collective waited). */
weft_status_t weft_device_wait(weft_device_t *device, const char *model);

#endif /* WEFT_RUNTIME_INTERNAL_H */
