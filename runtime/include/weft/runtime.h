/* Weft runtime C API.
 *
 * The runtime is the small library that code emitted by `weftc` links against.
 * It owns devices (a CPU device with a thread pool first), allocators, the
 * per-model arena and status objects. It holds no operator kernels: every
 * kernel is compiled into the model's object file. All functions that can fail
 * return a weft_status_t, where NULL means success; a non-NULL status carries a
 * code and a message and must be released with weft_status_free.
 */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===------------------------------------------------------------------===*
 * Status
 *===------------------------------------------------------------------===*/

typedef enum weft_status_code_t {
  WEFT_OK = 0,
  WEFT_INVALID_ARGUMENT = 1,
  WEFT_OUT_OF_MEMORY = 2,
  WEFT_UNAVAILABLE = 3, /* e.g. a device that does not exist here */
  WEFT_INTERNAL = 4,
} weft_status_code_t;

typedef struct weft_status_s *weft_status_t; /* NULL == OK */

/* Creates a status with a printf-style message. Never returns NULL for a
 * code other than WEFT_OK (falls back to a static out-of-memory status). */
weft_status_t weft_status_create(weft_status_code_t code, const char *fmt, ...);
weft_status_code_t weft_status_code(weft_status_t status);
/* The message; "OK" for a NULL status. Valid until the status is freed. */
const char *weft_status_message(weft_status_t status);
void weft_status_free(weft_status_t status);

/*===------------------------------------------------------------------===*
 * Allocator
 *===------------------------------------------------------------------===*/

typedef struct weft_allocator_t {
  void *user_data;
  /* Returns memory aligned to `alignment` (a power of two) or NULL. */
  void *(*alloc)(void *user_data, size_t size, size_t alignment);
  void (*free)(void *user_data, void *ptr);
} weft_allocator_t;

/* The process-wide default allocator (aligned_alloc/free). */
const weft_allocator_t *weft_allocator_default(void);

/*===------------------------------------------------------------------===*
 * Element types and tensor views
 *===------------------------------------------------------------------===*/

/* Values match ONNX TensorProto.DataType so tools can map them directly. */
typedef enum weft_dtype_t {
  WEFT_DTYPE_INVALID = 0,
  WEFT_DTYPE_F32 = 1,
  WEFT_DTYPE_U8 = 2,
  WEFT_DTYPE_I8 = 3,
  WEFT_DTYPE_U16 = 4,
  WEFT_DTYPE_I16 = 5,
  WEFT_DTYPE_I32 = 6,
  WEFT_DTYPE_I64 = 7,
  WEFT_DTYPE_BOOL = 9,
  WEFT_DTYPE_F16 = 10,
  WEFT_DTYPE_F64 = 11,
  WEFT_DTYPE_U32 = 12,
  WEFT_DTYPE_U64 = 13,
  WEFT_DTYPE_BF16 = 16,
  /* 8-bit floats (ONNX FLOAT8E4M3FN ... FLOAT8E5M2FNUZ), one byte each. */
  WEFT_DTYPE_F8E4M3FN = 17,
  WEFT_DTYPE_F8E4M3FNUZ = 18,
  WEFT_DTYPE_F8E5M2 = 19,
  WEFT_DTYPE_F8E5M2FNUZ = 20,
  /* Not dtypes: they make every int32 value a valid weft_dtype_t, so C++
   * callers may pass any number (the runtime answers "unknown") without
   * undefined behaviour, and the enum stays 32 bits wide. */
  WEFT_DTYPE_RANGE_MIN_ = -0x7fffffff - 1,
  WEFT_DTYPE_RANGE_MAX_ = 0x7fffffff,
} weft_dtype_t;

/* Size in bytes of one element; 0 for an unknown dtype. */
size_t weft_dtype_size(weft_dtype_t dtype);
const char *weft_dtype_name(weft_dtype_t dtype);

#define WEFT_MAX_RANK 8

