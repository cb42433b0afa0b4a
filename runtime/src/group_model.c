/* Multi-device models: an instance of a model compiled for N devices on a
 * device group of N devices.
 *
 * Each device runs the same compiled program (the model's spmd_entry) on
 * its own part of every tensor. A tensor with split axis -1 is whole on
 * every device; one with split axis a is cut along a into N equal parts,
 * device r holding part r. A part is contiguous in the whole tensor when
 * every dimension before a is 1 (axis 0 of a batch, say): a device then
 * reads or writes it in place. Other parts go through a staging buffer of
 * the device, copied block by block.
 *
 * In one process every rank lives here: rank 0 runs on the calling thread,
 * each other rank on a thread of this instance started at creation.
 * Across processes (MPI) each process holds one rank: rank 0 sends the
 * other ranks their parts of the inputs (send/recv, or a broadcast for a
 * whole tensor), every rank runs, and rank 0 receives the outputs' parts.
 *
 * On a grid of devices (a hybrid plan) a split tensor is cut into one part
 * per coordinate of the grid's first axis, and the devices that differ
 * only along the later axes share it: each reads the same input part, and
 * the first of them (the writer) writes the output part. Each axis of the
 * grid gets a split of the group at creation, whose sub-groups carry the
 * collectives along that axis.
 *
 * A pipeline (weft_model_is_pipeline) cuts the split tensors into
 * micro-batches instead: device k runs stage k on micro-batch 0, 1, ...
 * in turn. After each micro-batch a stage sends a flag (whether it and the
 * stages before it succeeded) to the next stage and its transfers to the
 * stages that read them; before each, a stage receives from the earlier
 * stages in rank order. So stage k works on micro-batch i+1 while stage
 * k+1 works on micro-batch i, and a failure reaches every later stage,
 * which skips its work instead of waiting forever. Rank 0 reads the
 * inputs; the last rank writes the outputs (under MPI into a staging copy
 * that it sends to rank 0 at the end).
 *
 * A CUDA model (weftc --target=cuda --devices=cuda:0,cuda:1,...) runs the
 * same way on a group of GPUs (weft_cuda_device_group_create in one
 * process, weft_mpi_cuda_device_group_create across processes): each rank
 * loads the kernels on its GPU and holds its arena, weights and a slot per
 * tensor there; a rank copies its part of each input (the host part found
 * as above) into its slot, runs the compiled host program, whose
 * collectives and a pipeline's transfers pass device addresses, and a
 * writer copies its output parts back. A CUDA model compiled for the CPU
 * (--target=cuda-on-cpu) runs the same code on a group of CPU devices,
 * its slots and copies in host memory.
 *
 * Every buffer is allocated at creation; a run allocates nothing. */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A CUDA model's buffers on one local rank's device. */
typedef struct rank_device_t {
  weft_cuda_model_t *gpu;           /* on a GPU; NULL on a CPU device */
  weft_kernel_table_t host_kernels; /* on a CPU device (--target=cuda-on-cpu) */
  const weft_kernel_table_t *kernels;
  void *arena;
  const void *weights;
  /* The rank's part (a pipeline: the whole) of each input and output. */
  void *in[WEFT_MAX_MODEL_IO], *out[WEFT_MAX_MODEL_IO];
  void *host_slots;   /* one block for in/out on a CPU device */
  void *host_weights; /* on a CPU device: the shared weights and its part */
} rank_device_t;

struct weft_group_model_t {
  const weft_model_info_t *info;
  weft_device_group_t *group;
  /* The entry's groups: the whole group, then one per grid axis (splits
   * owned here, or the group itself for a one-axis grid). */
  weft_device_group_t *groups[1 + WEFT_MAX_GRID_AXES];
  weft_device_group_t *splits[WEFT_MAX_GRID_AXES];
  weft_allocator_t allocator;
  int32_t num_local;   /* ranks of this process */
  int32_t first_local; /* the first of them */
  bool distributed;    /* the group spans several processes */
  weft_arena_t **arenas; /* [num_local]; NULL entries on GPUs */
  rank_device_t *ranks;  /* [num_local] for a CUDA model, else NULL */
  /* [local * num_tensors + t], inputs first: a buffer of the device's part
   * of tensor t when it cannot use the caller's memory, else NULL. */
  void **staging;
  int32_t num_tensors;

  /* The run in flight, shared with the rank threads. */
  void *const *run_inputs;
  void *const *run_outputs;
  weft_status_t *statuses; /* [num_local] */
  pthread_t *threads;      /* [num_local - 1] */
  int32_t num_threads;     /* started */
  bool sync_ready;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t generation; /* written under mu, polled without it */
  int32_t finished; /* written under mu, polled without it */
  /* The local rank (+ 1) whose failure aborted the run; 0: none. */
  int32_t aborted_by;
  bool stop;
  atomic_bool running;
};

/*===--- parts of tensors -------------------------------------------------===*/

typedef struct part_layout_t {
  size_t outer;  /* blocks: the product of the dims before the axis */
  size_t block;  /* bytes of one part within a block */
  size_t stride; /* bytes of a whole block */
} part_layout_t;

