/* The MPI device group: one CPU device per MPI process, collectives through
 * MPI on a duplicate of MPI_COMM_WORLD. Every collective first compares its
 * arguments across the ranks (one all-reduce of a small descriptor, with
 * MAX over the values and their negations, which gives min and max at
 * once), so ranks that disagree all fail instead of handing MPI calls that
 * do not match. */
#include "internal.h"
#include "weft/runtime_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mpi_group_t {
  weft_device_group_t base; /* first: the generic head */
  weft_allocator_t allocator;
  MPI_Comm comm;
  int32_t rank; /* in the whole group (MPI_COMM_WORLD) */
  weft_device_t *device; /* owned by a group, borrowed by a split */
  /* Who meets in this group's collectives: this process at `position` of
   * `members` processes; member_of[r] is rank r's position there, or -1
   * for a rank of another sub-group (all ranks in a group). */
  int32_t position, members;
  int32_t *member_of;
} mpi_group_t;

static const weft_group_vtable_t mpi_vtable;

static weft_status_t mpi_failure(int code, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    strcpy(text, "unknown MPI error");
  return weft_status_create(WEFT_INTERNAL, "%s: MPI error: %s", what, text);
}

static void finalize_at_exit(void) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Finalize();
}

weft_status_t weft_mpi_device_group_create(const weft_mpi_device_group_options_t *options,
                                           const weft_allocator_t *allocator,
                                           weft_device_group_t **out_group) {
  if (!out_group)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "out_group is NULL");
  *out_group = NULL;
  int32_t threads = options ? options->threads_per_device : 0;
  int32_t expected = options ? options->expected_size : 0;
  if (threads < 0 || expected < 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "threads_per_device and expected_size must not be negative");
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized)
    return weft_status_create(WEFT_UNAVAILABLE, "MPI has been finalized in this process");
  if (!initialized) {
    int provided = 0;
    int code = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (code != MPI_SUCCESS)
      return mpi_failure(code, "MPI_Init_thread");
    atexit(finalize_at_exit);
  }
  int size = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (expected && expected != size)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "the group expects %d devices, but MPI runs %d processes (start "
                              "it with mpirun -np %d)",
                              (int)expected, size, (int)expected);
  const weft_allocator_t *a = weft_allocator_or_default(allocator);
  mpi_group_t *g = a->alloc(a->user_data, sizeof(*g), 64);
  if (!g)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "cannot allocate a device group");
  memset(g, 0, sizeof(*g));
  g->allocator = *a;
  g->rank = rank;
  weft_cpu_device_options_t device_options = {threads};
  weft_status_t status = weft_cpu_device_create(&device_options, a, &g->device);
  if (status) {
    a->free(a->user_data, g);
    return status;
  }
  /* Errors come back as codes, not as an abort. */
  int code = MPI_Comm_dup(MPI_COMM_WORLD, &g->comm);
  if (code == MPI_SUCCESS)
    code = MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
  if (code != MPI_SUCCESS) {
    weft_device_destroy(g->device);
    a->free(a->user_data, g);
    return mpi_failure(code, "MPI_Comm_dup");
  }
  g->member_of = a->alloc(a->user_data, sizeof(int32_t) * (size_t)size, 64);
  if (!g->member_of) {
    MPI_Comm_free(&g->comm);
    weft_device_destroy(g->device);
    a->free(a->user_data, g);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "cannot allocate a device group");
  }
  for (int32_t r = 0; r < size; ++r)
    g->member_of[r] = r;
  g->position = rank;
  g->members = size;
  g->base.vtable = &mpi_vtable;
  g->base.size = size;
  g->base.first_local = rank;
  g->base.num_local = 1;
  g->base.devices = &g->device;
  *out_group = &g->base;
  return NULL;
}

int32_t weft_mpi_device_group_rank(const weft_device_group_t *group) {
  if (!group)
    return -1;
  if (group->vtable == &mpi_vtable)
    return ((const mpi_group_t *)group)->rank;
  /* A GPU group across processes holds one rank. */
  return group->num_local == 1 && group->size > 1 ? group->first_local : -1;
}