/* Where a view's data lives. */
typedef enum weft_memory_t {
  WEFT_MEMORY_HOST = 0,   /* host memory (the default of a zeroed view) */
  WEFT_MEMORY_DEVICE = 1, /* memory of the model's CUDA device (a CUdeviceptr) */
} weft_memory_t;

/* Device data (WEFT_MEMORY_DEVICE) must start at a multiple of this many
 * bytes, as cuMemAlloc's does: the kernels load and store 16 bytes at a
 * time. */
#define WEFT_DEVICE_DATA_ALIGNMENT 16

/* A non-owning view of a dense, row-major tensor. */
typedef struct weft_tensor_view_t {
  void *data;
  weft_dtype_t dtype;
  int32_t rank;
  int64_t shape[WEFT_MAX_RANK];
  /* WEFT_MEMORY_HOST unless `data` is device memory of a CUDA model's
   * device (then the run reads or writes it there, without a copy). The
   * run's stream does not wait for other streams (the default one
   * included): whatever writes a device input must have finished before
   * weft_model_run is called. */
  weft_memory_t memory;
} weft_tensor_view_t;

/* The product of the dims (1 for rank 0); -1 for a NULL view, a rank outside
 * [0, WEFT_MAX_RANK], a negative dim or an int64 overflow. */
int64_t weft_tensor_view_num_elements(const weft_tensor_view_t *view);
/* num_elements * dtype size; 0 for an empty tensor and also for an invalid
 * view, an unknown dtype or a size that does not fit in size_t. */
size_t weft_tensor_view_byte_size(const weft_tensor_view_t *view);

/*===------------------------------------------------------------------===*
 * Devices
 *===------------------------------------------------------------------===*/

typedef struct weft_device_t weft_device_t;

typedef enum weft_device_kind_t {
  WEFT_DEVICE_CPU = 0,
  WEFT_DEVICE_CUDA = 1,
} weft_device_kind_t;

typedef struct weft_cpu_device_options_t {
  /* Number of threads that run workgroups, the calling thread included.
   * 0 means the number of online CPUs. */
  int32_t num_threads;
} weft_cpu_device_options_t;

/* Starts num_threads - 1 worker threads (none for 1) with 8 MiB stacks.
 * NULL options mean num_threads = 0; NULL allocator means the default one.
 * A negative num_threads is WEFT_INVALID_ARGUMENT. */
weft_status_t weft_cpu_device_create(const weft_cpu_device_options_t *options,
                                     const weft_allocator_t *allocator,
                                     weft_device_t **out_device);
/* Joins the device's threads. NULL is a no-op. */
void weft_device_destroy(weft_device_t *device);
weft_device_kind_t weft_device_kind(const weft_device_t *device);
/* Threads of a CPU device; 0 for a CUDA device. */
int32_t weft_device_num_threads(const weft_device_t *device);

typedef struct weft_cuda_device_options_t {
  /* The GPU's ordinal among the CUDA driver's devices (0: the first). */
  int32_t ordinal;
} weft_cuda_device_options_t;

/* A CUDA GPU, driven through the CUDA driver API, which is loaded at run
 * time (dlopen of libcuda.so.1): its primary context and one stream. Where
 * there is no driver or no such GPU it returns WEFT_UNAVAILABLE with a
 * message that starts "no CUDA device", and nothing else changes: the same
 * program runs CPU models. NULL options mean ordinal 0. */
weft_status_t weft_cuda_device_create(const weft_cuda_device_options_t *options,
                                      const weft_allocator_t *allocator,
                                      weft_device_t **out_device);
/* The device's name ("cpu", or the GPU's name such as "NVIDIA H100"). */
const char *weft_device_name(const weft_device_t *device);

/* The signature of a compiled dispatch: runs workgroup `workgroup_id` over the
 * buffers in `bindings` (an array of base pointers, one per operand/result). */
typedef void (*weft_workgroup_fn_t)(void *const *bindings,
                                    int64_t workgroup_id);