static part_layout_t layout_of(const weft_tensor_info_t *t, int32_t parts) {
  part_layout_t l = {1, weft_dtype_size(t->dtype), 0};
  for (int32_t d = 0; d < t->split_axis; ++d)
    l.outer *= (size_t)t->shape[d];
  size_t inner = l.block;
  for (int32_t d = t->split_axis + 1; d < t->rank; ++d)
    inner *= (size_t)t->shape[d];
  l.stride = inner * (size_t)t->shape[t->split_axis];
  l.block = inner * (size_t)(t->shape[t->split_axis] / parts);
  return l;
}

/* Bytes of one device's part (the whole tensor when it is not split). */
static size_t part_bytes(const weft_tensor_info_t *t, int32_t parts) {
  if (parts <= 1 || t->split_axis < 0)
    return weft_info_byte_size(t);
  part_layout_t l = layout_of(t, parts);
  return l.outer * l.block;
}

static bool part_in_place(const weft_tensor_info_t *t) {
  for (int32_t d = 0; d < t->split_axis; ++d)
    if (t->shape[d] != 1)
      return false;
  return true;
}

/* Where part `r` starts in the whole tensor (contiguous parts only). */
static char *part_address(const weft_tensor_info_t *t, int32_t parts, void *whole, int32_t r) {
  return (char *)whole + (size_t)r * layout_of(t, parts).block;
}

/* Copies part `r` out of the whole tensor into `part` (to_part) or back. */
static void copy_part(const weft_tensor_info_t *t, int32_t parts, void *whole, void *part,
                      int32_t r, bool to_part) {
  part_layout_t l = layout_of(t, parts);
  if (l.block == 0)
    return;
  for (size_t o = 0; o < l.outer; ++o) {
    char *w = (char *)whole + o * l.stride + (size_t)r * l.block;
    char *p = (char *)part + o * l.block;
    if (to_part)
      memcpy(p, w, l.block);
    else
      memcpy(w, p, l.block);
  }
}

/* Whether every device uses all of the tensor. */
static bool whole(const weft_model_info_t *info, const weft_tensor_info_t *t) {
  return weft_model_num_devices(info) == 1 || t->split_axis < 0;
}

static const weft_tensor_info_t *tensor_info(const weft_model_info_t *info, int32_t t) {
  return t < info->num_inputs ? &info->inputs[t] : &info->outputs[t - info->num_inputs];
}

/* Whether `rank` writes the outputs' parts it computes into the caller's
 * tensors: the first device of each part (rank 0 for a whole output). */
static bool writer(const weft_model_info_t *info, const weft_tensor_info_t *t, int32_t rank) {
  if (whole(info, t))
    return rank == 0;
  return rank % (weft_model_num_devices(info) / weft_model_parts(info)) == 0;
}

/* Whether local rank index `l` needs a buffer of its own for tensor t. */
static bool needs_staging(const weft_group_model_t *m, int32_t l, int32_t t) {
  const weft_tensor_info_t *ti = tensor_info(m->info, t);
  int32_t rank = m->first_local + l;
  bool output = t >= m->info->num_inputs;
  if (weft_model_is_pipeline(m->info)) /* the last stage's outputs, for rank 0 */
    return m->distributed && output && rank == weft_model_num_devices(m->info) - 1 &&
           rank != 0;
  if (m->distributed && rank != 0)
    return true; /* the caller's views live on rank 0 only */
  if (output && !writer(m->info, ti, rank))
    return !m->ranks; /* computed alike by a writer (a CUDA rank keeps it) */
  return !whole(m->info, ti) && !part_in_place(ti);
}

/*===--- one rank's run ---------------------------------------------------===*/

static weft_status_t call_entry(weft_group_model_t *m, int32_t l, void *const *in,
                                void *const *out) {
  const weft_model_info_t *info = m->info;
  int32_t rank = m->first_local + l;
  weft_device_t *device = weft_device_group_device(m->group, rank);
  if (m->ranks) {
    rank_device_t *rd = &m->ranks[l];
    /* A model compiled for one device has no SPMD entry: it runs alone on
     * a group of one. */
    if (weft_model_num_devices(info) == 1)
      return info->device_entry(device, rd->kernels, rd->arena, rd->weights, in, out);
    return info->spmd_device_entry(m->groups, rank, device, rd->kernels, rd->arena,
                                   rd->weights, in, out);
  }
  void *arena = weft_arena_data(m->arenas[l]);
  if (weft_model_num_devices(info) == 1)
    return info->entry(device, arena, in, out);
  return info->spmd_entry(m->groups, rank, device, arena, in, out);
}

/*===--- pipelines -------------------------------------------------------===*/

/* Keeps `*first` as the first failure of a sequence of calls. */
static void keep(weft_status_t *first, weft_status_t status) {
  if (!*first)
    *first = status;
  else if (status)
    weft_status_free(status);
}

/* Micro-batch `i` of each tensor: its part i (parts are contiguous in a
 * pipeline) or the whole tensor. */
static void micro_batch(const weft_model_info_t *info, int32_t first, int32_t count,
                        void *const *whole_data, int32_t i, void **out) {
  for (int32_t t = 0; t < count; ++t) {
    const weft_tensor_info_t *ti = tensor_info(info, first + t);
    out[t] = !whole_data[t] || ti->split_axis < 0
                 ? whole_data[t]
                 : part_address(ti, info->num_micro_batches, whole_data[t], i);
  }
}

