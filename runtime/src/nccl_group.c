/* A device group of GPUs in one process, joined by NCCL.
 *
 * NCCL is loaded with dlopen("libnccl.so.2") on first use, like the CUDA
 * driver, so the runtime links and runs where neither exists: creating the
 * group then reports "no CUDA device" (no driver or too few GPUs) or
 * "NCCL not found". Its types are declared here; building the runtime
 * needs no NCCL headers.
 *
 * Each rank is a CUDA device (weft_cuda_device_create) with its stream; the
 * group holds one NCCL communicator per rank (ncclCommInitAll), and a split
 * one per rank of each color. A collective called at rank r is queued on
 * r's stream and returns: its result is complete in that stream's order, so
 * the kernels and copies that follow on the device see it (a model run
 * waits for the stream before it returns). Buffers in host memory, such as
 * a pipeline's flags, go through a small device buffer of the rank and are
 * complete when the call returns.
 *
 * Every rank of a collective first meets its peers on the host, where their
 * arguments are compared: a mismatch fails on every rank instead of hanging
 * inside NCCL. Send and recv are not compared (a pipeline's sizes come from
 * one compiled table). */
#include "internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/*===------------------------------------------------------------------===*
 * NCCL, as far as the group uses it
 *===------------------------------------------------------------------===*/

typedef int nccl_result_t; /* ncclResult_t: 0 is ncclSuccess */
typedef struct nccl_comm_s *nccl_comm_t;
typedef void *nccl_stream_t; /* a CUstream */
typedef struct nccl_unique_id_t {
  char bytes[128]; /* NCCL_UNIQUE_ID_BYTES */
} nccl_unique_id_t;

enum { NCCL_INT8 = 0, NCCL_UINT8 = 1, NCCL_INT32 = 2, NCCL_UINT32 = 3, NCCL_INT64 = 4,
       NCCL_UINT64 = 5, NCCL_FLOAT32 = 7, NCCL_FLOAT64 = 8 };
enum { NCCL_SUM = 0, NCCL_PROD = 1, NCCL_MAX = 2, NCCL_MIN = 3 };

typedef struct nccl_api_t {
  void *library;
  int version;
  nccl_result_t (*get_version)(int *version);
  const char *(*get_error_string)(nccl_result_t result);
  nccl_result_t (*comm_init_all)(nccl_comm_t *comms, int n, const int *devices);
  nccl_result_t (*comm_destroy)(nccl_comm_t comm);
  nccl_result_t (*all_reduce)(const void *send, void *recv, size_t count, int dtype, int op,
                              nccl_comm_t comm, nccl_stream_t stream);
  nccl_result_t (*reduce_scatter)(const void *send, void *recv, size_t count, int dtype,
                                  int op, nccl_comm_t comm, nccl_stream_t stream);
  nccl_result_t (*all_gather)(const void *send, void *recv, size_t count, int dtype,
                              nccl_comm_t comm, nccl_stream_t stream);
  nccl_result_t (*broadcast)(const void *send, void *recv, size_t count, int dtype, int root,
                             nccl_comm_t comm, nccl_stream_t stream);
  nccl_result_t (*send)(const void *buffer, size_t count, int dtype, int peer,
                        nccl_comm_t comm, nccl_stream_t stream);
  nccl_result_t (*recv)(void *buffer, size_t count, int dtype, int peer, nccl_comm_t comm,
                        nccl_stream_t stream);
  nccl_result_t (*group_start)(void);
  nccl_result_t (*group_end)(void);
  nccl_result_t (*get_unique_id)(nccl_unique_id_t *id);
  nccl_result_t (*comm_init_rank)(nccl_comm_t *comm, int n, nccl_unique_id_t id, int rank);
  /* NCCL 2.18 and later; NULL before (splits across processes fail). */
  nccl_result_t (*comm_split)(nccl_comm_t comm, int color, int key, nccl_comm_t *out,
                              void *config);
} nccl_api_t;

static nccl_api_t nccl;
static char nccl_error[512];
static pthread_once_t nccl_once = PTHREAD_ONCE_INIT;

static void load_nccl(void) {
  void *lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(nccl_error, sizeof(nccl_error), "NCCL not found (libnccl.so.2): %s",
             why ? why : "not found");
    return;
  }
  struct {
    const char *name;
    void **slot;
  } symbols[] = {
      {"ncclGetVersion", (void **)&nccl.get_version},
      {"ncclGetErrorString", (void **)&nccl.get_error_string},
      {"ncclCommInitAll", (void **)&nccl.comm_init_all},
      {"ncclCommDestroy", (void **)&nccl.comm_destroy},
      {"ncclAllReduce", (void **)&nccl.all_reduce},
      {"ncclReduceScatter", (void **)&nccl.reduce_scatter},
      {"ncclAllGather", (void **)&nccl.all_gather},
      {"ncclBroadcast", (void **)&nccl.broadcast},
      {"ncclSend", (void **)&nccl.send},
      {"ncclRecv", (void **)&nccl.recv},
      {"ncclGroupStart", (void **)&nccl.group_start},
      {"ncclGroupEnd", (void **)&nccl.group_end},
      {"ncclGetUniqueId", (void **)&nccl.get_unique_id},
      {"ncclCommInitRank", (void **)&nccl.comm_init_rank},
  };
  for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); ++i) {
    *symbols[i].slot = dlsym(lib, symbols[i].name);
    if (!*symbols[i].slot) {
      snprintf(nccl_error, sizeof(nccl_error),
               "NCCL (libnccl.so.2) has no %s: version 2.7 or later is needed",
               symbols[i].name);
      dlclose(lib);
      memset(&nccl, 0, sizeof(nccl));
      return;
    }
  }
  nccl.comm_split = (nccl_result_t(*)(nccl_comm_t, int, int, nccl_comm_t *, void *))dlsym(
      lib, "ncclCommSplit");
  nccl.get_version(&nccl.version);
  nccl.library = lib;
}