/* Runs fn(bindings, i) for every i in [0, workgroup_count) on the device's
 * threads and returns when all have finished. Workgroups must be independent.
 * Calls from several application threads on one device are serialized.
 * A count of 0 returns at once; a NULL device or fn or a negative count is
 * WEFT_INVALID_ARGUMENT. A workgroup that dispatches on its own device runs
 * that inner dispatch serially on its own thread. */
weft_status_t weft_device_dispatch(weft_device_t *device,
                                   weft_workgroup_fn_t fn,
                                   void *const *bindings,
                                   int64_t workgroup_count);

/* Tensor bytes the host program itself moves (a run-time If's condition, a
 * Loop's trip count and states): on a CPU device plain copies; on a CUDA
 * device `dst`/`src` are device memory and `host_dst`/`host_src` host
 * memory. weft_device_copy is ordered after the launches before it (and
 * returns at once on a GPU); weft_device_read waits for them and returns
 * the bytes; weft_device_write returns once the bytes have left host_src.
 * A zero size does nothing. */
weft_status_t weft_device_copy(weft_device_t *device, void *dst, const void *src,
                               size_t bytes);
weft_status_t weft_device_read(weft_device_t *device, void *host_dst,
                               const void *src, size_t bytes);
weft_status_t weft_device_write(weft_device_t *device, void *dst,
                                const void *host_src, size_t bytes);

/* A model's kernels loaded on a CUDA device (created by weft_model_create). */
typedef struct weft_kernel_table_t weft_kernel_table_t;

/* Launches kernel `kernel` of `kernels` on the device's stream with one
 * argument per binding (each a device pointer), a grid of
 * grid_x * grid_y * grid_z blocks of block_x * block_y * block_z threads and
 * `shared_bytes` of dynamic shared memory. Returns without waiting; a
 * kernel's own faults are reported by the model run that launched it. A CPU
 * device returns WEFT_INVALID_ARGUMENT. */
weft_status_t weft_device_launch(weft_device_t *device,
                                 const weft_kernel_table_t *kernels,
                                 int32_t kernel, void *const *bindings,
                                 int32_t num_bindings, int32_t grid_x,
                                 int32_t grid_y, int32_t grid_z,
                                 int32_t block_x, int32_t block_y,
                                 int32_t block_z, int32_t shared_bytes);

/*===------------------------------------------------------------------===*
 * Device groups and collectives
 *===------------------------------------------------------------------===*/

/* N devices that run one model together, each at its own rank in [0, N),
 * joined by a communicator that carries the collectives below. The
 * in-process backend (weft_cpu_device_group_create) holds N CPU devices of
 * one process, each with its own thread pool; its collectives read the
 * peers' buffers in place through shared memory and allocate nothing. */
typedef struct weft_device_group_t weft_device_group_t;

typedef struct weft_cpu_device_group_options_t {
  /* Number of devices, at least 1. */
  int32_t num_devices;
  /* Threads of each device, the calling thread included. 0 divides the
   * online CPUs among the devices (at least 1 each). */
  int32_t threads_per_device;
} weft_cpu_device_group_options_t;

/* NULL options or an allocator of NULL mean one device and the default
 * allocator. num_devices < 1 or threads_per_device < 0 is
 * WEFT_INVALID_ARGUMENT. */
weft_status_t weft_cpu_device_group_create(
    const weft_cpu_device_group_options_t *options,
    const weft_allocator_t *allocator, weft_device_group_t **out_group);