/* Runs stage `rank` (local rank l) on every micro-batch. `in` holds the
 * whole inputs on rank 0; `out` the whole outputs (or their staging) on
 * the last rank; NULL elsewhere. */
static weft_status_t run_pipeline_rank(weft_group_model_t *m, int32_t l, void *const *in,
                                       void *const *out) {
  const weft_model_info_t *info = m->info;
  weft_device_group_t *g = m->group;
  int32_t rank = m->first_local + l, n = weft_model_num_devices(info);
  weft_device_t *device = weft_device_group_device(g, rank);
  rank_device_t *rd = m->ranks ? &m->ranks[l] : NULL;
  char *arena = rd ? rd->arena : weft_arena_data(m->arenas[l]);
  weft_status_t failed = rd && rd->gpu ? weft_cuda_enter(device) : NULL;
  void *const *host_out = out;
  if (rd && rank == 0) /* the whole inputs to the first stage's device */
    for (int32_t t = 0; t < info->num_inputs && !failed; ++t)
      if (weft_info_byte_size(&info->inputs[t]))
        failed = weft_device_write(device, rd->in[t], in[t],
                                   weft_info_byte_size(&info->inputs[t]));
  if (rd) {
    in = rank == 0 ? rd->in : in;
    out = rank == n - 1 ? rd->out : out;
  }
  void *none[WEFT_MAX_MODEL_IO] = {0};
  void *mb_in[WEFT_MAX_MODEL_IO] = {0}, *mb_out[WEFT_MAX_MODEL_IO] = {0};
  for (int32_t i = 0; i < info->num_micro_batches; ++i) {
    int32_t upstream = 1;
    for (int32_t s = 0; s < rank; ++s) {
      if (s == rank - 1) {
        int32_t flag = 0;
        weft_status_t got = weft_group_recv(g, rank, s, &flag, sizeof(flag));
        if (got || !flag)
          upstream = 0;
        keep(&failed, got);
      }
      for (int32_t k = 0; k < info->num_transfers; ++k) {
        const weft_stage_transfer_t *t = &info->transfers[k];
        if (t->from == s && t->to == rank && t->bytes)
          keep(&failed, weft_group_recv(g, rank, s, arena + t->to_offset, (size_t)t->bytes));
      }
    }
    if (rank == 0)
      micro_batch(info, 0, info->num_inputs, in, i, mb_in);
    if (rank == n - 1)
      micro_batch(info, info->num_inputs, info->num_outputs, out, i, mb_out);
    if (!failed && upstream)
      failed = call_entry(m, l, rank == 0 ? mb_in : none, rank == n - 1 ? mb_out : none);
    int32_t ok = !failed && upstream;
    for (int32_t d = rank + 1; d < n; ++d) {
      if (d == rank + 1)
        keep(&failed, weft_group_send(g, rank, d, &ok, sizeof(ok)));
      for (int32_t k = 0; k < info->num_transfers; ++k) {
        const weft_stage_transfer_t *t = &info->transfers[k];
        if (t->from != rank || t->to != d || !t->bytes)
          continue;
        const void *from = t->from_input >= 0 ? mb_in[t->from_input] : arena + t->from_offset;
        keep(&failed, weft_group_send(g, rank, d, from, (size_t)t->bytes));
      }
    }
  }
  if (rd && rank == n - 1) /* the whole outputs back from the last stage */
    for (int32_t o = 0; o < info->num_outputs && !failed; ++o)
      if (weft_info_byte_size(&info->outputs[o]))
        failed = weft_device_read(device, host_out[o], rd->out[o],
                                  weft_info_byte_size(&info->outputs[o]));
  if (rd)
    keep(&failed, weft_device_wait(device, weft_model_name(info)));
  return failed;
}

/* A CUDA model's rank: its parts of the inputs (host `in`) to its slots,
 * the run, its output parts (a writer's) back to host `out`. */
static weft_status_t run_device_rank(weft_group_model_t *m, int32_t l, void *const *in,
                                     void *const *out) {
  const weft_model_info_t *info = m->info;
  int32_t rank = m->first_local + l, parts = weft_model_parts(info);
  weft_device_t *device = weft_device_group_device(m->group, rank);
  rank_device_t *rd = &m->ranks[l];
  /* This thread launches on the GPU: its context first. */
  weft_status_t failed = rd->gpu ? weft_cuda_enter(device) : NULL;
  for (int32_t t = 0; t < info->num_inputs && !failed; ++t) {
    size_t bytes = part_bytes(&info->inputs[t], parts);
    if (bytes)
      failed = weft_device_write(device, rd->in[t], in[t], bytes);
  }
  if (!failed)
    failed = call_entry(m, l, rd->in, rd->out);
  for (int32_t o = 0; o < info->num_outputs && !failed; ++o) {
    const weft_tensor_info_t *ti = &info->outputs[o];
    size_t bytes = part_bytes(ti, parts);
    if (bytes && writer(info, ti, rank))
      failed = weft_device_read(device, out[o], rd->out[o], bytes);
  }
  /* Nothing of this run may still be queued when it returns. */
  keep(&failed, weft_device_wait(device, weft_model_name(info)));
  return failed;
}

