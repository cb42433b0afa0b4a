/* The MPI device group: one CPU device per MPI process, collectives through
 * MPI on a duplicate of MPI_COMM_WORLD. Every collective first compares its
 * arguments across the ranks (one all-reduce of a small descriptor, with
 * MAX over the values and their negations, which gives min and max at
 * once), so ranks that disagree all fail instead of handing MPI calls that
 * do not match.
 *
 * A process whose run fails sends every other process a note (weft_group_
 * abort). The waits for a peer (an agreement, a message's handshake) also
 * listen for notes, and give up when the note's sender takes part in what
 * they wait for; a process that gives up sends its own notes. So an
 * agreement completes for all of its members or for none (a failed
 * process posts nothing more), and the data moved after one, or after a
 * handshake, always arrives. A wait given up leaves its MPI request pending
 * (MPI cannot cancel a collective), so after a failed run, which every
 * process learns at the end of the run (conclude, on a communicator used
 * for nothing else), all processes replace the communicators that carried
 * the run (recover); each failed run leaves at most one such request per
 * group or split, and the old communicators it holds. Notes carry the
 * number of recoveries so far, so that one delivered late is ignored. */
#include "internal.h"
#include "weft/runtime_mpi.h"

#include <limits.h>
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { FIELDS = 7 };

/* The buffers of one agreement; one given up stays with its request. */
typedef struct agreement_t {
  struct agreement_t *next;
  long long both[2 * FIELDS], all[2 * FIELDS];
} agreement_t;

/* A note sent: its buffer stays until the group is destroyed (MPI may
 * read it until the send completes, and nobody waits for that). */
typedef struct note_t {
  struct note_t *next;
  int epoch;
} note_t;

/* What a group and its splits share: the notes of a failed run. */
typedef struct mpi_shared_t {
  MPI_Comm control; /* the end of each run only; source of new communicators */
  MPI_Comm notes;   /* "my run failed": from each failed process, its epoch */
  MPI_Request listening; /* the posted receive of a note */
  int heard;             /* its buffer */
  int epoch;             /* recoveries so far (alike in every process) */
  uint8_t *failed;       /* per rank: failed this run (a note came, or here) */
  note_t *sent;          /* the notes' buffers */
  bool aborted;     /* this process's run failed: it waits for nobody */
  bool interrupted; /* a peer's failure ended this process's run */
  bool lost;        /* the communicators could not be replaced */
  /* A message's handshake: the size sent and the answer (both sides). */
  unsigned long long size_out, size_in;
  int answer_in;
} mpi_shared_t;

typedef struct mpi_group_t {
  weft_device_group_t base; /* first: the generic head */
  weft_allocator_t allocator;
  MPI_Comm comm;     /* the collectives' and messages' traffic */
  MPI_Comm pristine; /* a split's: carries nothing, source of a new comm */
  mpi_shared_t *shared; /* owned by the whole group, borrowed by a split */
  agreement_t *agreement; /* NULL: allocated at the next agreement */
  agreement_t *abandoned; /* given up, freed with the group */
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

static void mpi_destroy(weft_device_group_t *base);

/* A duplicate of `from` whose errors come back as codes, not as an abort. */
static int new_comm(MPI_Comm from, MPI_Comm *out) {
  int code = MPI_Comm_dup(from, out);
  if (code == MPI_SUCCESS)
    code = MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN);
  return code;
}

enum { TAG_NOTE = 4 };

static int listen_for_notes(mpi_shared_t *s) {
  return MPI_Irecv(&s->heard, 1, MPI_INT, MPI_ANY_SOURCE, TAG_NOTE, s->notes, &s->listening);
}

/* Ends a posted receive that no peer will match any more. */
static void cancel_receive(MPI_Request *request) {
  if (*request == MPI_REQUEST_NULL)
    return;
  MPI_Cancel(request);
  MPI_Wait(request, MPI_STATUS_IGNORE);
}

