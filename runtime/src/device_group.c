/* The in-process device group: N CPU devices of one process at ranks
 * [0, N) and the communicator that carries their collectives over shared
 * memory (the generic entry points are in group.c).
 *
 * Every collective runs in three barrier-separated phases, the same number
 * whatever the collective, so that ranks stay in step even when one of them
 * called something else:
 *   1. each rank publishes its arguments in its slot; after the barrier every
 *      rank checks that all slots describe the same collective (a mismatch
 *      fails the call on every rank, and no data moves);
 *   2. each rank computes its share, reading the peers' buffers in place;
 *   3. (all-reduce only) each rank copies the peers' reduced chunks.
 * The last barrier guarantees that no peer still reads a rank's buffers when
 * its call returns. Nothing is allocated after the group is created.
 *
 * The ranks that meet in a collective form a team, with its own barrier and
 * slots: the group's one team of every rank, or in a split one team per
 * color. Point-to-point messages go through the group's mailboxes (a split
 * passes them to its parent). */
#define _GNU_SOURCE
#include "internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum collective_kind_t {
  KIND_ALL_REDUCE = 1,
  KIND_REDUCE_SCATTER,
  KIND_ALL_GATHER,
  KIND_ALL_TO_ALL,
  KIND_BROADCAST,
} collective_kind_t;

static const char *kind_name(int kind) {
  switch (kind) {
  case KIND_ALL_REDUCE:
    return "all_reduce";
  case KIND_REDUCE_SCATTER:
    return "reduce_scatter";
  case KIND_ALL_GATHER:
    return "all_gather";
  case KIND_ALL_TO_ALL:
    return "all_to_all";
  case KIND_BROADCAST:
    return "broadcast";
  }
  return "?";
}

/* One rank's arguments to the collective in flight. */
typedef struct slot_t {
  int kind;
  weft_dtype_t dtype;
  int op;
  int64_t count;
  size_t bytes;
  int32_t root;
  const void *send;
  void *recv;
  bool bad; /* this rank's own arguments are invalid */
} slot_t;

/* One direction of a point-to-point channel. */
typedef struct mailbox_t {
  const void *data;
  size_t bytes;
  uint64_t posted, taken;
  bool mismatch; /* the receiver expected another size */
} mailbox_t;

/* The ranks that meet in one collective: `members` (the group's ranks, in
 * order) and their barrier and slots, indexed by position. */
typedef struct team_t {
  int32_t size;
  int32_t *members;
  bool sync_ready; /* mu and cv are initialized */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t generation;
  int32_t arrived;
  bool aborted; /* a rank of the run failed: barriers give up */
  slot_t *slots;
} team_t;

typedef struct inproc_group_t {
  weft_device_group_t base; /* first: the generic head */
  weft_allocator_t allocator;
  int32_t size;
  weft_device_t **devices; /* owned by a group, borrowed by a split */
  int32_t num_teams;
  team_t *teams;
  int32_t *team_of;  /* [rank]: its team */
  int32_t *position; /* [rank]: its place in the team */
  /* Point to point (a group's own; a split uses its parent's). */
  bool box_ready;
  pthread_mutex_t box_mu;
  pthread_cond_t box_cv;
  bool box_aborted; /* a rank of the run failed: messages give up */
  mailbox_t *boxes; /* [from * size + to] */
} inproc_group_t;

/* With t->mu held: waits until every member has arrived; false when the
 * run was aborted first (a member failed and will not come). */
static bool barrier(team_t *t) {
  if (t->aborted)
    return false;
  uint64_t gen = t->generation;
  if (++t->arrived == t->size) {
    t->arrived = 0;
    __atomic_store_n(&t->generation, gen + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&t->cv);
    return true;
  }
  /* Poll a while before sleeping: the last peer is usually close. */
  pthread_mutex_unlock(&t->mu);
  weft_spin_while_equal(&t->generation, gen);
  pthread_mutex_lock(&t->mu);
  while (gen == t->generation && !t->aborted)
    pthread_cond_wait(&t->cv, &t->mu);
  return gen != t->generation;
}

static bool barrier_unlocked(team_t *t) {
  pthread_mutex_lock(&t->mu);
  bool met = barrier(t);
  pthread_mutex_unlock(&t->mu);
  return met;
}