const char *weft_nccl_load(int *out_version) {
  pthread_once(&nccl_once, load_nccl);
  if (!nccl.library)
    return nccl_error;
  if (out_version)
    *out_version = nccl.version;
  return NULL;
}

const char *weft_nccl_result_text(int result) {
  if (weft_nccl_load(NULL))
    return "NCCL not loaded";
  const char *text = nccl.get_error_string(result);
  return text ? text : "unknown NCCL result";
}

static weft_status_t nccl_failure(nccl_result_t r, const char *what, int32_t rank) {
  return weft_status_create(WEFT_INTERNAL, "%s at rank %d: NCCL error %d (%s)", what,
                            (int)rank, r, weft_nccl_result_text(r));
}

/*===------------------------------------------------------------------===*
 * Teams: where the ranks of one communicator compare their arguments
 *===------------------------------------------------------------------===*/

typedef struct call_t {
  int kind; /* a group.c collective, 1.. */
  int dtype, op;
  int64_t count;
  size_t bytes;
  int32_t root;
  bool bad;  /* this rank's own arguments were invalid */
  bool host; /* across processes: its buffers are host memory */
} call_t;

/* Each member's k-th call writes calls[k % 2][member], then all meet; a
 * member writes the same row again only after the next meeting, which
 * every member reaches after it compared the row. */
typedef struct team_t {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int32_t size, arrived;
  bool aborted; /* a rank of the run failed: meetings give up */
  uint64_t meetings;
  uint64_t *made; /* [size]: calls made by each member */
  call_t *calls[2];
} team_t;

static const char *call_name(int kind) {
  static const char *const names[] = {"?", "all_reduce", "reduce_scatter", "all_gather",
                                      "all_to_all", "broadcast"};
  return kind > 0 && kind < 6 ? names[kind] : names[0];
}

static weft_status_t compare_calls(const call_t *row, int32_t n);

/* Posts this member's call and waits for every member's; returns the
 * status every member gets alike (NULL: all agree and are valid). */
static weft_status_t meet(team_t *t, int32_t member, const call_t *mine) {
  pthread_mutex_lock(&t->mu);
  bool met = !t->aborted;
  call_t *row = t->calls[t->made[member]++ & 1];
  row[member] = *mine;
  uint64_t meeting = t->meetings;
  if (met && ++t->arrived == t->size) {
    t->arrived = 0;
    t->meetings++;
    pthread_cond_broadcast(&t->cv);
  } else if (met) {
    while (t->meetings == meeting && !t->aborted)
      pthread_cond_wait(&t->cv, &t->mu);
    met = t->meetings != meeting;
  }
  pthread_mutex_unlock(&t->mu);
  if (!met)
    return weft_status_create(WEFT_UNAVAILABLE,
                              "%s: another rank of the run failed before it (see its status)",
                              call_name(mine->kind));
  return compare_calls(row, t->size);
}

/* The status every member gets alike from the members' calls. */
static weft_status_t compare_calls(const call_t *row, int32_t n) {
  for (int32_t q = 0; q < n; ++q)
    if (row[q].bad)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: member %d of the NCCL communicator passed invalid "
                                "arguments (see its status)",
                                call_name(row[q].kind), (int)q);
  for (int32_t q = 1; q < n; ++q) {
    const call_t *a = &row[0], *b = &row[q];
    if (a->host != b->host)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: member 0 passed %s memory but member %d %s memory; the "
                                "members of a collective across processes pass the same kind",
                                call_name(a->kind), a->host ? "host" : "device", (int)q,
                                b->host ? "host" : "device");
    if (a->kind != b->kind || a->dtype != b->dtype || a->op != b->op || a->count != b->count ||
        a->bytes != b->bytes || a->root != b->root)
      return weft_status_create(
          WEFT_INVALID_ARGUMENT,
          "collective mismatch: member 0 called %s (count %lld, bytes %zu, root %d) but "
          "member %d called %s (count %lld, bytes %zu, root %d), or with another dtype or op",
          call_name(a->kind), (long long)a->count, a->bytes, (int)a->root, (int)q,
          call_name(b->kind), (long long)b->count, b->bytes, (int)b->root);
  }
  return NULL;
}

static bool team_init(team_t *t, int32_t size, const weft_allocator_t *a) {
  memset(t, 0, sizeof(*t));
  t->size = size;
  t->made = a->alloc(a->user_data, sizeof(uint64_t) * (size_t)size, 8);
  t->calls[0] = a->alloc(a->user_data, sizeof(call_t) * (size_t)size * 2, 8);
  if (!t->made || !t->calls[0])
    return false;
  memset(t->made, 0, sizeof(uint64_t) * (size_t)size);
  t->calls[1] = t->calls[0] + size;
  return pthread_mutex_init(&t->mu, NULL) == 0 && pthread_cond_init(&t->cv, NULL) == 0;
}