static void free_comm(MPI_Comm *comm) {
  if (*comm != MPI_COMM_NULL)
    MPI_Comm_free(comm);
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
  g->comm = g->pristine = MPI_COMM_NULL;
  g->base.vtable = &mpi_vtable;
  g->shared = a->alloc(a->user_data, sizeof(mpi_shared_t), 64);
  g->member_of = a->alloc(a->user_data, sizeof(int32_t) * (size_t)size, 64);
  if (!g->shared || !g->member_of) {
    if (g->shared)
      a->free(a->user_data, g->shared);
    g->shared = NULL;
    mpi_destroy(&g->base);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "cannot allocate a device group");
  }
  mpi_shared_t *shared = g->shared;
  memset(shared, 0, sizeof(*shared));
  shared->control = shared->notes = MPI_COMM_NULL;
  shared->listening = MPI_REQUEST_NULL;
  shared->failed = a->alloc(a->user_data, (size_t)size, 64);
  if (!shared->failed) {
    mpi_destroy(&g->base);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "cannot allocate a device group");
  }
  memset(shared->failed, 0, (size_t)size);
  int code = new_comm(MPI_COMM_WORLD, &shared->control);
  if (code == MPI_SUCCESS)
    code = new_comm(shared->control, &g->comm);
  if (code == MPI_SUCCESS)
    code = new_comm(shared->control, &shared->notes);
  if (code == MPI_SUCCESS)
    code = listen_for_notes(shared);
  if (code != MPI_SUCCESS) {
    mpi_destroy(&g->base);
    return mpi_failure(code, "MPI_Comm_dup");
  }
  for (int32_t r = 0; r < size; ++r)
    g->member_of[r] = r;
  g->position = rank;
  g->members = size;
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

static void free_agreements(const weft_allocator_t *a, agreement_t *list) {
  while (list) {
    agreement_t *next = list->next;
    a->free(a->user_data, list);
    list = next;
  }
}

static void mpi_destroy(weft_device_group_t *base) {
  mpi_group_t *g = (mpi_group_t *)base;
  mpi_shared_t *shared = base->parent ? NULL : g->shared;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    free_comm(&g->comm);
    free_comm(&g->pristine);
    if (shared) {
      cancel_receive(&shared->listening);
      free_comm(&shared->notes);
      free_comm(&shared->control);
    }
  }
  if (!base->parent)
    weft_device_destroy(g->device);
  weft_allocator_t a = g->allocator;
  free_agreements(&a, g->agreement);
  free_agreements(&a, g->abandoned);
  if (shared) {
    while (shared->sent) {
      note_t *next = shared->sent->next;
      a.free(a.user_data, shared->sent);
      shared->sent = next;
    }
    if (shared->failed)
      a.free(a.user_data, shared->failed);
    a.free(a.user_data, shared);
  }
  if (g->member_of)
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
  g->agreement = g->abandoned = NULL;
  g->base.parent = base;
  g->members = 0;
  for (int32_t r = 0; r < n; ++r)
    member_of[r] = colors[r] == colors[parent->rank] ? g->members++ : -1;
  g->position = member_of[parent->rank];
  g->comm = g->pristine = MPI_COMM_NULL;
  int code = MPI_Comm_split(parent->comm, colors[parent->rank], parent->rank, &g->pristine);
  if (code == MPI_SUCCESS)
    code = new_comm(g->pristine, &g->comm);
  if (code != MPI_SUCCESS) {
    mpi_destroy(&g->base);
    return mpi_failure(code, "split: MPI_Comm_split");
  }
  *out = &g->base;
  return NULL;
}

/*===------------------------------------------------------------------===*
 * Argument agreement
 *===------------------------------------------------------------------===*/

enum { KIND_ALL_REDUCE = 1, KIND_REDUCE_SCATTER, KIND_ALL_GATHER, KIND_ALL_TO_ALL, KIND_BROADCAST };

static const char *kind_name(long long kind) {
  static const char *names[] = {"?", "all_reduce", "reduce_scatter", "all_gather",
                                "all_to_all", "broadcast"};
  return kind >= 1 && kind <= 5 ? names[kind] : "?";
}

/*===------------------------------------------------------------------===*
 * Waiting for peers, and giving up when one's run failed
 *===------------------------------------------------------------------===*/

static weft_status_t aborted_status(const mpi_shared_t *s, const char *what) {
  if (s->lost)
    return weft_status_create(WEFT_UNAVAILABLE,
                              "%s: MPI could not renew the group's communicators after a "
                              "failed run",
                              what);
  return weft_status_create(WEFT_UNAVAILABLE,
                            "%s: another rank of the run failed before it (see its status)",
                            what);
}

static void notify_peers(mpi_group_t *g);

/* Whether a rank known to have failed this run takes part in group `g`'s
 * collectives (`peer` < 0) or is `peer`. */
static bool waits_for_failed(const mpi_group_t *g, int32_t peer) {
  const mpi_shared_t *s = g->shared;
  if (peer >= 0)
    return s->failed[peer] != 0;
  for (int32_t r = 0; r < g->base.size; ++r)
    if (s->failed[r] && g->member_of[r] >= 0)
      return true;
  return false;
}