static weft_status_t aborted_status(const char *what) {
  return weft_status_create(WEFT_UNAVAILABLE,
                            "%s: another rank of the run failed before it (see its status)",
                            what);
}

/* The two closing barriers of a collective (phase 3, and no peer still
 * reading this member's buffers). */
static weft_status_t finish(team_t *t, int kind) {
  if (!barrier_unlocked(t) || !barrier_unlocked(t))
    return aborted_status(kind_name(kind));
  return NULL;
}

static void inproc_destroy(weft_device_group_t *base) {
  inproc_group_t *group = (inproc_group_t *)base;
  weft_allocator_t a = group->allocator;
  bool owns = !base->parent;
  if (owns && group->devices)
    for (int32_t r = 0; r < group->size; ++r)
      weft_device_destroy(group->devices[r]);
  for (int32_t i = 0; group->teams && i < group->num_teams; ++i) {
    team_t *t = &group->teams[i];
    if (t->sync_ready) {
      pthread_mutex_destroy(&t->mu);
      pthread_cond_destroy(&t->cv);
    }
    if (t->slots)
      a.free(a.user_data, t->slots);
    if (t->members)
      a.free(a.user_data, t->members);
  }
  if (group->box_ready) {
    pthread_mutex_destroy(&group->box_mu);
    pthread_cond_destroy(&group->box_cv);
  }
  void *arrays[] = {owns ? group->devices : NULL, group->teams, group->team_of,
                    group->position, group->boxes};
  for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); ++i)
    if (arrays[i])
      a.free(a.user_data, arrays[i]);
  a.free(a.user_data, group);
}

static const weft_group_vtable_t inproc_vtable;

static void *zeroed(const weft_allocator_t *a, size_t bytes) {
  void *p = a->alloc(a->user_data, bytes ? bytes : 1, 64);
  if (p)
    memset(p, 0, bytes ? bytes : 1);
  return p;
}

/* Fills g's teams from one color per rank (colors 0..num_teams-1, each
 * used). Returns false when out of memory. */
static bool make_teams(inproc_group_t *g, const int32_t *color, int32_t num_teams) {
  const weft_allocator_t *a = &g->allocator;
  size_t n = (size_t)g->size;
  g->num_teams = num_teams;
  g->teams = zeroed(a, sizeof(team_t) * (size_t)num_teams);
  g->team_of = zeroed(a, sizeof(int32_t) * n);
  g->position = zeroed(a, sizeof(int32_t) * n);
  if (!g->teams || !g->team_of || !g->position)
    return false;
  for (int32_t r = 0; r < g->size; ++r) {
    g->team_of[r] = color[r];
    g->position[r] = g->teams[color[r]].size++;
  }
  for (int32_t i = 0; i < num_teams; ++i) {
    team_t *t = &g->teams[i];
    t->members = zeroed(a, sizeof(int32_t) * (size_t)t->size);
    t->slots = zeroed(a, sizeof(slot_t) * (size_t)t->size);
    if (!t->members || !t->slots)
      return false;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->sync_ready = true;
  }
  for (int32_t r = 0; r < g->size; ++r)
    g->teams[color[r]].members[g->position[r]] = r;
  return true;
}

/* The generic head of a group (or split) whose every rank is here. */
static weft_device_group_t *publish(inproc_group_t *g) {
  g->base.vtable = &inproc_vtable;
  g->base.size = g->size;
  g->base.first_local = 0;
  g->base.num_local = g->size;
  g->base.devices = g->devices;
  return &g->base;
}