static void team_free(team_t *t, const weft_allocator_t *a) {
  if (t->made) {
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    a->free(a->user_data, t->made);
  }
  if (t->calls[0])
    a->free(a->user_data, t->calls[0]);
}

/*===------------------------------------------------------------------===*
 * The group
 *===------------------------------------------------------------------===*/

/* Host buffers of a collective go through this many device bytes per rank. */
#define WEFT_NCCL_BOUNCE_BYTES (64u << 10)

typedef struct nccl_group_t {
  weft_device_group_t base;
  weft_allocator_t allocator;
  nccl_comm_t *comms; /* [size]: rank r's communicator */
  int32_t *team_of;   /* [size] */
  int32_t *position;  /* [size]: r's member index in its team and communicator */
  team_t *teams;
  int32_t num_teams;
  void **bounce; /* [num_local] device buffers; the root group's, shared by splits */
  /* Across processes (weft_mpi_cuda_device_group_create): this process
   * holds one rank; `host`, an MPI group of the same ranks (owned),
   * compares the arguments and carries the collectives of host buffers.
   * `members` ranks meet in this process's communicator. */
  weft_device_group_t *host;
  call_t *gathered; /* [size] */
  int32_t members;
} nccl_group_t;

static void nccl_destroy(weft_device_group_t *base) {
  nccl_group_t *g = (nccl_group_t *)base;
  weft_allocator_t a = g->allocator;
  for (int32_t r = 0; g->comms && r < base->size; ++r)
    if (g->comms[r])
      nccl.comm_destroy(g->comms[r]);
  for (int32_t k = 0; g->teams && k < g->num_teams; ++k)
    team_free(&g->teams[k], &a);
  weft_device_group_destroy(g->host);
  if (!base->parent) {
    for (int32_t l = 0; g->bounce && l < base->num_local; ++l)
      if (g->bounce[l])
        weft_cuda_free(base->devices[l], g->bounce[l]);
    for (int32_t l = 0; base->devices && l < base->num_local; ++l)
      weft_device_destroy(base->devices[l]);
  }
  void *arrays[] = {g->comms, g->team_of, g->position, g->teams, g->gathered,
                    base->parent ? NULL : (void *)g->bounce,
                    base->parent ? NULL : (void *)base->devices};
  for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); ++i)
    if (arrays[i])
      a.free(a.user_data, arrays[i]);
  a.free(a.user_data, g);
}

/* Where rank `rank` meets its peers. */
static team_t *team_for(nccl_group_t *g, int32_t rank) { return &g->teams[g->team_of[rank]]; }

/* How many ranks meet in `rank`'s collectives. */
static int32_t members(nccl_group_t *g, int32_t rank) {
  return g->host ? g->members : team_for(g, rank)->size;
}

/* Compares `mine` with the peers' calls: on the host in one process,
 * through the MPI group across processes. */
static weft_status_t agree(nccl_group_t *g, int32_t rank, const call_t *mine) {
  if (!g->host)
    return meet(team_for(g, rank), g->position[rank], mine);
  weft_status_t status = weft_group_all_gather(g->host, rank, mine, g->gathered, sizeof(call_t));
  return status ? status : compare_calls(g->gathered, g->members);
}

/* The calling rank's own invalid arguments: it still meets its peers, so
 * that they fail too instead of waiting in NCCL for it. */
static weft_status_t refuse(nccl_group_t *g, int32_t rank, int kind, weft_status_t why) {
  call_t mine = {0};
  mine.kind = kind;
  mine.bad = true;
  weft_status_free(agree(g, rank, &mine));
  return why;
}

static int nccl_type(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_I8: return NCCL_INT8;
  case WEFT_DTYPE_U8: return NCCL_UINT8;
  case WEFT_DTYPE_I32: return NCCL_INT32;
  case WEFT_DTYPE_U32: return NCCL_UINT32;
  case WEFT_DTYPE_I64: return NCCL_INT64;
  case WEFT_DTYPE_U64: return NCCL_UINT64;
  case WEFT_DTYPE_F32: return NCCL_FLOAT32;
  case WEFT_DTYPE_F64: return NCCL_FLOAT64;
  default: return -1; /* NCCL has no 16-bit integers; floats of 16 bits are not reduced */
  }
}

static int nccl_op(weft_reduce_op_t op) {
  switch (op) {
  case WEFT_REDUCE_SUM: return NCCL_SUM;
  case WEFT_REDUCE_PROD: return NCCL_PROD;
  case WEFT_REDUCE_MIN: return NCCL_MIN;
  case WEFT_REDUCE_MAX: return NCCL_MAX;
  default: return -1;
  }
}

/* One collective's buffers as NCCL sees them: the caller's device memory,
 * or for host memory a place in the rank's bounce buffer (copied in before
 * and out after). `send` may be `recv` (in place). */
typedef struct staged_t {
  const void *send;
  void *recv;
  bool host_send, host_recv;
  bool on_host; /* across processes: the MPI group moves these bytes */
} staged_t;