/* This process gives up what it waits for (a failed peer takes part):
 * its run has failed, and its own peers learn it. */
static weft_status_t give_up(mpi_group_t *g, const char *what) {
  g->shared->interrupted = !g->shared->aborted;
  notify_peers(g);
  return aborted_status(g->shared, what);
}

/* Waits for `n` requests (a collective's agreement, or a message's
 * handshake with `peer`) unless a note says that a process taking part has
 * failed: then the messages' requests are ended (receives, where
 * `receives` has bit i, cancelled; sends, of a few bytes that MPI has sent,
 * freed) and a collective's (`collective`: MPI can neither cancel nor free
 * it) is left to the caller, pending. */
static weft_status_t await(mpi_group_t *g, MPI_Request *requests, int n, unsigned receives,
                           bool collective, int32_t peer, const char *what) {
  mpi_shared_t *s = g->shared;
  MPI_Request all[3];
  int pending = 0;
  for (int i = 0; i < n; ++i) {
    all[i] = requests[i];
    pending += all[i] != MPI_REQUEST_NULL;
  }
  weft_status_t status = NULL;
  while (pending > 0 && !status) {
    all[n] = s->listening;
    int index = MPI_UNDEFINED;
    MPI_Status got;
    int code = MPI_Waitany(n + 1, all, &index, &got);
    if (code != MPI_SUCCESS) {
      status = mpi_failure(code, what);
    } else if (index == n) {
      /* A note: its sender failed this run (one of an earlier run, late,
       * is ignored). Listen for the next. */
      s->listening = MPI_REQUEST_NULL;
      if (s->heard == s->epoch && got.MPI_SOURCE >= 0 && got.MPI_SOURCE < g->base.size)
        s->failed[got.MPI_SOURCE] = 1;
      if (listen_for_notes(s) != MPI_SUCCESS)
        s->lost = true;
      if (s->lost || waits_for_failed(g, peer))
        status = give_up(g, what);
    } else if (index == MPI_UNDEFINED) {
      break;
    } else {
      --pending;
    }
  }
  for (int i = 0; i < n; ++i) {
    if (status && all[i] != MPI_REQUEST_NULL && !collective) {
      if (receives & (1u << i))
        cancel_receive(&all[i]);
      else
        MPI_Request_free(&all[i]);
    }
    requests[i] = status ? all[i] : MPI_REQUEST_NULL;
  }
  return status;
}

/* Compares this rank's (kind, dtype, op, count, bytes, root) with every
 * rank's; `bad` says this rank's own arguments are invalid. Returns NULL when
 * all agree and none is bad. */