weft_status_t weft_mpi_cuda_device_group_create(
    const weft_mpi_cuda_device_group_options_t *options, const weft_allocator_t *allocator,
    weft_device_group_t **out_group) {
  const char *who = "weft_mpi_cuda_device_group_create";
  if (!out_group)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: out_group is NULL", who);
  *out_group = NULL;
  if (options && (options->num_ordinals < 0 || (options->num_ordinals > 0 && !options->ordinals)))
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: %d ordinals but no array", who,
                              options ? (int)options->num_ordinals : 0);
  const weft_allocator_t *a = weft_allocator_or_default(allocator);
  /* The MPI group carries the argument checks and the host buffers. */
  weft_mpi_device_group_options_t host_options = {1, options ? options->expected_size : 0};
  weft_device_group_t *host = NULL;
  weft_status_t status = weft_mpi_device_group_create(&host_options, a, &host);
  if (status)
    return status;
  int32_t rank = host->first_local, size = host->size;
  /* This process's GPU: its position among the processes of its node. */
  MPI_Comm node;
  int local = 0;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) ==
      MPI_SUCCESS) {
    MPI_Comm_rank(node, &local);
    MPI_Comm_free(&node);
  }
  weft_cuda_device_options_t device_options = {local};
  if (options && options->ordinals && local >= options->num_ordinals)
    status = weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: process %d of its node has no GPU among the %d ordinals",
                                who, local, (int)options->num_ordinals);
  else if (options && options->ordinals)
    device_options.ordinal = options->ordinals[local];
  weft_device_t *device = NULL;
  if (!status)
    status = weft_cuda_device_create(&device_options, a, &device);
  const char *missing = status ? NULL : weft_nccl_load(NULL);
  if (missing)
    status = weft_status_create(WEFT_UNAVAILABLE, "NCCL not found on rank %d: %s", (int)rank,
                                missing);
  /* Every process learns whether all have a GPU and NCCL, and rank 0's
   * NCCL id. */
  int32_t failed = status ? 1 : 0, any = 0;
  weft_status_t told =
      weft_group_all_reduce(host, rank, WEFT_DTYPE_I32, WEFT_REDUCE_MAX, &failed, &any, 1);
  struct {
    int32_t ok;
    char id[128];
  } unique = {0, {0}};
  if (!told && !any && rank == 0) {
    weft_status_t id = weft_nccl_unique_id(unique.id);
    unique.ok = id ? 0 : 1;
    if (id)
      status = id;
  }
  if (!told && !any)
    told = weft_group_broadcast(host, rank, 0, &unique, sizeof(unique));
  if (told || any || !unique.ok) {
    if (!status)
      status = told ? told
                    : weft_status_create(WEFT_UNAVAILABLE,
                                         "%s: another process of the group has no usable GPU "
                                         "or NCCL (its process reports why)",
                                         who);
    else if (told)
      weft_status_free(told);
    weft_device_destroy(device);
    weft_device_group_destroy(host);
    return status;
  }
  return weft_nccl_member_create(host, device, rank, size, unique.id, a, out_group);
}

static void mpi_destroy(weft_device_group_t *base) {
  mpi_group_t *g = (mpi_group_t *)base;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Comm_free(&g->comm);
  if (!base->parent)
    weft_device_destroy(g->device);
  weft_allocator_t a = g->allocator;
  a.free(a.user_data, g->member_of);
  a.free(a.user_data, g);
}

/* MPI_Comm_split of the group's communicator; the messages stay the
 * parent's. */
static weft_status_t mpi_split(weft_device_group_t *base, const int32_t *colors,
                               const weft_allocator_t *a, weft_device_group_t **out) {
  mpi_group_t *parent = (mpi_group_t *)base;
  int32_t n = base->size;
  mpi_group_t *g = a->alloc(a->user_data, sizeof(*g), 64);
  int32_t *member_of = a->alloc(a->user_data, sizeof(int32_t) * (size_t)n, 64);
  if (!g || !member_of) {
    if (g)
      a->free(a->user_data, g);
    if (member_of)
      a->free(a->user_data, member_of);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "split: out of memory");
  }
  memset(g, 0, sizeof(*g));
  *g = *parent;
  g->allocator = *a;
  g->member_of = member_of;
  g->members = 0;
  for (int32_t r = 0; r < n; ++r)
    member_of[r] = colors[r] == colors[parent->rank] ? g->members++ : -1;
  g->position = member_of[parent->rank];
  int code = MPI_Comm_split(parent->comm, colors[parent->rank], parent->rank, &g->comm);
  if (code == MPI_SUCCESS)
    code = MPI_Comm_set_errhandler(g->comm, MPI_ERRORS_RETURN);
  if (code != MPI_SUCCESS) {
    a->free(a->user_data, member_of);
    a->free(a->user_data, g);
    return mpi_failure(code, "split: MPI_Comm_split");
  }
  g->base.parent = base;
  *out = &g->base;
  return NULL;
}