weft_status_t weft_cpu_device_group_create(
    const weft_cpu_device_group_options_t *options,
    const weft_allocator_t *allocator, weft_device_group_t **out_group) {
  if (!out_group)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "out_group is NULL");
  *out_group = NULL;
  int32_t n = options ? options->num_devices : 1;
  int32_t threads = options ? options->threads_per_device : 0;
  if (n < 1 || n > 4096)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "num_devices must be in [1, 4096], got %d", (int)n);
  if (threads < 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "threads_per_device must not be negative, got %d",
                              (int)threads);
  if (threads == 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    threads = online > n ? (int32_t)(online / n) : 1;
  }
  const weft_allocator_t *a = weft_allocator_or_default(allocator);
  inproc_group_t *g = zeroed(a, sizeof(*g));
  if (!g)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "cannot allocate a device group");
  g->allocator = *a;
  g->size = n;
  g->devices = zeroed(a, sizeof(weft_device_t *) * (size_t)n);
  g->boxes = zeroed(a, sizeof(mailbox_t) * (size_t)n * (size_t)n);
  int32_t *one_team = zeroed(a, sizeof(int32_t) * (size_t)n);
  bool made = g->devices && g->boxes && one_team && make_teams(g, one_team, 1);
  if (one_team)
    a->free(a->user_data, one_team);
  if (!made) {
    inproc_destroy(&g->base);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "cannot allocate a group of %d devices",
                              (int)n);
  }
  pthread_mutex_init(&g->box_mu, NULL);
  pthread_cond_init(&g->box_cv, NULL);
  g->box_ready = true;
  weft_cpu_device_options_t device_options = {threads};
  for (int32_t r = 0; r < n; ++r) {
    weft_status_t status = weft_cpu_device_create(&device_options, a, &g->devices[r]);
    if (status) {
      inproc_destroy(&g->base);
      return status;
    }
  }
  *out_group = publish(g);
  return NULL;
}

static weft_status_t inproc_split(weft_device_group_t *base, const int32_t *colors,
                                  const weft_allocator_t *a, weft_device_group_t **out) {
  inproc_group_t *parent = (inproc_group_t *)base;
  int32_t n = parent->size;
  /* Colors renumbered 0.. in order of first appearance. */
  int32_t *dense = zeroed(a, sizeof(int32_t) * (size_t)n);
  inproc_group_t *g = zeroed(a, sizeof(*g));
  if (!dense || !g) {
    if (dense)
      a->free(a->user_data, dense);
    if (g)
      a->free(a->user_data, g);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "split: out of memory");
  }
  int32_t teams = 0;
  for (int32_t r = 0; r < n; ++r) {
    dense[r] = teams;
    for (int32_t q = 0; q < r; ++q)
      if (colors[q] == colors[r]) {
        dense[r] = dense[q];
        break;
      }
    if (dense[r] == teams)
      ++teams;
  }
  g->allocator = *a;
  g->size = n;
  g->devices = parent->devices;
  g->base.parent = base;
  bool made = make_teams(g, dense, teams);
  a->free(a->user_data, dense);
  if (!made) {
    inproc_destroy(&g->base);
    return weft_status_create(WEFT_OUT_OF_MEMORY, "split: out of memory");
  }
  *out = publish(g);
  return NULL;
}

/*===------------------------------------------------------------------===*
 * Reductions
 *===------------------------------------------------------------------===*/

static bool reducible(weft_dtype_t dtype) {
  switch (dtype) {
  case WEFT_DTYPE_F32:
  case WEFT_DTYPE_F64:
  case WEFT_DTYPE_I8:
  case WEFT_DTYPE_I16:
  case WEFT_DTYPE_I32:
  case WEFT_DTYPE_I64:
  case WEFT_DTYPE_U8:
  case WEFT_DTYPE_U16:
  case WEFT_DTYPE_U32:
  case WEFT_DTYPE_U64:
    return true;
  default:
    return false;
  }
}

/* Integer sums and products wrap (computed in uint64_t, then truncated);
 * a NaN wins min and max. */
#define WEFT_REDUCE_LOOP(T, IS_FLOAT)                                            \
  do {                                                                         \
    T *out = (T *)dst;                                                         \
    for (int64_t i = begin; i < end; ++i) {                                    \
      T acc = ((const T *)slots[0].send)[src_offset + i];                      \
      for (int32_t q = 1; q < n; ++q) {                                        \
        T v = ((const T *)slots[q].send)[src_offset + i];                      \
        switch (op) {                                                          \
        case WEFT_REDUCE_SUM:                                                  \
          acc = IS_FLOAT ? (T)(acc + v) : (T)((uint64_t)acc + (uint64_t)v);    \
          break;                                                               \
        case WEFT_REDUCE_PROD:                                                 \
          acc = IS_FLOAT ? (T)(acc * v) : (T)((uint64_t)acc * (uint64_t)v);    \
          break;                                                               \
        case WEFT_REDUCE_MIN:                                                  \
          acc = (acc < v || acc != acc) ? acc : v;                             \
          break;                                                               \
        case WEFT_REDUCE_MAX:                                                  \
          acc = (acc > v || acc != acc) ? acc : v;                             \
          break;                                                               \
        }                                                                      \
      }                                                                        \
      out[i - begin + dst_offset] = acc;                                       \
    }                                                                          \
  } while (0)