/* N GPUs of one process joined by NCCL, each a CUDA device
 * (weft_cuda_device_create) with its stream: the group that runs a model
 * compiled with weftc --devices=cuda:0,cuda:1,... One thread per rank
 * calls the collectives, as for every group. The CUDA driver and NCCL
 * (libnccl.so.2) are loaded at run time: without a driver or with fewer
 * GPUs than asked for, creating the group returns WEFT_UNAVAILABLE with
 * "no CUDA device"; without NCCL, WEFT_UNAVAILABLE with "NCCL not found".
 *
 * On a GPU group a collective is queued on the rank's stream and its
 * result is complete in that stream's order (the device's later kernels
 * and copies see it; a model run waits for the stream before it
 * returns); buffers in host memory (up to 64 KiB per call) are copied
 * through the device and are complete when the call returns. Reductions
 * take 8-, 32- and 64-bit integers, f32 and f64 (NCCL has no 16-bit
 * integers); a float sum gives every rank the same bits, in NCCL's order
 * of the ranks. Send and recv sizes are not compared between the pair. */
typedef struct weft_cuda_device_group_options_t {
  /* Number of GPUs, at least 1. */
  int32_t num_devices;
  /* num_devices distinct GPU ordinals, rank r on GPU ordinals[r]; NULL
   * means GPUs 0 to num_devices - 1. */
  const int32_t *ordinals;
} weft_cuda_device_group_options_t;

/* NULL options mean one GPU, GPU 0. */
weft_status_t weft_cuda_device_group_create(
    const weft_cuda_device_group_options_t *options,
    const weft_allocator_t *allocator, weft_device_group_t **out_group);
/* Destroys the devices too. NULL is a no-op. No collective may be running. */
void weft_device_group_destroy(weft_device_group_t *group);
/* Number of devices; 0 for NULL. */
int32_t weft_device_group_size(const weft_device_group_t *group);
/* The device at `rank`, owned by the group; NULL for a rank out of range. */
weft_device_t *weft_device_group_device(const weft_device_group_t *group,
                                        int32_t rank);

typedef enum weft_reduce_op_t {
  WEFT_REDUCE_SUM = 0,
  WEFT_REDUCE_PROD = 1,
  WEFT_REDUCE_MIN = 2,
  WEFT_REDUCE_MAX = 3,
} weft_reduce_op_t;

/* Collectives. Every rank of the group calls the same collective, with the
 * same sizes, dtype, op and root, from its own thread, in the same order as
 * the other ranks; each call returns once this rank's result is complete and
 * no peer reads its buffers any more. A call whose arguments differ from a
 * peer's in the same collective returns WEFT_INVALID_ARGUMENT on every rank
 * (and moves no data). Counts are elements, bytes are bytes; a send buffer
 * may be the receive buffer (in place) unless a function says otherwise.
 * Reductions take signed and unsigned integers of every width, f32 and f64
 * (a sum of floats adds the ranks in rank order, so every rank gets the same
 * bits). */

/* recv[i] = op over ranks of send[i], for i in [0, count). */
weft_status_t weft_group_all_reduce(weft_device_group_t *group, int32_t rank,
                                    weft_dtype_t dtype, weft_reduce_op_t op,
                                    const void *send, void *recv,
                                    int64_t count);
/* send holds size * count elements, recv count: rank r's recv[i] is op
 * over ranks of send[r * count + i]. `send` must not overlap `recv`. */
weft_status_t weft_group_reduce_scatter(weft_device_group_t *group,
                                        int32_t rank, weft_dtype_t dtype,
                                        weft_reduce_op_t op, const void *send,
                                        void *recv, int64_t count);
/* recv (size * bytes) receives every rank's `bytes` of send, in rank order.
 * `send` may be recv + rank * bytes (in place). */
weft_status_t weft_group_all_gather(weft_device_group_t *group, int32_t rank,
                                    const void *send, void *recv,
                                    size_t bytes);
/* Block j of send (size blocks of `bytes`) goes to rank j, which receives
 * it as its block `rank`. `send` must not overlap `recv`. */
weft_status_t weft_group_all_to_all(weft_device_group_t *group, int32_t rank,
                                    const void *send, void *recv,
                                    size_t bytes);