static weft_status_t agree(mpi_group_t *g, long long kind, long long dtype, long long op,
                           long long count, long long bytes, long long root, bool bad) {
  if (g->shared->aborted)
    return aborted_status(g->shared, kind_name(kind));
  if (waits_for_failed(g, -1))
    return give_up(g, kind_name(kind));
  if (!g->agreement) {
    g->agreement = g->allocator.alloc(g->allocator.user_data, sizeof(agreement_t), 64);
    if (!g->agreement)
      return weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", kind_name(kind));
    g->agreement->next = NULL;
  }
  long long mine[FIELDS] = {kind, dtype, op, count, bytes, root, bad ? 1 : 0};
  long long *both = g->agreement->both, *all = g->agreement->all;
  for (int i = 0; i < FIELDS; ++i) {
    both[i] = mine[i];
    both[FIELDS + i] = -mine[i];
  }
  MPI_Request request = MPI_REQUEST_NULL;
  int code = MPI_Iallreduce(both, all, 2 * FIELDS, MPI_LONG_LONG, MPI_MAX, g->comm, &request);
  if (code != MPI_SUCCESS)
    return mpi_failure(code, kind_name(kind));
  weft_status_t waited = await(g, &request, 1, 0, true, -1, kind_name(kind));
  if (waited) {
    if (request != MPI_REQUEST_NULL) { /* its buffers stay with it */
      g->agreement->next = g->abandoned;
      g->abandoned = g->agreement;
      g->agreement = NULL;
    }
    return waited;
  }
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
  mpi_shared_t *s = g->shared;
  if (s->aborted)
    return aborted_status(s, "send");
  if (waits_for_failed(g, peer))
    return give_up(g, "send");
  /* The handshake waits for the peer, which may have failed. */
  s->size_out = bytes;
  s->answer_in = 0;
  MPI_Request handshake[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  int code = MPI_Irecv(&s->answer_in, 1, MPI_INT, peer, TAG_ANSWER, g->comm, &handshake[0]);
  if (code == MPI_SUCCESS)
    code = MPI_Isend(&s->size_out, 1, MPI_UNSIGNED_LONG_LONG, peer, TAG_SIZE, g->comm,
                     &handshake[1]);
  if (code != MPI_SUCCESS) {
    cancel_receive(&handshake[0]);
    return mpi_failure(code, "send");
  }
  weft_status_t waited = await(g, handshake, 2, 1u << 0, false, peer, "send");
  if (waited)
    return waited;
  if (!s->answer_in)
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
  mpi_shared_t *s = g->shared;
  if (s->aborted)
    return aborted_status(s, "recv");
  if (waits_for_failed(g, peer))
    return give_up(g, "recv");
  MPI_Request request = MPI_REQUEST_NULL;
  int code = MPI_Irecv(&s->size_in, 1, MPI_UNSIGNED_LONG_LONG, peer, TAG_SIZE, g->comm,
                       &request);
  if (code != MPI_SUCCESS)
    return mpi_failure(code, "recv");
  weft_status_t waited = await(g, &request, 1, 1u << 0, false, peer, "recv");
  if (waited)
    return waited;
  /* Past the handshake both sides are committed: plain calls. */
  unsigned long long size = s->size_in;
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

/*===------------------------------------------------------------------===*
 * A failed run
 *===------------------------------------------------------------------===*/

/* This process's run failed: a note to every other process, once. */
static void notify_peers(mpi_group_t *g) {
  mpi_shared_t *s = g->shared;
  if (s->aborted)
    return;
  s->aborted = true;
  s->failed[g->rank] = 1;
  for (int32_t r = 0; r < g->base.size; ++r) {
    if (r == g->rank)
      continue;
    note_t *note = g->allocator.alloc(g->allocator.user_data, sizeof(note_t), 16);
    if (!note)
      continue; /* that peer then learns it at the end of the run */
    note->epoch = s->epoch;
    note->next = s->sent;
    s->sent = note;
    MPI_Request request = MPI_REQUEST_NULL;
    if (MPI_Isend(&note->epoch, 1, MPI_INT, r, TAG_NOTE, s->notes, &request) == MPI_SUCCESS)
      MPI_Request_free(&request);
  }
}

static void mpi_abort(weft_device_group_t *base) { notify_peers((mpi_group_t *)base); }

static weft_status_t mpi_conclude(weft_device_group_t *base, bool failed, bool *any_failed,
                                  bool *interrupted) {
  mpi_group_t *g = (mpi_group_t *)base;
  mpi_shared_t *s = g->shared;
  int mine = failed || s->aborted ? 1 : 0, any = 0;
  *interrupted = s->interrupted;
  int code = MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, s->control);
  *any_failed = code != MPI_SUCCESS || any != 0;
  return code == MPI_SUCCESS ? NULL : mpi_failure(code, "the end of the run");
}

/* After a failed run: new communicators in place of those that may hold
 * requests given up (collective: every process, the group before its
 * splits). */
static void mpi_recover(weft_device_group_t *base) {
  mpi_group_t *g = (mpi_group_t *)base;
  mpi_shared_t *s = g->shared;
  MPI_Comm fresh = MPI_COMM_NULL, notes = MPI_COMM_NULL;
  int code = new_comm(base->parent ? g->pristine : s->control, &fresh);
  if (!base->parent && code == MPI_SUCCESS)
    code = new_comm(s->control, &notes);
  if (code != MPI_SUCCESS) {
    free_comm(&fresh);
    s->lost = s->aborted = true;
    return;
  }
  free_comm(&g->comm); /* MPI frees it once its requests end, if ever */
  g->comm = fresh;
  if (base->parent)
    return;
  cancel_receive(&s->listening);
  free_comm(&s->notes);
  s->notes = notes;
  s->aborted = s->interrupted = s->lost = false;
  memset(s->failed, 0, (size_t)base->size);
  ++s->epoch;
  if (listen_for_notes(s) != MPI_SUCCESS)
    s->lost = s->aborted = true;
}

static const weft_group_vtable_t mpi_vtable = {
    mpi_destroy, mpi_all_reduce, mpi_reduce_scatter, mpi_all_gather, mpi_all_to_all,
    mpi_broadcast, mpi_send, mpi_recv, mpi_split, mpi_abort, mpi_recover, mpi_conclude,
};