/* In one process: local rank l cuts its parts out of the run's tensors,
 * runs, and puts its output parts back. */
static weft_status_t run_local_rank(weft_group_model_t *m, int32_t l) {
  const weft_model_info_t *info = m->info;
  int32_t rank = m->first_local + l, n = weft_model_num_devices(info);
  if (weft_model_is_pipeline(info))
    return run_pipeline_rank(m, l, rank == 0 ? m->run_inputs : NULL,
                             rank == n - 1 ? m->run_outputs : NULL);
  int32_t parts = weft_model_parts(info), part = weft_model_part_of(info, rank);
  void *in[WEFT_MAX_MODEL_IO], *out[WEFT_MAX_MODEL_IO];
  for (int32_t t = 0; t < info->num_inputs + info->num_outputs; ++t) {
    const weft_tensor_info_t *ti = tensor_info(info, t);
    bool output = t >= info->num_inputs;
    void *whole_data = output ? m->run_outputs[t - info->num_inputs] : m->run_inputs[t];
    void *staged = m->staging[l * m->num_tensors + t];
    void *local;
    if (staged)
      local = staged;
    else if (whole(info, ti))
      local = whole_data;
    else
      local = part_address(ti, parts, whole_data, part);
    if (staged && !output && !whole(info, ti))
      copy_part(ti, parts, whole_data, staged, part, true);
    if (output)
      out[t - info->num_inputs] = local;
    else
      in[t] = local;
  }
  weft_status_t status = m->ranks ? run_device_rank(m, l, in, out) : call_entry(m, l, in, out);
  for (int32_t o = 0; o < info->num_outputs; ++o) {
    const weft_tensor_info_t *ti = &info->outputs[o];
    void *staged = m->staging[l * m->num_tensors + info->num_inputs + o];
    if (staged && !whole(info, ti) && writer(info, ti, rank))
      copy_part(ti, parts, m->run_outputs[o], staged, part, false);
  }
  return status;
}

/* A rank failed: the ranks waiting for it in a collective or a message
 * of the model's groups fail too, rather than wait forever (across
 * processes too: the group tells every process). */
static void abort_groups(weft_group_model_t *m) {
  weft_group_abort(m->group);
  for (int32_t k = 0; k < WEFT_MAX_GRID_AXES; ++k)
    weft_group_abort(m->splits[k]);
}

/* Keeps the first failure of a rank split across processes, and on it
 * aborts the run at once, before this rank waits for anyone else. */
static void keep_or_abort(weft_group_model_t *m, weft_status_t *failed, weft_status_t status) {
  keep(failed, status);
  if (*failed)
    abort_groups(m);
}

/* In one process: local rank l failed, the run's status is its own. */
static void abort_run(weft_group_model_t *m, int32_t l) {
  int32_t none = 0;
  __atomic_compare_exchange_n(&m->aborted_by, &none, l + 1, false, __ATOMIC_ACQ_REL,
                              __ATOMIC_ACQUIRE);
  abort_groups(m);
}

/* After a failed run, every rank back: the groups are ready again. */
static void recover_run(weft_group_model_t *m) {
  weft_group_recover(m->group);
  for (int32_t k = 0; k < WEFT_MAX_GRID_AXES; ++k)
    weft_group_recover(m->splits[k]);
}

static void *rank_thread(void *arg) {
  weft_group_model_t *m = ((void **)arg)[0];
  int32_t l = (int32_t)(intptr_t)((void **)arg)[1];
  m->allocator.free(m->allocator.user_data, arg);
  uint64_t seen = 0;
  for (;;) {
    /* Runs often follow each other closely: poll before sleeping. */
    weft_spin_while_equal(&m->generation, seen);
    pthread_mutex_lock(&m->mu);
    while (m->generation == seen && !m->stop)
      pthread_cond_wait(&m->cv, &m->mu);
    if (m->stop) {
      pthread_mutex_unlock(&m->mu);
      return NULL;
    }
    seen = m->generation;
    pthread_mutex_unlock(&m->mu);
    weft_status_t status = run_local_rank(m, l);
    if (status)
      abort_run(m, l);
    pthread_mutex_lock(&m->mu);
    m->statuses[l] = status;
    __atomic_store_n(&m->finished, m->finished + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
  }
}

/*===--- create / destroy -------------------------------------------------===*/

void weft_group_model_destroy(weft_group_model_t *m) {
  if (!m)
    return;
  if (m->sync_ready) {
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    for (int32_t i = 0; i < m->num_threads; ++i)
      pthread_join(m->threads[i], NULL);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
  }
  for (int32_t k = 0; k < WEFT_MAX_GRID_AXES; ++k)
    weft_device_group_destroy(m->splits[k]);
  weft_allocator_t a = m->allocator;
  for (int32_t l = 0; m->ranks && l < m->num_local; ++l) {
    weft_cuda_model_destroy(m->ranks[l].gpu);
    if (m->ranks[l].host_slots)
      a.free(a.user_data, m->ranks[l].host_slots);
    if (m->ranks[l].host_weights)
      a.free(a.user_data, m->ranks[l].host_weights);
  }
  if (m->staging)
    for (int32_t i = 0; i < m->num_local * m->num_tensors; ++i)
      if (m->staging[i])
        a.free(a.user_data, m->staging[i]);
  if (m->arenas)
    for (int32_t l = 0; l < m->num_local; ++l)
      weft_arena_destroy(m->arenas[l]);
  void *arrays[] = {m->staging, m->arenas, m->statuses, m->threads, m->ranks};
  for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); ++i)
    if (arrays[i])
      a.free(a.user_data, arrays[i]);
  a.free(a.user_data, m);
}