/* Every rank's `buffer` receives root's `bytes`. */
weft_status_t weft_group_broadcast(weft_device_group_t *group, int32_t rank,
                                   int32_t root, void *buffer, size_t bytes);
/* Point to point: `rank` sends `bytes` to `peer`, which calls
 * weft_group_recv(group, peer, rank, ...) with the same size. Each returns
 * once the bytes have been copied. Messages between one pair arrive in the
 * order they were sent. A rank cannot send to itself. */
weft_status_t weft_group_send(weft_device_group_t *group, int32_t rank,
                              int32_t peer, const void *buffer, size_t bytes);
weft_status_t weft_group_recv(weft_device_group_t *group, int32_t rank,
                              int32_t peer, void *buffer, size_t bytes);

/* Sub-groups, such as the rows and the columns of a 2-D grid of devices:
 * the ranks of `group` with equal colors[rank] form one sub-group, in rank
 * order. `colors` holds one non-negative color per rank of the group, the
 * same array on every process (under MPI every process must call this: it
 * is collective). The split is called with the group's own ranks: a
 * collective called at rank r runs among the ranks of r's color only, and
 * its rank order (an all-gather's blocks, a reduce-scatter's parts, the
 * in-place position recv + i * bytes) is r's position i among them; a
 * broadcast's root is a rank of the group in r's sub-group. Send and recv
 * go through the group. weft_device_group_size and weft_device_group_device
 * answer as for the group, whose devices the split borrows: destroy the
 * split before the group. A split cannot be split again. */
weft_status_t weft_device_group_split(weft_device_group_t *group,
                                      const int32_t *colors,
                                      const weft_allocator_t *allocator,
                                      weft_device_group_t **out_split);

/*===------------------------------------------------------------------===*
 * Arena
 *===------------------------------------------------------------------===*/

/* One contiguous block that holds every intermediate tensor of a model at the
 * offsets its memory plan chose at compile time. */
typedef struct weft_arena_t weft_arena_t;

/* `alignment` must be a power of two; a NULL allocator means the default one.
 * A zero-byte arena is valid and its data is NULL. */
weft_status_t weft_arena_create(const weft_allocator_t *allocator, size_t size,
                                size_t alignment, weft_arena_t **out_arena);
void weft_arena_destroy(weft_arena_t *arena);
void *weft_arena_data(const weft_arena_t *arena);
size_t weft_arena_size(const weft_arena_t *arena);

/*===------------------------------------------------------------------===*
 * Compiled models
 *===------------------------------------------------------------------===*/

typedef struct weft_tensor_info_t {
  const char *name;
  weft_dtype_t dtype;
  int32_t rank;
  const int64_t *shape;
  /* Inputs only: NULL, or the dense bytes of the one value the model was
   * compiled for (weftc --input-value); a run with other bytes fails. */
  const void *value;
  /* How a multi-device model's devices share the tensor: -1 when each
   * device uses all of it (an output then comes from device 0, whose copy
   * every device computed alike), else the axis that is cut into
   * num_devices equal parts, device r holding part r (on a grid, see
   * weft_model_info_t.grid_shape). Not read for a
   * model compiled for one device. In a pipeline (num_micro_batches > 1)
   * the axis is instead cut into num_micro_batches equal micro-batches,
   * which stream through the stages. */
  int32_t split_axis;
  /* Outputs only: NULL when every dim is fixed. Else `rank` entries: -1 for
   * a fixed dim, k >= 0 for a dim whose size each run decides (NonZero's
   * count, the boxes NonMaxSuppression keeps), given by the run's size k
   * (see weft_model_info_t.num_extents); shape[d] is then the most it can
   * be. The caller passes a view of that largest shape; the run writes the
   * tensor of its own shape, dense and row-major, at the start of it, and
   * weft_model_output_shape tells that shape. */
  const int32_t *run_time_dims;
} weft_tensor_info_t;

/* The entry point weftc emits for a model. `inputs`/`outputs` are data
 * pointers in model order; `arena` holds arena_size bytes. Returns NULL or the
 * first failing status of a dispatch. */