/* Decides where each buffer is for NCCL; copies nothing yet. */
static weft_status_t plan_staging(nccl_group_t *g, int32_t rank, const void *send,
                                  size_t send_bytes, void *recv, size_t recv_bytes,
                                  staged_t *out, const char *what) {
  out->host_send = send_bytes && !weft_cuda_is_device_memory(send);
  out->host_recv = recv_bytes && !weft_cuda_is_device_memory(recv);
  out->send = send;
  out->recv = recv;
  out->on_host = g->host && (out->host_send || out->host_recv);
  /* Across processes host memory goes through MPI, which cannot read a
   * device buffer beside it. */
  if (g->host && send_bytes && recv_bytes && out->host_send != out->host_recv)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s at rank %d: one buffer in host memory and one in device "
                              "memory; across processes a collective takes both in one kind",
                              what, (int)rank);
  if (g->host)
    return NULL;
  /* In place, the one buffer is staged once: recv at the bounce's start. */
  bool in_place = send == recv;
  size_t send_room = out->host_send && !in_place ? (send_bytes + 255) / 256 * 256 : 0;
  size_t need = send_room + (out->host_recv ? recv_bytes : 0);
  if (need > WEFT_NCCL_BOUNCE_BYTES)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s at rank %d: %zu bytes of host memory; a GPU group's "
                              "collectives take device memory (host buffers up to %u bytes)",
                              what, (int)rank, need, WEFT_NCCL_BOUNCE_BYTES);
  char *bounce = g->bounce[rank - g->base.first_local];
  if (out->host_send)
    out->send = bounce;
  if (out->host_recv)
    out->recv = bounce + send_room;
  return NULL;
}

/* Copies a host send buffer into its place. */
static weft_status_t stage_in(nccl_group_t *g, int32_t rank, const staged_t *s,
                              const void *send, size_t send_bytes) {
  if (!s->host_send || !send_bytes || s->on_host)
    return NULL;
  return weft_device_write(g->base.devices[rank - g->base.first_local], (void *)(uintptr_t)s->send, send,
                           send_bytes);
}

/* After the collective was queued: host results come back (waiting). */
static weft_status_t stage_out(nccl_group_t *g, int32_t rank, const staged_t *s, void *recv,
                               size_t recv_bytes) {
  weft_device_t *device = g->base.devices[rank - g->base.first_local];
  if (s->on_host)
    return NULL;
  if (s->host_recv)
    return weft_device_read(device, recv, s->recv, recv_bytes);
  if (s->host_send) /* the bounce buffer may be reused by the next call */
    return weft_device_wait(device, NULL);
  return NULL;
}

/* Meets the peers with `mine`, stages the buffers and makes the device
 * current: the common start of every collective. */
static weft_status_t begin(nccl_group_t *g, int32_t rank, call_t *mine, const void *send,
                           size_t send_bytes, void *recv, size_t recv_bytes, staged_t *s) {
  /* The GPU's context first: telling device from host memory needs it
   * current on this thread. */
  weft_status_t why = weft_cuda_enter(g->base.devices[rank - g->base.first_local]);
  if (!why)
    why = plan_staging(g, rank, send, send_bytes, recv, recv_bytes, s, call_name(mine->kind));
  if (why)
    return refuse(g, rank, mine->kind, why);
  mine->host = s->on_host;
  weft_status_t status = agree(g, rank, mine);
  if (!status && s->on_host)
    return NULL; /* the caller hands the call to g->host */
  if (!status)
    status = stage_in(g, rank, s, send, send_bytes);
  return status;
}

static void *stream_of(nccl_group_t *g, int32_t rank) {
  return weft_cuda_stream(g->base.devices[rank - g->base.first_local]);
}

static weft_status_t reduction(nccl_group_t *g, int32_t rank, int kind, weft_dtype_t dtype,
                               weft_reduce_op_t op, const void *send, void *recv,
                               int64_t count) {
  int32_t n = members(g, rank);
  size_t elt = weft_dtype_size(dtype);
  bool scatter = kind == 2;
  int type = nccl_type(dtype), nop = nccl_op(op);
  uintptr_t a = (uintptr_t)send, b = (uintptr_t)recv;
  size_t span = elt * (size_t)(count > 0 ? count : 0);
  if (type < 0 || nop < 0 || count < 0 || (count > 0 && (!send || !recv)) ||
      (elt && (uint64_t)count > SIZE_MAX / elt / (size_t)n) ||
      (scatter && span && a < b + span && b < a + span * (size_t)n))
    return refuse(g, rank, kind,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "%s on a GPU group: dtype %s, op %d or count %lld cannot "
                                     "be reduced by NCCL (8/32/64-bit integers, f32, f64), or "
                                     "a buffer is NULL or overlaps",
                                     call_name(kind), weft_dtype_name(dtype), (int)op,
                                     (long long)count));
  size_t bytes = (size_t)count * elt;
  call_t mine = {kind, (int)dtype, (int)op, count, bytes, 0, false};
  staged_t s;
  weft_status_t status =
      begin(g, rank, &mine, send, scatter ? bytes * (size_t)n : bytes, recv, bytes, &s);
  if (!status && s.on_host)
    return scatter ? weft_group_reduce_scatter(g->host, rank, dtype, op, send, recv, count)
                   : weft_group_all_reduce(g->host, rank, dtype, op, send, recv, count);
  if (status || count == 0)
    return status;
  nccl_result_t r =
      scatter ? nccl.reduce_scatter(s.send, s.recv, (size_t)count, type, nop, g->comms[rank],
                                    stream_of(g, rank))
              : nccl.all_reduce(s.send, s.recv, (size_t)count, type, nop, g->comms[rank],
                                stream_of(g, rank));
  if (r != 0)
    return nccl_failure(r, call_name(kind), rank);
  return stage_out(g, rank, &s, recv, bytes);
}