/* dst[dst_offset + i - begin] = op over ranks q of
 * slots[q].send[src_offset + i], for i in [begin, end). */
static void reduce(weft_dtype_t dtype, int op, void *dst, int64_t dst_offset,
                   const slot_t *slots, int64_t src_offset, int32_t n, int64_t begin,
                   int64_t end) {
  switch (dtype) {
  case WEFT_DTYPE_F32:
    WEFT_REDUCE_LOOP(float, 1);
    break;
  case WEFT_DTYPE_F64:
    WEFT_REDUCE_LOOP(double, 1);
    break;
  case WEFT_DTYPE_I8:
    WEFT_REDUCE_LOOP(int8_t, 0);
    break;
  case WEFT_DTYPE_I16:
    WEFT_REDUCE_LOOP(int16_t, 0);
    break;
  case WEFT_DTYPE_I32:
    WEFT_REDUCE_LOOP(int32_t, 0);
    break;
  case WEFT_DTYPE_I64:
    WEFT_REDUCE_LOOP(int64_t, 0);
    break;
  case WEFT_DTYPE_U8:
    WEFT_REDUCE_LOOP(uint8_t, 0);
    break;
  case WEFT_DTYPE_U16:
    WEFT_REDUCE_LOOP(uint16_t, 0);
    break;
  case WEFT_DTYPE_U32:
    WEFT_REDUCE_LOOP(uint32_t, 0);
    break;
  case WEFT_DTYPE_U64:
    WEFT_REDUCE_LOOP(uint64_t, 0);
    break;
  default:
    break;
  }
}

/*===------------------------------------------------------------------===*
 * Collectives
 *===------------------------------------------------------------------===*/

/* Publishes `mine` in position `me` of team t, waits for every member and
 * checks that all of them called the same collective with the same sizes.
 * Returns NULL when the data may move; otherwise the status every member
 * returns (after the same number of barriers as a successful call, so the
 * members stay in step). Messages name the group's ranks. */
static weft_status_t join(team_t *t, int32_t me, const slot_t *mine) {
  pthread_mutex_lock(&t->mu);
  t->slots[me] = *mine;
  if (!barrier(t)) {
    pthread_mutex_unlock(&t->mu);
    return aborted_status(kind_name(mine->kind));
  }
  const slot_t *first = &t->slots[0];
  int32_t bad = -1, differs = -1;
  for (int32_t q = 0; q < t->size; ++q) {
    const slot_t *s = &t->slots[q];
    if (s->bad && bad < 0)
      bad = q;
    if (differs < 0 && (s->kind != first->kind || s->dtype != first->dtype ||
                        s->op != first->op || s->count != first->count ||
                        s->bytes != first->bytes || s->root != first->root))
      differs = q;
  }
  weft_status_t status = NULL;
  if (bad >= 0)
    status = weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: rank %d passed invalid arguments (see its status)",
                                kind_name(t->slots[bad].kind), (int)t->members[bad]);
  else if (differs >= 0)
    status = weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "collective mismatch: rank %d called %s (count %lld, bytes %zu, root %d) but rank "
        "%d called %s (count %lld, bytes %zu, root %d), or with another dtype or op",
        (int)t->members[0], kind_name(first->kind), (long long)first->count, first->bytes,
        (int)first->root, (int)t->members[differs], kind_name(t->slots[differs].kind),
        (long long)t->slots[differs].count, t->slots[differs].bytes,
        (int)t->slots[differs].root);
  pthread_mutex_unlock(&t->mu);
  if (status) {
    barrier_unlocked(t);
    barrier_unlocked(t);
  }
  return status;
}

/* The caller's own invalid arguments: still joins the collective, so that
 * the peers fail too instead of waiting for it. */
static weft_status_t join_invalid(team_t *t, int32_t me, int kind, weft_status_t why) {
  slot_t mine = {0};
  mine.kind = kind;
  mine.bad = true;
  weft_status_t joined = join(t, me, &mine);
  weft_status_free(joined);
  return why;
}