typedef weft_status_t (*weft_model_entry_fn_t)(weft_device_t *device,
                                               void *arena,
                                               void *const *inputs,
                                               void *const *outputs);

/* The entry point of a model compiled for several devices (weftc
 * --devices=cpu:N): runs device `rank`'s share of the model on `device`
 * with that device's arena. `inputs`/`outputs` hold the device's own part
 * of each tensor (see weft_tensor_info_t.split_axis). Collectives between
 * the devices go through `groups`: groups[0] is the whole group, and
 * groups[1 + k] for each axis k of the model's grid (one axis when
 * num_grid_axes is 0) a split of it whose sub-groups are the devices that
 * differ only in their coordinate along axis k. Every rank of the group
 * runs it, at the same time. */
typedef weft_status_t (*weft_spmd_entry_fn_t)(weft_device_group_t *const *groups,
                                              int32_t rank,
                                              weft_device_t *device,
                                              void *arena,
                                              void *const *inputs,
                                              void *const *outputs);

/* The entry point of a model compiled for a CUDA device (weftc
 * --target=cuda): launches the kernels on `device` and returns without
 * waiting for them. `arena`, `weights`, `inputs` and `outputs` are device
 * addresses. */
typedef weft_status_t (*weft_device_entry_fn_t)(weft_device_t *device,
                                                const weft_kernel_table_t *kernels,
                                                void *arena, const void *weights,
                                                void *const *inputs,
                                                void *const *outputs);

/* A CUDA model split across devices: what weft_device_entry_fn_t is to
 * one device, with the groups and the rank of weft_spmd_entry_fn_t. The
 * collectives are called with device addresses. */
typedef weft_status_t (*weft_spmd_device_entry_fn_t)(weft_device_group_t *const *groups,
                                                     int32_t rank, weft_device_t *device,
                                                     const weft_kernel_table_t *kernels,
                                                     void *arena, const void *weights,
                                                     void *const *inputs,
                                                     void *const *outputs);

/* One compiled image of a CUDA model's kernels: a fat binary (the cubin for
 * `arch` and its PTX). */
typedef struct weft_device_image_t {
  const char *arch; /* "sm_90" */
  const void *data;
  uint64_t size;
} weft_device_image_t;

/* A pipeline's value sent from stage `from` (on device `from`) to the later
 * stage `to` after each micro-batch: `bytes` from the sender's input
 * `from_input` (>= 0: that input's micro-batch) or else from its arena at
 * `from_offset`, into the receiver's arena at `to_offset`, before the
 * receiver's stage runs on the micro-batch. */
typedef struct weft_stage_transfer_t {
  int32_t from, to;
  int32_t from_input;
  uint64_t from_offset, to_offset, bytes;
} weft_stage_transfer_t;

/* Static description of a compiled model, emitted as a constant by weftc and
 * returned by `<name>_info()` (and `weft_model_info()` in a shared library). */