static weft_status_t nccl_all_reduce(weft_device_group_t *base, int32_t rank,
                                     weft_dtype_t dtype, weft_reduce_op_t op, const void *send,
                                     void *recv, int64_t count) {
  return reduction((nccl_group_t *)base, rank, 1, dtype, op, send, recv, count);
}

static weft_status_t nccl_reduce_scatter(weft_device_group_t *base, int32_t rank,
                                         weft_dtype_t dtype, weft_reduce_op_t op,
                                         const void *send, void *recv, int64_t count) {
  return reduction((nccl_group_t *)base, rank, 2, dtype, op, send, recv, count);
}

static weft_status_t nccl_all_gather(weft_device_group_t *base, int32_t rank, const void *send,
                                     void *recv, size_t bytes) {
  nccl_group_t *g = (nccl_group_t *)base;
  int32_t n = members(g, rank);
  if (bytes > SIZE_MAX / (size_t)n || (bytes && (!send || !recv)))
    return refuse(g, rank, 3,
                  weft_status_create(WEFT_INVALID_ARGUMENT, "all_gather: invalid size or buffer"));
  call_t mine = {3, 0, 0, 0, bytes, 0, false};
  staged_t s;
  /* In place (send at its block of recv) stages recv alone. */
  bool in_place = (const char *)send == (char *)recv + (size_t)g->position[rank] * bytes;
  weft_status_t status = begin(g, rank, &mine, in_place ? recv : send,
                               in_place ? bytes * (size_t)n : bytes, recv, bytes * (size_t)n, &s);
  if (!status && s.on_host)
    return weft_group_all_gather(g->host, rank, send, recv, bytes);
  if (status || bytes == 0)
    return status;
  const void *from = in_place ? (const char *)s.recv + (size_t)g->position[rank] * bytes : s.send;
  nccl_result_t r =
      nccl.all_gather(from, s.recv, bytes, NCCL_UINT8, g->comms[rank], stream_of(g, rank));
  if (r != 0)
    return nccl_failure(r, "all_gather", rank);
  return stage_out(g, rank, &s, recv, bytes * (size_t)n);
}

static weft_status_t nccl_all_to_all(weft_device_group_t *base, int32_t rank, const void *send,
                                     void *recv, size_t bytes) {
  nccl_group_t *g = (nccl_group_t *)base;
  int32_t n = members(g, rank);
  size_t total = bytes * (size_t)n;
  uintptr_t a = (uintptr_t)send, b = (uintptr_t)recv;
  if (bytes > SIZE_MAX / (size_t)n || (bytes && (!send || !recv)) ||
      (total && a < b + total && b < a + total))
    return refuse(g, rank, 4,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "all_to_all: invalid size or buffer (send must not "
                                     "overlap recv)"));
  call_t mine = {4, 0, 0, 0, bytes, 0, false};
  staged_t s;
  weft_status_t status = begin(g, rank, &mine, send, total, recv, total, &s);
  if (!status && s.on_host)
    return weft_group_all_to_all(g->host, rank, send, recv, bytes);
  if (status || bytes == 0)
    return status;
  /* Block j to member j, block j from member j: one NCCL group of pairs. */
  nccl_result_t r = nccl.group_start();
  for (int32_t j = 0; j < n && r == 0; ++j) {
    r = nccl.send((const char *)s.send + (size_t)j * bytes, bytes, NCCL_UINT8, j,
                  g->comms[rank], stream_of(g, rank));
    if (r == 0)
      r = nccl.recv((char *)s.recv + (size_t)j * bytes, bytes, NCCL_UINT8, j, g->comms[rank],
                    stream_of(g, rank));
  }
  nccl_result_t ended = nccl.group_end();
  if (r != 0 || ended != 0)
    return nccl_failure(r ? r : ended, "all_to_all", rank);
  return stage_out(g, rank, &s, recv, total);
}

static weft_status_t nccl_broadcast(weft_device_group_t *base, int32_t rank, int32_t root,
                                    void *buffer, size_t bytes) {
  nccl_group_t *g = (nccl_group_t *)base;
  bool member = root >= 0 && root < base->size && g->team_of[root] == g->team_of[rank];
  if (!member || (bytes && !buffer))
    return refuse(g, rank, 5,
                  weft_status_create(WEFT_INVALID_ARGUMENT,
                                     "broadcast: root %d is not a rank of [0, %d)%s, or NULL "
                                     "buffer",
                                     (int)root, (int)base->size,
                                     g->num_teams > 1 ? " in this sub-group" : ""));
  call_t mine = {5, 0, 0, 0, bytes, root, false};
  staged_t s;
  weft_status_t status = begin(g, rank, &mine, buffer, bytes, buffer, bytes, &s);
  if (!status && s.on_host)
    return weft_group_broadcast(g->host, rank, root, buffer, bytes);
  if (status || bytes == 0)
    return status;
  nccl_result_t r = nccl.broadcast(s.send, s.recv, bytes, NCCL_UINT8, g->position[root],
                                   g->comms[rank], stream_of(g, rank));
  if (r != 0)
    return nccl_failure(r, "broadcast", rank);
  return stage_out(g, rank, &s, buffer, bytes);
}