static bool overlaps(const void *a, size_t an, const void *b, size_t bn) {
  uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
  return an && bn && x < y + bn && y < x + an;
}

/* Element counts times the dtype size, or 0 when it does not fit. */
static size_t count_bytes(weft_dtype_t dtype, int64_t count) {
  size_t elt = weft_dtype_size(dtype);
  if (count < 0 || !elt || (uint64_t)count > SIZE_MAX / elt)
    return 0;
  return (size_t)count * elt;
}

/* Where chunk q of `count` elements split into n near-equal chunks starts. */
static int64_t chunk_begin(int64_t count, int32_t n, int32_t q) {
  int64_t base = count / n, extra = count % n;
  return base * q + (q < extra ? q : extra);
}

/* The team `rank` meets in, and its position there. */
#define TEAM_OF(base, rank, t, me)                                               \
  inproc_group_t *group_ = (inproc_group_t *)(base);                           \
  team_t *t = &group_->teams[group_->team_of[rank]];                           \
  int32_t me = group_->position[rank]

static weft_status_t inproc_all_reduce(weft_device_group_t *base, int32_t rank,
                                    weft_dtype_t dtype, weft_reduce_op_t op,
                                    const void *send, void *recv, int64_t count) {
  TEAM_OF(base, rank, t, me);
  weft_status_t status;
  size_t bytes = count_bytes(dtype, count);
  if (!reducible(dtype))
    return join_invalid(t, me, KIND_ALL_REDUCE,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "all_reduce: dtype %s cannot be reduced",
                                           weft_dtype_name(dtype)));
  if ((int)op < WEFT_REDUCE_SUM || (int)op > WEFT_REDUCE_MAX || count < 0 ||
      (count > 0 && (!bytes || !send || !recv)))
    return join_invalid(t, me, KIND_ALL_REDUCE,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "all_reduce: invalid op, count or buffer"));
  slot_t mine = {KIND_ALL_REDUCE, dtype, (int)op, count, bytes, 0, send, recv, false};
  if ((status = join(t, me, &mine)))
    return status;
  int32_t n = t->size;
  /* Phase 2: this member reduces its chunk of every member's send into its
   * recv (only it reads that chunk, so in place is safe). */
  int64_t lo = chunk_begin(count, n, me), hi = chunk_begin(count, n, me + 1);
  reduce(dtype, op, recv, lo, t->slots, 0, n, lo, hi);
  if (!barrier_unlocked(t))
    return aborted_status("all_reduce");
  /* Phase 3: the other chunks, from their owners' recv. */
  size_t elt = weft_dtype_size(dtype);
  for (int32_t q = 0; q < n; ++q) {
    if (q == me)
      continue;
    int64_t qlo = chunk_begin(count, n, q), qhi = chunk_begin(count, n, q + 1);
    if (qhi > qlo)
      memcpy((char *)recv + qlo * elt, (const char *)t->slots[q].recv + qlo * elt,
             (size_t)(qhi - qlo) * elt);
  }
  return barrier_unlocked(t) ? NULL : aborted_status("all_reduce");
}

static weft_status_t inproc_reduce_scatter(weft_device_group_t *base, int32_t rank,
                                        weft_dtype_t dtype, weft_reduce_op_t op,
                                        const void *send, void *recv, int64_t count) {
  TEAM_OF(base, rank, t, me);
  weft_status_t status;
  size_t bytes = count_bytes(dtype, count);
  if (!reducible(dtype))
    return join_invalid(t, me, KIND_REDUCE_SCATTER,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "reduce_scatter: dtype %s cannot be reduced",
                                           weft_dtype_name(dtype)));
  bool sized = count == 0 || (bytes && bytes <= SIZE_MAX / (size_t)t->size);
  if ((int)op < WEFT_REDUCE_SUM || (int)op > WEFT_REDUCE_MAX || count < 0 || !sized ||
      (count > 0 && (!send || !recv)) || overlaps(send, bytes * (size_t)t->size, recv, bytes))
    return join_invalid(t, me, KIND_REDUCE_SCATTER,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "reduce_scatter: invalid op, count or buffer "
                                           "(send must not overlap recv)"));
  slot_t mine = {KIND_REDUCE_SCATTER, dtype, (int)op, count, bytes, 0, send, recv, false};
  if ((status = join(t, me, &mine)))
    return status;
  reduce(dtype, op, recv, 0, t->slots, count * me, t->size, 0, count);
  return finish(t, KIND_REDUCE_SCATTER);
}