/*===------------------------------------------------------------------===*
 * Argument agreement
 *===------------------------------------------------------------------===*/

enum { KIND_ALL_REDUCE = 1, KIND_REDUCE_SCATTER, KIND_ALL_GATHER, KIND_ALL_TO_ALL, KIND_BROADCAST };
enum { FIELDS = 7 };

static const char *kind_name(long long kind) {
  static const char *names[] = {"?", "all_reduce", "reduce_scatter", "all_gather",
                                "all_to_all", "broadcast"};
  return kind >= 1 && kind <= 5 ? names[kind] : "?";
}

/* Compares this rank's (kind, dtype, op, count, bytes, root) with every
 * rank's; `bad` says this rank's own arguments are invalid. Returns NULL when
 * all agree and none is bad. */
static weft_status_t agree(mpi_group_t *g, long long kind, long long dtype, long long op,
                           long long count, long long bytes, long long root, bool bad) {
  long long mine[FIELDS] = {kind, dtype, op, count, bytes, root, bad ? 1 : 0};
  long long both[2 * FIELDS], all[2 * FIELDS];
  for (int i = 0; i < FIELDS; ++i) {
    both[i] = mine[i];
    both[FIELDS + i] = -mine[i];
  }
  int code = MPI_Allreduce(both, all, 2 * FIELDS, MPI_LONG_LONG, MPI_MAX, g->comm);
  if (code != MPI_SUCCESS)
    return mpi_failure(code, kind_name(kind));
  if (all[FIELDS - 1] != 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: a rank passed invalid arguments (see its status)",
                              kind_name(kind));
  for (int i = 0; i < FIELDS - 1; ++i)
    if (all[i] != -all[FIELDS + i])
      return weft_status_create(
          WEFT_INVALID_ARGUMENT,
          "collective mismatch: rank %d called %s (count %lld, bytes %lld, root %lld), and "
          "another rank called a different collective or passed other sizes, dtype, op or "
          "root",
          (int)g->rank, kind_name(kind), count, bytes, root);
  return NULL;
}

/* Still takes part in the agreement, so that the peers fail too. */
static weft_status_t refuse(mpi_group_t *g, long long kind, weft_status_t why) {
  weft_status_free(agree(g, kind, 0, 0, 0, 0, 0, true));
  return why;
}

static MPI_Datatype mpi_type(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F32:
    return MPI_FLOAT;
  case WEFT_DTYPE_F64:
    return MPI_DOUBLE;
  case WEFT_DTYPE_I8:
    return MPI_INT8_T;
  case WEFT_DTYPE_I16:
    return MPI_INT16_T;
  case WEFT_DTYPE_I32:
    return MPI_INT32_T;
  case WEFT_DTYPE_I64:
    return MPI_INT64_T;
  case WEFT_DTYPE_U8:
    return MPI_UINT8_T;
  case WEFT_DTYPE_U16:
    return MPI_UINT16_T;
  case WEFT_DTYPE_U32:
    return MPI_UINT32_T;
  case WEFT_DTYPE_U64:
    return MPI_UINT64_T;
  default:
    return MPI_DATATYPE_NULL;
  }
}

static MPI_Op mpi_op(weft_reduce_op_t op) {
  switch (op) {
  case WEFT_REDUCE_SUM:
    return MPI_SUM;
  case WEFT_REDUCE_PROD:
    return MPI_PROD;
  case WEFT_REDUCE_MIN:
    return MPI_MIN;
  case WEFT_REDUCE_MAX:
    return MPI_MAX;
  }
  return MPI_OP_NULL;
}

static bool overlaps(const void *a, size_t an, const void *b, size_t bn) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return an && bn && x < y + bn && y < x + an;
}