static void *alloc_zeroed(const weft_allocator_t *a, size_t bytes) {
  void *p = a->alloc(a->user_data, bytes ? bytes : 1, 64);
  if (p)
    memset(p, 0, bytes ? bytes : 1);
  return p;
}

/* Bytes of a rank's own buffer (staging, or a CUDA rank's slot) for
 * tensor t: its part, or the whole tensor in a pipeline. */
static size_t slot_bytes(const weft_model_info_t *info, int32_t t) {
  const weft_tensor_info_t *ti = tensor_info(info, t);
  return weft_model_is_pipeline(info) ? weft_info_byte_size(ti)
                                      : part_bytes(ti, weft_model_parts(info));
}

/* A CUDA model's rank on a GPU: its kernels, weights, arena and slots. */
static weft_status_t create_gpu_rank(weft_group_model_t *m, int32_t l) {
  rank_device_t *rd = &m->ranks[l];
  weft_device_t *device = m->group->devices[l];
  weft_status_t status =
      weft_cuda_model_create(m->info, device, m->first_local + l, &m->allocator, &rd->gpu);
  if (!status)
    weft_cuda_model_buffers(rd->gpu, m->info, &rd->arena, &rd->weights, rd->in, rd->out,
                            &rd->kernels);
  return status;
}

/* A CUDA model's rank on a CPU device (--target=cuda-on-cpu): the host
 * kernels, the embedded weights, the arena and slots in host memory. */
static weft_status_t create_host_rank(weft_group_model_t *m, int32_t l) {
  const weft_model_info_t *info = m->info;
  rank_device_t *rd = &m->ranks[l];
  rd->host_kernels.count = info->num_kernels;
  rd->host_kernels.names = info->kernel_names;
  rd->host_kernels.host = info->host_kernels;
  rd->host_kernels.model = weft_model_name(info);
  rd->kernels = &rd->host_kernels;
  rd->arena = weft_arena_data(m->arenas[l]);
  rd->weights = info->weights;
  if (info->num_weight_parts > 1) { /* as a GPU would: shared, then its part */
    size_t shared = (size_t)info->weights_shared_size, part = (size_t)info->weight_part_size;
    int32_t which = info->weight_part_of[m->first_local + l];
    rd->host_weights = alloc_zeroed(&m->allocator, shared + part);
    if (!rd->host_weights)
      return weft_status_create(WEFT_OUT_OF_MEMORY, "weft_group_model_create: out of memory");
    memcpy(rd->host_weights, info->weights, shared);
    memcpy((char *)rd->host_weights + shared,
           (const char *)info->weights + shared + (size_t)which * part, part);
    rd->weights = rd->host_weights;
  }
  size_t total = 0;
  for (int32_t t = 0; t < m->num_tensors; ++t)
    total += (slot_bytes(info, t) + 63) / 64 * 64;
  rd->host_slots = alloc_zeroed(&m->allocator, total);
  if (!rd->host_slots)
    return weft_status_create(WEFT_OUT_OF_MEMORY,
                              "weft_group_model_create: out of memory for %zu bytes of slots",
                              total);
  char *at = rd->host_slots;
  for (int32_t t = 0; t < m->num_tensors; ++t) {
    if (t < info->num_inputs)
      rd->in[t] = at;
    else
      rd->out[t - info->num_inputs] = at;
    at += (slot_bytes(info, t) + 63) / 64 * 64;
  }
  return NULL;
}