static weft_status_t point_to_point(weft_device_group_t *base, int32_t rank, int32_t peer,
                                    void *buffer, size_t bytes, bool sending) {
  if (base->parent) /* a split's messages are its parent's */
    base = base->parent;
  nccl_group_t *g = (nccl_group_t *)base;
  const char *what = sending ? "send" : "recv";
  if (bytes && !buffer)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: NULL buffer", what);
  if (bytes == 0)
    return NULL;
  staged_t s;
  /* The GPU's context first: telling device from host memory needs it. */
  weft_status_t status = weft_cuda_enter(base->devices[rank - base->first_local]);
  if (!status)
    status = plan_staging(g, rank, sending ? buffer : NULL, sending ? bytes : 0,
                          sending ? NULL : buffer, sending ? 0 : bytes, &s, what);
  if (!status && s.on_host) /* across processes a pair passes the same kind of memory */
    return sending ? weft_group_send(g->host, rank, peer, buffer, bytes)
                   : weft_group_recv(g->host, rank, peer, buffer, bytes);
  if (!status)
    status = stage_in(g, rank, &s, buffer, sending ? bytes : 0);
  if (status)
    return status;
  nccl_result_t r = sending ? nccl.send(s.send, bytes, NCCL_UINT8, peer, g->comms[rank],
                                        stream_of(g, rank))
                            : nccl.recv(s.recv, bytes, NCCL_UINT8, peer, g->comms[rank],
                                        stream_of(g, rank));
  if (r != 0)
    return nccl_failure(r, what, rank);
  return stage_out(g, rank, &s, buffer, sending ? 0 : bytes);
}

static weft_status_t nccl_send(weft_device_group_t *base, int32_t rank, int32_t peer,
                               const void *buffer, size_t bytes) {
  return point_to_point(base, rank, peer, (void *)(uintptr_t)buffer, bytes, true);
}

static weft_status_t nccl_recv(weft_device_group_t *base, int32_t rank, int32_t peer,
                               void *buffer, size_t bytes) {
  return point_to_point(base, rank, peer, buffer, bytes, false);
}

static weft_status_t nccl_split(weft_device_group_t *base, const int32_t *colors,
                                const weft_allocator_t *allocator,
                                weft_device_group_t **out);
static weft_status_t split_across(nccl_group_t *g, nccl_group_t *parent, const int32_t *colors);

/* A failed run: the ranks waiting to agree on a collective give up (in one
 * process the teams wake them; across processes the MPI group's notes
 * do). Peers that already queued NCCL work wait in it on the GPU: that
 * would need ncclCommAbort, which is not used. */
static void nccl_abort(weft_device_group_t *base) {
  nccl_group_t *g = (nccl_group_t *)base;
  weft_group_abort(g->host);
  for (int32_t k = 0; k < g->num_teams; ++k) {
    pthread_mutex_lock(&g->teams[k].mu);
    g->teams[k].aborted = true;
    pthread_cond_broadcast(&g->teams[k].cv);
    pthread_mutex_unlock(&g->teams[k].mu);
  }
}

static void nccl_recover(weft_device_group_t *base) {
  nccl_group_t *g = (nccl_group_t *)base;
  weft_group_recover(g->host);
  for (int32_t k = 0; k < g->num_teams; ++k) {
    team_t *t = &g->teams[k];
    pthread_mutex_lock(&t->mu);
    t->aborted = false;
    t->arrived = 0;
    memset(t->made, 0, sizeof(uint64_t) * (size_t)t->size);
    pthread_mutex_unlock(&t->mu);
  }
}

/* Across processes, the end of a run is the MPI group's. */
static weft_status_t nccl_conclude(weft_device_group_t *base, bool failed, bool *any_failed,
                                   bool *interrupted) {
  nccl_group_t *g = (nccl_group_t *)base;
  if (!g->host || !g->host->vtable->conclude) {
    *any_failed = failed;
    *interrupted = false;
    return NULL;
  }
  return g->host->vtable->conclude(g->host, failed, any_failed, interrupted);
}

static const weft_group_vtable_t nccl_vtable = {
    nccl_destroy,    nccl_all_reduce, nccl_reduce_scatter, nccl_all_gather,
    nccl_all_to_all, nccl_broadcast,  nccl_send,           nccl_recv,
    nccl_split,      nccl_abort,      nccl_recover,        nccl_conclude};