static weft_status_t inproc_all_gather(weft_device_group_t *base, int32_t rank,
                                    const void *send, void *recv, size_t bytes) {
  TEAM_OF(base, rank, t, me);
  weft_status_t status;
  if (bytes > SIZE_MAX / (size_t)t->size || (bytes && (!send || !recv)))
    return join_invalid(t, me, KIND_ALL_GATHER,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "all_gather: invalid size or buffer"));
  slot_t mine = {KIND_ALL_GATHER, WEFT_DTYPE_INVALID, 0, 0, bytes, 0, send, recv, false};
  if ((status = join(t, me, &mine)))
    return status;
  for (int32_t q = 0; q < t->size; ++q) {
    char *to = (char *)recv + (size_t)q * bytes;
    const void *from = t->slots[q].send;
    if (bytes && to != from)
      memmove(to, from, bytes);
  }
  return finish(t, KIND_ALL_GATHER);
}

static weft_status_t inproc_all_to_all(weft_device_group_t *base, int32_t rank,
                                    const void *send, void *recv, size_t bytes) {
  TEAM_OF(base, rank, t, me);
  weft_status_t status;
  size_t total = bytes * (size_t)t->size;
  if (bytes > SIZE_MAX / (size_t)t->size || (bytes && (!send || !recv)) ||
      overlaps(send, total, recv, total))
    return join_invalid(t, me, KIND_ALL_TO_ALL,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "all_to_all: invalid size or buffer (send must "
                                           "not overlap recv)"));
  slot_t mine = {KIND_ALL_TO_ALL, WEFT_DTYPE_INVALID, 0, 0, bytes, 0, send, recv, false};
  if ((status = join(t, me, &mine)))
    return status;
  for (int32_t q = 0; q < t->size && bytes; ++q)
    memcpy((char *)recv + (size_t)q * bytes,
           (const char *)t->slots[q].send + (size_t)me * bytes, bytes);
  return finish(t, KIND_ALL_TO_ALL);
}

static weft_status_t inproc_broadcast(weft_device_group_t *base, int32_t rank, int32_t root,
                                   void *buffer, size_t bytes) {
  TEAM_OF(base, rank, t, me);
  weft_status_t status;
  bool member = root >= 0 && root < group_->size && group_->team_of[root] == group_->team_of[rank];
  if (!member || (bytes && !buffer))
    return join_invalid(t, me, KIND_BROADCAST,
                        weft_status_create(WEFT_INVALID_ARGUMENT,
                                           "broadcast: root %d is not a rank of [0, %d)%s, or "
                                           "NULL buffer",
                                           (int)root, (int)group_->size,
                                           group_->num_teams > 1 ? " in this sub-group" : ""));
  slot_t mine = {KIND_BROADCAST, WEFT_DTYPE_INVALID, 0, 0, bytes, root, buffer, buffer, false};
  if ((status = join(t, me, &mine)))
    return status;
  const void *from = t->slots[group_->position[root]].send;
  if (rank != root && bytes && from != buffer)
    memmove(buffer, from, bytes);
  return finish(t, KIND_BROADCAST);
}

/*===------------------------------------------------------------------===*
 * Point to point
 *===------------------------------------------------------------------===*/

static weft_status_t inproc_send(weft_device_group_t *base, int32_t rank, int32_t peer,
                              const void *buffer, size_t bytes) {
  inproc_group_t *group = (inproc_group_t *)base;
  if (base->parent) /* a split's messages are its parent's */
    return base->parent->vtable->send(base->parent, rank, peer, buffer, bytes);
  if (bytes && !buffer)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "send: NULL buffer");
  mailbox_t *box = &group->boxes[(size_t)rank * (size_t)group->size + (size_t)peer];
  pthread_mutex_lock(&group->box_mu);
  /* One message in flight per direction: the previous one must be taken. */
  while (box->posted != box->taken && !group->box_aborted)
    pthread_cond_wait(&group->box_cv, &group->box_mu);
  if (group->box_aborted) {
    pthread_mutex_unlock(&group->box_mu);
    return aborted_status("send");
  }
  box->data = buffer;
  box->bytes = bytes;
  box->mismatch = false;
  uint64_t mine = box->posted + 1;
  __atomic_store_n(&box->posted, mine, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&group->box_cv);
  /* The receiver is often already waiting (a pipeline's next stage): poll
   * a while before sleeping. */
  pthread_mutex_unlock(&group->box_mu);
  weft_spin_while_equal(&box->taken, mine - 1);
  pthread_mutex_lock(&group->box_mu);
  while (box->taken < mine && !group->box_aborted)
    pthread_cond_wait(&group->box_cv, &group->box_mu);
  bool mismatch = box->mismatch, taken = box->taken >= mine;
  pthread_mutex_unlock(&group->box_mu);
  if (!taken)
    return aborted_status("send");
  if (mismatch)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "send: rank %d sent %zu bytes to rank %d, which expected "
                              "another size",
                              (int)rank, bytes, (int)peer);
  return NULL;
}