weft_status_t weft_group_model_create(const weft_model_info_t *info,
                                      weft_device_group_t *group,
                                      const weft_allocator_t *allocator,
                                      weft_group_model_t **out_model) {
  const char *who = "weft_group_model_create";
  if (!out_model)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: out_model is NULL", who);
  *out_model = NULL;
  weft_status_t status = weft_check_model_info(info, who);
  if (status)
    return status;
  if (info->num_extents > 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: model '%s' has outputs sized at run time; create it on "
                              "a device with weft_model_create",
                              who, weft_model_name(info));
  if (!group)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: group is NULL", who);
  bool cuda = info->target == WEFT_DEVICE_CUDA;
  for (int32_t l = 0; !cuda && l < group->num_local; ++l)
    if (weft_device_kind(group->devices[l]) != WEFT_DEVICE_CPU)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: model '%s' was compiled for CPU devices; compile it with "
                                "--target=cuda to run it on GPUs",
                                who, weft_model_name(info));
  for (int32_t l = 0; cuda && l < group->num_local; ++l) {
    weft_device_kind_t kind = weft_device_kind(group->devices[l]);
    if (info->host_kernels ? kind != WEFT_DEVICE_CPU : kind != WEFT_DEVICE_CUDA)
      return weft_status_create(
          WEFT_INVALID_ARGUMENT,
          info->host_kernels
              ? "%s: model '%s' was compiled with --target=cuda-on-cpu: run it on a group of "
                "CPU devices (weft_cpu_device_group_create)"
              : "%s: CUDA model '%s' needs a group of GPUs (weft_cuda_device_group_create, "
                "or weft_mpi_cuda_device_group_create across processes)",
          who, weft_model_name(info));
  }
  if (group->size != weft_model_num_devices(info))
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "%s: model '%s' was compiled for %d device%s but the group has %d%s", who,
        weft_model_name(info), (int)weft_model_num_devices(info), weft_model_num_devices(info) == 1 ? "" : "s",
        (int)group->size,
        group->num_local < group->size ? " (MPI processes: run it with mpirun -np "
                                         "matching the model)"
                                       : "");
  for (int32_t t = 0; weft_model_is_pipeline(info) && t < info->num_inputs + info->num_outputs;
       ++t)
    if (!whole(info, tensor_info(info, t)) && !part_in_place(tensor_info(info, t)))
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: model '%s' is a pipeline whose micro-batches of '%s' are "
                                "not contiguous; this runtime cuts micro-batches on the "
                                "outermost axis only",
                                who, weft_model_name(info), tensor_info(info, t)->name);
  allocator = weft_allocator_or_default(allocator);
  if (!allocator->alloc || !allocator->free)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: allocator has a NULL alloc or free function", who);
  weft_group_model_t *m = alloc_zeroed(allocator, sizeof(*m));
  if (!m)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  m->info = info;
  m->group = group;
  m->allocator = *allocator;
  m->num_local = group->num_local;
  m->first_local = group->first_local;
  m->distributed = group->num_local < group->size;
  m->num_tensors = info->num_inputs + info->num_outputs;
  atomic_init(&m->running, false);
  size_t slots = (size_t)m->num_local * (size_t)m->num_tensors;
  m->arenas = alloc_zeroed(allocator, (size_t)m->num_local * sizeof(weft_arena_t *));
  m->staging = alloc_zeroed(allocator, slots * sizeof(void *));
  m->statuses = alloc_zeroed(allocator, (size_t)m->num_local * sizeof(weft_status_t));
  m->threads = alloc_zeroed(allocator, (size_t)m->num_local * sizeof(pthread_t));
  if (cuda)
    m->ranks = alloc_zeroed(allocator, (size_t)m->num_local * sizeof(rank_device_t));
  if (!m->arenas || !m->staging || !m->statuses || !m->threads || (cuda && !m->ranks)) {
    weft_group_model_destroy(m);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  }
  for (int32_t l = 0; l < m->num_local && !status; ++l) {
    if (cuda && !info->host_kernels)
      status = create_gpu_rank(m, l);
    else
      status = weft_arena_create(allocator, (size_t)info->arena_size,
                                 (size_t)weft_model_arena_alignment(info), &m->arenas[l]);
    if (!status && cuda && info->host_kernels)
      status = create_host_rank(m, l);
    for (int32_t t = 0; t < m->num_tensors && !status; ++t) {
      if (!needs_staging(m, l, t))
        continue;
      size_t bytes = slot_bytes(info, t);
      if (bytes == 0)
        continue;
      m->staging[l * m->num_tensors + t] = allocator->alloc(allocator->user_data, bytes, 64);
      if (!m->staging[l * m->num_tensors + t])
        status = weft_status_create(WEFT_OUT_OF_MEMORY,
                                    "%s: out of memory for %zu bytes of staging", who, bytes);
    }
  }
  /* One split per grid axis k: the devices whose coordinates agree except
   * along k share a color. */
  m->groups[0] = group;
  int32_t axes = info->num_grid_axes > 0 ? info->num_grid_axes : 1;
  int32_t n = weft_model_num_devices(info);
  int32_t *colors = status || axes == 1 || n == 1
                        ? NULL
                        : alloc_zeroed(allocator, sizeof(int32_t) * (size_t)n);
  if (!status && axes > 1 && n > 1 && !colors)
    status = weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  for (int32_t k = 0; k < axes && !status; ++k) {
    m->groups[1 + k] = group;
    if (!colors)
      continue;
    int64_t stride = 1;
    for (int32_t j = k + 1; j < axes; ++j)
      stride *= info->grid_shape[j];
    for (int32_t r = 0; r < n; ++r)
      colors[r] = (int32_t)(r - (r / stride % info->grid_shape[k]) * stride);
    status = weft_device_group_split(group, colors, allocator, &m->splits[k]);
    m->groups[1 + k] = m->splits[k];
  }
  if (colors)
    allocator->free(allocator->user_data, colors);
  if (status) {
    weft_group_model_destroy(m);
    return status;
  }
  if (!m->distributed && m->num_local > 1) {
    if (pthread_mutex_init(&m->mu, NULL) != 0 || pthread_cond_init(&m->cv, NULL) != 0) {
      weft_group_model_destroy(m);
      return weft_status_create(WEFT_INTERNAL, "%s: cannot create a mutex", who);
    }
    m->sync_ready = true;
    for (int32_t l = 1; l < m->num_local; ++l) {
      void **arg = allocator->alloc(allocator->user_data, 2 * sizeof(void *), sizeof(void *));
      if (arg) {
        arg[0] = m;
        arg[1] = (void *)(intptr_t)l;
      }
      if (!arg || pthread_create(&m->threads[l - 1], NULL, rank_thread, arg) != 0) {
        if (arg)
          allocator->free(allocator->user_data, arg);
        weft_group_model_destroy(m);
        return weft_status_create(WEFT_INTERNAL, "%s: cannot start the thread of device %d",
                                  who, (int)l);
      }
      m->num_threads = l;
    }
  }
  *out_model = m;
  return NULL;
}