/* A group or split of `size` ranks with its bookkeeping arrays. */
static nccl_group_t *new_group(const weft_allocator_t *a, int32_t size) {
  nccl_group_t *g = a->alloc(a->user_data, sizeof(*g), _Alignof(nccl_group_t));
  if (!g)
    return NULL;
  memset(g, 0, sizeof(*g));
  g->allocator = *a;
  g->base.vtable = &nccl_vtable;
  g->base.size = size;
  g->base.num_local = size;
  size_t n = (size_t)size;
  g->comms = a->alloc(a->user_data, sizeof(nccl_comm_t) * n, 8);
  g->team_of = a->alloc(a->user_data, sizeof(int32_t) * n, 8);
  g->position = a->alloc(a->user_data, sizeof(int32_t) * n, 8);
  g->teams = a->alloc(a->user_data, sizeof(team_t) * n, 8);
  if (g->comms)
    memset(g->comms, 0, sizeof(nccl_comm_t) * n);
  if (g->teams)
    memset(g->teams, 0, sizeof(team_t) * n);
  if (!g->comms || !g->team_of || !g->position || !g->teams) {
    nccl_destroy(&g->base);
    return NULL;
  }
  return g;
}

/* Team numbers and positions of every rank from the colors (NULL: one
 * team), the same in every process; `members` counts `rank`'s team. */
static void place_ranks(nccl_group_t *g, const int32_t *colors, int32_t rank) {
  int32_t n = g->base.size;
  for (int32_t r = 0; r < n; ++r)
    g->team_of[r] = -1;
  g->num_teams = 0;
  for (int32_t first = 0; first < n; ++first) {
    if (g->team_of[first] >= 0)
      continue;
    int32_t k = 0, team = g->num_teams++;
    for (int32_t r = first; r < n; ++r)
      if (!colors || colors[r] == colors[first]) {
        g->team_of[r] = team;
        g->position[r] = k++;
      }
  }
  g->members = 0;
  for (int32_t r = 0; r < n; ++r)
    g->members += g->team_of[r] == g->team_of[rank];
}

/* Communicators and teams for the ranks grouped by `colors` (NULL: one
 * color): each color's ranks, in rank order, get one communicator each. */
static weft_status_t connect_colors(nccl_group_t *g, const int32_t *colors, const char *who) {
  const weft_allocator_t *a = &g->allocator;
  int32_t n = g->base.size;
  int32_t *ordinals = a->alloc(a->user_data, sizeof(int32_t) * (size_t)n, 8);
  int32_t *members = a->alloc(a->user_data, sizeof(int32_t) * (size_t)n, 8);
  nccl_comm_t *comms = a->alloc(a->user_data, sizeof(nccl_comm_t) * (size_t)n, 8);
  weft_status_t status = NULL;
  if (!ordinals || !members || !comms)
    status = weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  place_ranks(g, colors, 0);
  for (int32_t team = 0; team < g->num_teams && !status; ++team) {
    int32_t k = 0;
    for (int32_t r = 0; r < n; ++r)
      if (g->team_of[r] == team) {
        members[k] = r;
        ordinals[k++] = weft_cuda_ordinal(g->base.devices[r]);
      }
    if (!team_init(&g->teams[team], k, a)) {
      status = weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
      break;
    }
    nccl_result_t r = nccl.comm_init_all(comms, k, ordinals);
    if (r != 0) {
      status = weft_status_create(WEFT_UNAVAILABLE,
                                  "%s: ncclCommInitAll over %d GPUs failed: NCCL error %d (%s)",
                                  who, (int)k, r, weft_nccl_result_text(r));
      break;
    }
    for (int32_t i = 0; i < k; ++i)
      g->comms[members[i]] = comms[i];
  }
  if (ordinals)
    a->free(a->user_data, ordinals);
  if (members)
    a->free(a->user_data, members);
  if (comms)
    a->free(a->user_data, comms);
  return status;
}

weft_status_t weft_cuda_device_group_create(const weft_cuda_device_group_options_t *options,
                                            const weft_allocator_t *allocator,
                                            weft_device_group_t **out_group) {
  const char *who = "weft_cuda_device_group_create";
  if (!out_group)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: out_group is NULL", who);
  *out_group = NULL;
  int32_t n = options ? options->num_devices : 1;
  if (n < 1 || n > 1024)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: %d GPUs (1 to 1024)", who, (int)n);
  for (int32_t i = 0; options && options->ordinals && i < n; ++i) {
    if (options->ordinals[i] < 0)
      return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: GPU ordinal %d is negative", who,
                                (int)options->ordinals[i]);
    for (int32_t j = 0; j < i; ++j)
      if (options->ordinals[j] == options->ordinals[i])
        return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: GPU %d is named twice", who,
                                  (int)options->ordinals[i]);
  }
  allocator = weft_allocator_or_default(allocator);
  if (!allocator->alloc || !allocator->free)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: allocator has a NULL alloc or free function", who);
  nccl_group_t *g = new_group(allocator, n);
  weft_device_t **devices =
      g ? allocator->alloc(allocator->user_data, sizeof(weft_device_t *) * (size_t)n, 8) : NULL;
  void **bounce = devices ? allocator->alloc(allocator->user_data, sizeof(void *) * (size_t)n, 8)
                          : NULL;
  if (!g || !devices || !bounce) {
    if (devices)
      allocator->free(allocator->user_data, devices);
    if (g)
      nccl_destroy(&g->base);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  }
  memset(devices, 0, sizeof(weft_device_t *) * (size_t)n);
  memset(bounce, 0, sizeof(void *) * (size_t)n);
  g->base.devices = devices;
  g->bounce = bounce;
  /* The GPUs first: without a driver or GPUs the answer is "no CUDA
   * device", whether or not NCCL is installed. */
  weft_status_t status = NULL;
  for (int32_t r = 0; r < n && !status; ++r) {
    weft_cuda_device_options_t device_options = {0};
    device_options.ordinal = options && options->ordinals ? options->ordinals[r] : r;
    status = weft_cuda_device_create(&device_options, allocator, &devices[r]);
    if (!status)
      status = weft_cuda_alloc(devices[r], WEFT_NCCL_BOUNCE_BYTES, &bounce[r]);
  }
  const char *missing = status ? NULL : weft_nccl_load(NULL);
  if (missing)
    status = weft_status_create(WEFT_UNAVAILABLE, "%s: %s", who, missing);
  if (!status)
    status = connect_colors(g, NULL, who);
  if (status) {
    nccl_destroy(&g->base);
    return status;
  }
  *out_group = &g->base;
  return NULL;
}