static weft_status_t inproc_recv(weft_device_group_t *base, int32_t rank, int32_t peer,
                              void *buffer, size_t bytes) {
  inproc_group_t *group = (inproc_group_t *)base;
  if (base->parent) /* a split's messages are its parent's */
    return base->parent->vtable->recv(base->parent, rank, peer, buffer, bytes);
  if (bytes && !buffer)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "recv: NULL buffer");
  mailbox_t *box = &group->boxes[(size_t)peer * (size_t)group->size + (size_t)rank];
  /* Only this rank moves `taken`; poll for the sender before sleeping. */
  weft_spin_while_equal(&box->posted, __atomic_load_n(&box->taken, __ATOMIC_ACQUIRE));
  pthread_mutex_lock(&group->box_mu);
  while (box->posted == box->taken && !group->box_aborted)
    pthread_cond_wait(&group->box_cv, &group->box_mu);
  if (box->posted == box->taken) {
    pthread_mutex_unlock(&group->box_mu);
    return aborted_status("recv");
  }
  size_t sent = box->bytes;
  bool match = sent == bytes;
  if (match && bytes)
    memcpy(buffer, box->data, bytes);
  box->mismatch = !match;
  __atomic_store_n(&box->taken, box->posted, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&group->box_cv);
  pthread_mutex_unlock(&group->box_mu);
  if (!match)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "recv: rank %d expected %zu bytes from rank %d, which sent %zu",
                              (int)rank, bytes, (int)peer, sent);
  return NULL;
}

/*===------------------------------------------------------------------===*
 * A failed run
 *===------------------------------------------------------------------===*/

static void inproc_abort(weft_device_group_t *base) {
  inproc_group_t *group = (inproc_group_t *)base;
  for (int32_t i = 0; i < group->num_teams; ++i) {
    team_t *t = &group->teams[i];
    pthread_mutex_lock(&t->mu);
    t->aborted = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
  }
  if (base->parent) /* a split's messages are its parent's */
    return;
  pthread_mutex_lock(&group->box_mu);
  group->box_aborted = true;
  pthread_cond_broadcast(&group->box_cv);
  pthread_mutex_unlock(&group->box_mu);
}

/* Every member left (the caller waited for them): the barriers' counts
 * and the mailboxes start over. */
static void inproc_recover(weft_device_group_t *base) {
  inproc_group_t *group = (inproc_group_t *)base;
  for (int32_t i = 0; i < group->num_teams; ++i) {
    team_t *t = &group->teams[i];
    pthread_mutex_lock(&t->mu);
    t->aborted = false;
    t->arrived = 0;
    pthread_mutex_unlock(&t->mu);
  }
  if (base->parent)
    return;
  pthread_mutex_lock(&group->box_mu);
  group->box_aborted = false;
  for (size_t i = 0; i < (size_t)group->size * (size_t)group->size; ++i) {
    group->boxes[i].posted = 0;
    group->boxes[i].taken = 0;
    group->boxes[i].mismatch = false;
  }
  pthread_mutex_unlock(&group->box_mu);
}

static const weft_group_vtable_t inproc_vtable = {
    inproc_destroy,    inproc_all_reduce, inproc_reduce_scatter, inproc_all_gather,
    inproc_all_to_all, inproc_broadcast,  inproc_send,           inproc_recv,
    inproc_split,      inproc_abort,      inproc_recover,    NULL,
};