typedef struct weft_model_info_t {
  uint32_t abi_version; /* WEFT_MODEL_ABI_VERSION */
  const char *name;
  int32_t num_inputs;
  const weft_tensor_info_t *inputs;
  int32_t num_outputs;
  const weft_tensor_info_t *outputs;
  uint64_t arena_size; /* of each device */
  uint64_t arena_alignment;
  /* One device: entry is set and spmd_entry is NULL. Several devices:
   * entry is NULL and the model runs through weft_group_model_*. */
  weft_model_entry_fn_t entry;
  int32_t num_devices; /* N of weftc --devices=cpu:N; 0 or 1: one device */
  const char *parallel_plan; /* "none", or how the devices share the work:
                                "data", "tensor", "pipeline", "annotated" */
  weft_spmd_entry_fn_t spmd_entry;
  uint64_t weight_bytes; /* bytes of embedded weights one device reads (the
                            most any device reads) */
  /* A pipeline: device k runs stage k (spmd_entry at rank k runs only
   * that stage's code) on each of num_micro_batches micro-batches in turn;
   * the runtime moves the transfers between the stages after each one.
   * 0 or 1 and no transfers for the other plans. */
  int32_t num_micro_batches;
  int32_t num_transfers;
  const weft_stage_transfer_t *transfers;
  /* The devices as a grid (a hybrid plan such as weftc
   * --parallel=data*tensor): num_grid_axes extents whose product is
   * num_devices, device r at the row-major coordinates of r. 0 and NULL
   * mean one axis of num_devices. A split tensor is cut into grid_shape[0]
   * parts, device r holding part r / (num_devices / grid_shape[0]): the
   * devices that differ only along the later axes share a part. At most
   * WEFT_MAX_GRID_AXES axes. */
  int32_t num_grid_axes;
  const int64_t *grid_shape;
  /* The device kind the code is for. A CUDA model has device_entry or
   * spmd_device_entry (entry and spmd_entry are NULL), its kernels' images (one per architecture;
   * the runtime tries the GPU's own architecture first, then a compatible
   * cubin, then PTX it compiles), the kernels' names
   * (device_entry launches them by index), and its weights packed into
   * `weights` (weights_size bytes), which weft_model_create copies to the
   * device once. */
  weft_device_kind_t target;
  weft_device_entry_fn_t device_entry;
  int32_t num_device_images;
  const weft_device_image_t *device_images;
  int32_t num_kernels;
  const char *const *kernel_names;
  const void *weights;
  uint64_t weights_size;
  /* weftc --target=cuda-on-cpu: the kernels compiled for the CPU, in kernel
   * order (no images); such a model runs its CUDA host code on a CPU device,
   * one workgroup per GPU thread. NULL otherwise. */
  const weft_workgroup_fn_t *host_kernels;
  /* A CUDA model compiled for several devices: its entry (device_entry is
   * NULL then); it runs through weft_group_model_* on a group of CUDA
   * devices (weft_cuda_device_group_create), or of CPU devices when
   * host_kernels is set. */
  weft_spmd_device_entry_fn_t spmd_device_entry;
  /* Such a model whose weights are cut into parts (tensor parallel):
   * num_weight_parts > 1, and `weights` holds the shared weights
   * (weights_shared_size bytes), then num_weight_parts regions of
   * weight_part_size bytes. Device r gets the shared weights followed by
   * part weight_part_of[r] (num_devices entries), as the code addresses
   * them. 0: every device gets all of `weights`. */
  uint64_t weights_shared_size;
  uint64_t weight_part_size;
  int32_t num_weight_parts;
  const int32_t *weight_part_of;
  /* How many sizes a run decides (see weft_tensor_info_t.run_time_dims), at
   * most WEFT_MAX_RUN_TIME_SIZES: the entry takes one more output pointer
   * for each, after the outputs, to an int64_t it writes. Only a model for
   * one CPU device has any. */
  int32_t num_extents;
} weft_model_info_t;

#define WEFT_MODEL_ABI_VERSION 8u
#define WEFT_MAX_RUN_TIME_SIZES 64
#define WEFT_MAX_GRID_AXES 4

typedef struct weft_model_t weft_model_t;

/* Creates an instance: allocates its arena once with `allocator` (NULL means
 * the default allocator). A CUDA model needs a CUDA device (a CPU model a
 * CPU device): its arena, weights and a staging area for host inputs and
 * outputs are device memory, allocated here, its kernels are loaded and its
 * weights copied to the device once. The device is borrowed and must outlive the model.
 * `info` is borrowed too (it is normally a constant in the model's object).
 * arena_alignment 0 means 64. A model may have at most 64 inputs and 64
 * outputs. */
weft_status_t weft_model_create(const weft_model_info_t *info,
                                weft_device_t *device,
                                const weft_allocator_t *allocator,
                                weft_model_t **out_model);