const weft_model_info_t *weft_group_model_get_info(const weft_group_model_t *m) {
  return m ? m->info : NULL;
}

/*===--- runs -------------------------------------------------------------===*/

/* Keeps the first failure (by rank) and frees the rest. */
static weft_status_t first_failure(weft_status_t *statuses, int32_t n) {
  weft_status_t first = NULL;
  for (int32_t i = 0; i < n; ++i) {
    if (!first)
      first = statuses[i];
    else if (statuses[i])
      weft_status_free(statuses[i]);
    statuses[i] = NULL;
  }
  return first;
}

static weft_status_t run_in_process(weft_group_model_t *m, void *const *in, void *const *out) {
  m->run_inputs = in;
  m->run_outputs = out;
  if (m->num_local > 1) {
    pthread_mutex_lock(&m->mu);
    __atomic_store_n(&m->finished, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&m->generation, m->generation + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
  }
  m->statuses[0] = run_local_rank(m, 0);
  if (m->statuses[0])
    abort_run(m, 0);
  if (m->num_local > 1) {
    uint64_t start = weft_now_ns();
    for (uint32_t i = 1; __atomic_load_n(&m->finished, __ATOMIC_ACQUIRE) < m->num_local - 1 &&
                         weft_keep_polling(start, i);
         ++i)
      weft_cpu_relax();
    pthread_mutex_lock(&m->mu);
    while (m->finished < m->num_local - 1)
      pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
  }
  /* The failure that aborted the run, not its peers' "another rank
   * failed". */
  int32_t by = __atomic_exchange_n(&m->aborted_by, 0, __ATOMIC_ACQ_REL);
  if (by > 1) {
    weft_status_t first = m->statuses[0];
    m->statuses[0] = m->statuses[by - 1];
    m->statuses[by - 1] = first;
  }
  weft_status_t failed = first_failure(m->statuses, m->num_local);
  if (failed)
    recover_run(m);
  return failed;
}

static weft_status_t agree_on_failure(weft_group_model_t *m, weft_status_t failed);

/* Across processes: this process holds rank `rank`; rank 0 holds the
 * caller's tensors (in/out) and the others their staging buffers. */
static weft_status_t run_distributed(weft_group_model_t *m, void *const *in, void *const *out) {
  const weft_model_info_t *info = m->info;
  weft_device_group_t *g = m->group;
  int32_t rank = m->first_local, n = weft_model_num_devices(info);
  weft_status_t failed = NULL;
  if (weft_model_is_pipeline(info)) {
    /* The last rank computes the outputs into staging, then sends them. */
    void *staged[WEFT_MAX_MODEL_IO] = {0};
    for (int32_t o = 0; o < info->num_outputs; ++o)
      staged[o] = m->staging[info->num_inputs + o];
    failed = run_pipeline_rank(m, 0, rank == 0 ? in : NULL, rank == n - 1 ? staged : NULL);
    for (int32_t o = 0; o < info->num_outputs; ++o) {
      size_t bytes = weft_info_byte_size(&info->outputs[o]);
      if (!bytes)
        continue;
      if (rank == n - 1)
        keep(&failed, weft_group_send(g, rank, 0, staged[o], bytes));
      else if (rank == 0)
        keep(&failed, weft_group_recv(g, rank, n - 1, out[o], bytes));
    }
    return agree_on_failure(m, failed);
  }
  int32_t parts = weft_model_parts(info);
  void *local_in[WEFT_MAX_MODEL_IO], *local_out[WEFT_MAX_MODEL_IO];
  for (int32_t i = 0; i < info->num_inputs; ++i) {
    const weft_tensor_info_t *ti = &info->inputs[i];
    void *staged = m->staging[i];
    size_t bytes = part_bytes(ti, parts);
    if (whole(info, ti)) {
      local_in[i] = rank == 0 ? in[i] : staged;
      if (bytes)
        keep_or_abort(m, &failed, weft_group_broadcast(g, rank, 0, local_in[i], bytes));
      continue;
    }
    if (rank != 0) {
      local_in[i] = staged;
      if (bytes)
        keep_or_abort(m, &failed, weft_group_recv(g, rank, 0, staged, bytes));
      continue;
    }
    for (int32_t r = 1; r < n && bytes; ++r) {
      int32_t part = weft_model_part_of(info, r);
      void *from = part_address(ti, parts, in[i], part);
      if (staged) {
        copy_part(ti, parts, in[i], staged, part, true);
        from = staged;
      }
      keep_or_abort(m, &failed, weft_group_send(g, rank, r, from, bytes));
    }
    local_in[i] = staged ? staged : part_address(ti, parts, in[i], 0);
    if (staged)
      copy_part(ti, parts, in[i], staged, 0, true);
  }
  for (int32_t o = 0; o < info->num_outputs; ++o) {
    const weft_tensor_info_t *ti = &info->outputs[o];
    void *staged = m->staging[info->num_inputs + o];
    if (rank != 0 || staged)
      local_out[o] = staged;
    else
      local_out[o] = whole(info, ti) ? out[o] : part_address(ti, parts, out[o], 0);
  }
  if (!failed)
    failed = m->ranks ? run_device_rank(m, 0, local_in, local_out)
                      : call_entry(m, 0, local_in, local_out);
  /* The peers may wait for this rank in the entry's collectives or for
   * its parts of the outputs. */
  if (failed)
    abort_groups(m);
  /* The writers send their parts of the outputs to rank 0. */
  for (int32_t o = 0; o < info->num_outputs; ++o) {
    const weft_tensor_info_t *ti = &info->outputs[o];
    size_t bytes = part_bytes(ti, parts);
    if (whole(info, ti) || bytes == 0)
      continue;
    if (rank != 0) {
      if (writer(info, ti, rank))
        keep_or_abort(m, &failed, weft_group_send(g, rank, 0, local_out[o], bytes));
      continue;
    }
    void *staged = local_out[o] == m->staging[info->num_inputs + o] ? local_out[o] : NULL;
    if (staged)
      copy_part(ti, parts, out[o], staged, 0, false);
    for (int32_t r = 1; r < n; ++r) {
      if (!writer(info, ti, r))
        continue;
      int32_t part = weft_model_part_of(info, r);
      if (staged) {
        keep_or_abort(m, &failed, weft_group_recv(g, rank, r, staged, bytes));
        copy_part(ti, parts, out[o], staged, part, false);
      } else {
        keep_or_abort(m, &failed,
                      weft_group_recv(g, rank, r, part_address(ti, parts, out[o], part), bytes));
      }
    }
  }
  return agree_on_failure(m, failed);
}

/* Every rank learns whether some rank failed, so all return alike; after
 * a failure the groups are made ready for the next run. */
static weft_status_t agree_on_failure(weft_group_model_t *m, weft_status_t failed) {
  weft_device_group_t *g = m->group;
  bool any = false, interrupted = false;
  weft_status_t agreed;
  if (g->vtable->conclude) {
    agreed = g->vtable->conclude(g, failed != NULL, &any, &interrupted);
  } else {
    int32_t flag = failed ? 1 : 0, max = 0;
    agreed = weft_group_all_reduce(g, m->first_local, WEFT_DTYPE_I32, WEFT_REDUCE_MAX, &flag,
                                   &max, 1);
    any = max != 0;
  }
  if (agreed) {
    keep(&failed, agreed);
    return failed;
  }
  if (any && g->vtable->conclude)
    recover_run(m);
  /* A peer's failure ended this rank's run: report it as the peer's. */
  if (failed && interrupted) {
    weft_status_free(failed);
    failed = NULL;
  }
  if (any && !failed)
    failed = weft_status_create(WEFT_INTERNAL,
                                "model '%s': another device of the group failed this run "
                                "(its process reports why)",
                                weft_model_name(m->info));
  return failed;
}

weft_status_t weft_group_model_run(weft_group_model_t *m, const weft_tensor_view_t *inputs,
                                   size_t num_inputs, const weft_tensor_view_t *outputs,
                                   size_t num_outputs) {
  if (!m)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "weft_group_model_run: model is NULL");
  const weft_model_info_t *info = m->info;
  void *in[WEFT_MAX_MODEL_IO] = {0}, *out[WEFT_MAX_MODEL_IO] = {0};
  weft_status_t status = NULL;
  bool root = m->first_local == 0;
  if (root)
    status = weft_check_run_views(info, inputs, num_inputs, outputs, num_outputs, m->arenas,
                                  m->arenas[0] ? m->num_local : 0, in, out);
  for (size_t i = 0; root && !status && i < num_inputs + num_outputs; ++i)
    if ((i < num_inputs ? inputs[i] : outputs[i - num_inputs]).memory != WEFT_MEMORY_HOST)
      status = weft_status_create(WEFT_INVALID_ARGUMENT,
                                  "model '%s': %s %zu is in device memory; a model split "
                                  "across devices takes host tensors and splits them itself",
                                  weft_model_name(info), i < num_inputs ? "input" : "output",
                                  i < num_inputs ? i : i - num_inputs);
  if (m->distributed) {
    /* Rank 0 tells the others whether its tensors passed the checks before
     * any of them waits for data. */
    int32_t ok = status ? 0 : 1;
    weft_status_t told = weft_group_broadcast(m->group, m->first_local, 0, &ok, sizeof(ok));
    if (told) {
      if (status)
        weft_status_free(status);
      return told;
    }
    if (!ok)
      return status ? status
                    : weft_status_create(WEFT_INVALID_ARGUMENT,
                                         "model '%s': rank 0 rejected its tensors for this "
                                         "run (its process reports why)",
                                         weft_model_name(info));
  } else if (status) {
    return status;
  }
  if (atomic_exchange_explicit(&m->running, true, memory_order_acquire))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "model '%s': already running on another thread; create one "
                              "model instance per thread",
                              weft_model_name(info));
  status = m->distributed ? run_distributed(m, in, out) : run_in_process(m, in, out);
  atomic_store_explicit(&m->running, false, memory_order_release);
  return status;
}