/*===------------------------------------------------------------------===*
 * Collectives
 *===------------------------------------------------------------------===*/

static weft_status_t reduction(mpi_group_t *g, long long kind, weft_dtype_t dtype,
                               weft_reduce_op_t op, const void *send, void *recv,
                               int64_t count) {
  MPI_Datatype type = mpi_type(dtype);
  MPI_Op mop = (int)op >= WEFT_REDUCE_SUM && (int)op <= WEFT_REDUCE_MAX ? mpi_op(op)
                                                                        : MPI_OP_NULL;
  size_t elt = weft_dtype_size(dtype);
  int64_t blocks = kind == KIND_REDUCE_SCATTER ? g->members : 1;
  if (type == MPI_DATATYPE_NULL)
    return refuse(g, kind,
                  weft_status_create(WEFT_INVALID_ARGUMENT, "%s: dtype %s cannot be reduced",
                                     kind_name(kind), weft_dtype_name(dtype)));
  if (mop == MPI_OP_NULL || count < 0 || count > INT_MAX ||
      (count > 0 && (!send || !recv)) ||
      (kind == KIND_REDUCE_SCATTER &&
       overlaps(send, (size_t)(count * blocks) * elt, recv, (size_t)count * elt)))
    return refuse(g, kind,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "%s: invalid op, count (at most INT_MAX for MPI) or "
                                     "buffer (a reduce_scatter's send must not overlap recv)",
                                     kind_name(kind)));
  weft_status_t status =
      agree(g, kind, dtype, op, count, (long long)((size_t)count * elt), 0, false);
  if (status || count == 0)
    return status;
  int code;
  if (kind == KIND_ALL_REDUCE)
    code = MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, type, mop,
                         g->comm);
  else
    code = MPI_Reduce_scatter_block(send, recv, (int)count, type, mop, g->comm);
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, kind_name(kind));
}

static weft_status_t mpi_all_reduce(weft_device_group_t *base, int32_t rank, weft_dtype_t dtype,
                                    weft_reduce_op_t op, const void *send, void *recv,
                                    int64_t count) {
  (void)rank;
  return reduction((mpi_group_t *)base, KIND_ALL_REDUCE, dtype, op, send, recv, count);
}

static weft_status_t mpi_reduce_scatter(weft_device_group_t *base, int32_t rank,
                                        weft_dtype_t dtype, weft_reduce_op_t op,
                                        const void *send, void *recv, int64_t count) {
  (void)rank;
  return reduction((mpi_group_t *)base, KIND_REDUCE_SCATTER, dtype, op, send, recv, count);
}

static weft_status_t mpi_all_gather(weft_device_group_t *base, int32_t rank, const void *send,
                                    void *recv, size_t bytes) {
  mpi_group_t *g = (mpi_group_t *)base;
  if (bytes > INT_MAX || (bytes && (!send || !recv)))
    return refuse(g, KIND_ALL_GATHER,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "all_gather: invalid size (at most INT_MAX bytes for "
                                     "MPI) or buffer"));
  weft_status_t status = agree(g, KIND_ALL_GATHER, 0, 0, 0, (long long)bytes, 0, false);
  if (status || bytes == 0)
    return status;
  (void)rank;
  bool in_place = send == (const char *)recv + (size_t)g->position * bytes;
  int code = MPI_Allgather(in_place ? MPI_IN_PLACE : send, (int)bytes, MPI_BYTE, recv,
                           (int)bytes, MPI_BYTE, g->comm);
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, "all_gather");
}

static weft_status_t mpi_all_to_all(weft_device_group_t *base, int32_t rank, const void *send,
                                    void *recv, size_t bytes) {
  (void)rank;
  mpi_group_t *g = (mpi_group_t *)base;
  size_t total = bytes * (size_t)g->members;
  if (bytes > INT_MAX || (bytes && (!send || !recv)) || overlaps(send, total, recv, total))
    return refuse(g, KIND_ALL_TO_ALL,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "all_to_all: invalid size or buffer (send must not "
                                     "overlap recv)"));
  weft_status_t status = agree(g, KIND_ALL_TO_ALL, 0, 0, 0, (long long)bytes, 0, false);
  if (status || bytes == 0)
    return status;
  int code = MPI_Alltoall(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, g->comm);
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, "all_to_all");
}