static weft_status_t nccl_split(weft_device_group_t *base, const int32_t *colors,
                                const weft_allocator_t *allocator,
                                weft_device_group_t **out) {
  nccl_group_t *parent = (nccl_group_t *)base;
  nccl_group_t *g = new_group(weft_allocator_or_default(allocator), base->size);
  if (!g)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "weft_device_group_split: out of memory");
  g->base.parent = base;
  g->base.devices = base->devices;
  g->base.first_local = base->first_local;
  g->base.num_local = base->num_local;
  g->bounce = parent->bounce;
  weft_status_t status = parent->host ? split_across(g, parent, colors)
                                      : connect_colors(g, colors, "weft_device_group_split");
  if (status) {
    nccl_destroy(&g->base);
    return status;
  }
  *out = &g->base;
  return NULL;
}

/*===------------------------------------------------------------------===*
 * Across processes (used by libweft_runtime_mpi)
 *===------------------------------------------------------------------===*/

weft_status_t weft_nccl_unique_id(void *out) {
  const char *missing = weft_nccl_load(NULL);
  if (missing)
    return weft_status_create(WEFT_UNAVAILABLE, "%s", missing);
  nccl_result_t r = nccl.get_unique_id((nccl_unique_id_t *)out);
  if (r != 0)
    return weft_status_create(WEFT_UNAVAILABLE, "ncclGetUniqueId failed: NCCL error %d (%s)", r,
                              weft_nccl_result_text(r));
  return NULL;
}

static weft_status_t split_across(nccl_group_t *g, nccl_group_t *parent, const int32_t *colors) {
  const char *who = "weft_device_group_split";
  int32_t rank = g->base.first_local;
  place_ranks(g, colors, rank);
  const weft_allocator_t *a = &g->allocator;
  g->gathered = a->alloc(a->user_data, sizeof(call_t) * (size_t)g->base.size, 8);
  if (!g->gathered)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  weft_status_t status = weft_device_group_split(parent->host, colors, a, &g->host);
  if (status)
    return status;
  if (!nccl.comm_split)
    return weft_status_create(WEFT_UNAVAILABLE,
                              "%s: NCCL %d has no ncclCommSplit (2.18 or later splits a GPU "
                              "group across processes)",
                              who, nccl.version);
  status = weft_cuda_enter(g->base.devices[0]);
  nccl_result_t r =
      status ? 0 : nccl.comm_split(parent->comms[rank], colors[rank], rank, &g->comms[rank], NULL);
  if (!status && r != 0)
    status = nccl_failure(r, "ncclCommSplit", rank);
  return status;
}

weft_status_t weft_nccl_member_create(weft_device_group_t *host, weft_device_t *device,
                                      int32_t rank, int32_t size, const void *id,
                                      const weft_allocator_t *allocator,
                                      weft_device_group_t **out) {
  const char *who = "weft_mpi_cuda_device_group_create";
  *out = NULL;
  nccl_group_t *g = new_group(allocator, size);
  weft_device_t **devices =
      g ? allocator->alloc(allocator->user_data, sizeof(weft_device_t *), 8) : NULL;
  if (!g || !devices) {
    if (g)
      nccl_destroy(&g->base);
    weft_device_destroy(device);
    weft_device_group_destroy(host);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  }
  devices[0] = device;
  g->base.devices = devices;
  g->base.first_local = rank;
  g->base.num_local = 1;
  g->host = host;
  place_ranks(g, NULL, rank);
  g->gathered = allocator->alloc(allocator->user_data, sizeof(call_t) * (size_t)size, 8);
  weft_status_t status =
      g->gathered ? weft_cuda_enter(device)
                  : weft_status_create(WEFT_OUT_OF_MEMORY, "%s: out of memory", who);
  nccl_unique_id_t unique;
  memcpy(&unique, id, sizeof(unique));
  nccl_result_t r = status ? 0 : nccl.comm_init_rank(&g->comms[rank], size, unique, rank);
  if (!status && r != 0)
    status = weft_status_create(WEFT_UNAVAILABLE,
                                "%s: ncclCommInitRank (rank %d of %d) failed: NCCL error %d (%s)",
                                who, (int)rank, (int)size, r, weft_nccl_result_text(r));
  if (status) {
    nccl_destroy(&g->base);
    return status;
  }
  *out = &g->base;
  return NULL;
}