void weft_model_destroy(weft_model_t *model);
const weft_model_info_t *weft_model_get_info(const weft_model_t *model);

/* Checks every view against the model's metadata (count, NULL data, dtype,
 * rank, shape, and the value of an input compiled for one value) and
 * returns WEFT_INVALID_ARGUMENT naming the tensor on a mismatch; an output whose bytes overlap an input, another output or the
 * model's arena is WEFT_INVALID_ARGUMENT too (no in-place runs; inputs may
 * share memory with each other). Then runs the model. Never allocates. A tensor with no elements
 * may have NULL data. One instance runs one call at a time (its arena holds
 * that run's intermediates): a concurrent second call on the same instance
 * returns WEFT_INVALID_ARGUMENT; use one instance per application thread.
 * On a CUDA device the instances of one device share its stream and run one
 * at a time (a run waits for the one in progress). */
weft_status_t weft_model_run(weft_model_t *model,
                             const weft_tensor_view_t *inputs,
                             size_t num_inputs,
                             const weft_tensor_view_t *outputs,
                             size_t num_outputs);

/* The shape of output `output` in the model's last successful run: its
 * rank in *out_rank and its dims in out_shape (room for WEFT_MAX_RANK). A
 * fixed-shape output always has its compiled shape; one with dims sized at
 * run time (weft_tensor_info_t.run_time_dims) has the run's sizes, and
 * WEFT_UNAVAILABLE before a run succeeded. */
weft_status_t weft_model_output_shape(const weft_model_t *model, int32_t output,
                                      int32_t *out_rank, int64_t *out_shape);

/* The GPU time of the model's last completed run, from its first copy in to
 * its last copy out (CUDA events on the device's stream), in milliseconds.
 * WEFT_UNAVAILABLE for a model on a CPU device or before a run completed. */
weft_status_t weft_model_device_time(const weft_model_t *model, double *out_ms);

/*===------------------------------------------------------------------===*
 * Models compiled for several devices
 *===------------------------------------------------------------------===*/

/* An instance of a multi-device model on a device group of exactly
 * info->num_devices devices: one arena per device of this process, and
 * staging buffers for the parts of tensors that a device cannot read or
 * write in place, all allocated here. A model compiled for one device runs
 * on a group of one too. In one process (weft_cpu_device_group_create) it
 * also starts one thread per device beyond the first, which waits for
 * runs. */
typedef struct weft_group_model_t weft_group_model_t;

weft_status_t weft_group_model_create(const weft_model_info_t *info,
                                      weft_device_group_t *group,
                                      const weft_allocator_t *allocator,
                                      weft_group_model_t **out_model);
/* Joins the threads and frees everything. NULL is a no-op. */
void weft_group_model_destroy(weft_group_model_t *model);
const weft_model_info_t *weft_group_model_get_info(
    const weft_group_model_t *model);

/* Runs the model on every device of the group. The views are the whole
 * tensors, checked as weft_model_run checks them. In one process the call
 * splits the inputs (a part that is contiguous is read in place), runs the
 * devices concurrently (the first on the calling thread) and returns when
 * all have finished, with the first failing device's status; a device
 * that fails aborts the run, so that its peers waiting for it in a
 * collective or a message fail too rather than wait (a GPU's NCCL work
 * already queued is not aborted). Under MPI
 * every process calls it: rank 0 passes the views, the other ranks pass
 * NULL and 0 (their views are not read); rank 0 sends each device its
 * part, and receives the outputs' parts; a process whose run fails tells
 * the others, whose waits for it give up, and every rank returns the same
 * status code (after a failed run the processes renew their MPI
 * communicators, together). Never allocates. */
weft_status_t weft_group_model_run(weft_group_model_t *model,
                                   const weft_tensor_view_t *inputs,
                                   size_t num_inputs,
                                   const weft_tensor_view_t *outputs,
                                   size_t num_outputs);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_RUNTIME_H */