static weft_status_t mpi_broadcast(weft_device_group_t *base, int32_t rank, int32_t root,
                                   void *buffer, size_t bytes) {
  (void)rank;
  mpi_group_t *g = (mpi_group_t *)base;
  bool member = root >= 0 && root < g->base.size && g->member_of[root] >= 0;
  if (!member || bytes > INT_MAX || (bytes && !buffer))
    return refuse(g, KIND_BROADCAST,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "broadcast: root %d is not a rank of [0, %d)%s, too many "
                                     "bytes or NULL buffer",
                                     (int)root, (int)g->base.size,
                                     g->base.parent ? " in this sub-group" : ""));
  weft_status_t status = agree(g, KIND_BROADCAST, 0, 0, 0, (long long)bytes, root, false);
  if (status || bytes == 0)
    return status;
  int code = MPI_Bcast(buffer, (int)bytes, MPI_BYTE, g->member_of[root], g->comm);
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, "broadcast");
}

/*===------------------------------------------------------------------===*
 * Point to point: the size goes first and the receiver answers whether it
 * expected it, so a mismatch fails both sides without a truncated message.
 *===------------------------------------------------------------------===*/

enum { TAG_SIZE = 1, TAG_ANSWER = 2, TAG_DATA = 3 };

static weft_status_t mpi_send(weft_device_group_t *base, int32_t rank, int32_t peer,
                              const void *buffer, size_t bytes) {
  mpi_group_t *g = (mpi_group_t *)base;
  if (base->parent) /* a split's messages are its parent's */
    return base->parent->vtable->send(base->parent, rank, peer, buffer, bytes);
  if (bytes > INT_MAX || (bytes && !buffer))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "send: NULL buffer or more than INT_MAX bytes");
  unsigned long long size = bytes;
  int answer = 0;
  int code = MPI_Sendrecv(&size, 1, MPI_UNSIGNED_LONG_LONG, peer, TAG_SIZE, &answer, 1, MPI_INT,
                          peer, TAG_ANSWER, g->comm, MPI_STATUS_IGNORE);
  if (code != MPI_SUCCESS)
    return mpi_failure(code, "send");
  if (!answer)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "send: rank %d sent %zu bytes to rank %d, which expected another "
                              "size",
                              (int)rank, bytes, (int)peer);
  if (bytes == 0)
    return NULL;
  code = MPI_Send(buffer, (int)bytes, MPI_BYTE, peer, TAG_DATA, g->comm);
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, "send");
}

static weft_status_t mpi_recv(weft_device_group_t *base, int32_t rank, int32_t peer,
                              void *buffer, size_t bytes) {
  mpi_group_t *g = (mpi_group_t *)base;
  if (base->parent) /* a split's messages are its parent's */
    return base->parent->vtable->recv(base->parent, rank, peer, buffer, bytes);
  bool valid = bytes <= INT_MAX && (!bytes || buffer);
  unsigned long long size = 0;
  int code = MPI_Recv(&size, 1, MPI_UNSIGNED_LONG_LONG, peer, TAG_SIZE, g->comm,
                      MPI_STATUS_IGNORE);
  if (code != MPI_SUCCESS)
    return mpi_failure(code, "recv");
  int answer = valid && size == bytes;
  code = MPI_Send(&answer, 1, MPI_INT, peer, TAG_ANSWER, g->comm);
  if (code != MPI_SUCCESS)
    return mpi_failure(code, "recv");
  if (!valid)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "recv: NULL buffer or more than INT_MAX bytes");
  if (!answer)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "recv: rank %d expected %zu bytes from rank %d, which sent %llu",
                              (int)rank, bytes, (int)peer, size);
  if (bytes == 0)
    return NULL;
  code = MPI_Recv(buffer, (int)bytes, MPI_BYTE, peer, TAG_DATA, g->comm, MPI_STATUS_IGNORE);
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, "recv");
}

static const weft_group_vtable_t mpi_vtable = {
    mpi_destroy,    mpi_all_reduce, mpi_reduce_scatter, mpi_all_gather,
    mpi_all_to_all, mpi_broadcast,  mpi_send,           mpi_recv,
    mpi_split,
};
