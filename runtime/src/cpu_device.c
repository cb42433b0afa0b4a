/* Devices: the backend-agnostic weft_device_* entry points and the CPU
 * device, whose thread pool runs the workgroups of compiled dispatches.
 *
 * The pool is created once with num_threads - 1 workers; the thread that calls
 * weft_device_dispatch runs workgroups too. A dispatch publishes a job (fn,
 * bindings, count) under `mutex` and bumps `generation`. The ids are cut into
 * one contiguous range per thread (the caller's first, then each worker's):
 * a thread claims the ids of its own range from that range's atomic counter,
 * then those left in the others'. Consecutive dispatches split the same way
 * (a row-split producer and its consumer) so keep each thread on the same
 * rows, whose bytes are then still in that core's cache; a thread that
 * starts late only loses its range to the others. Each
 * worker that picks up a job counts itself in `active` while it may still
 * touch the job, and the caller returns only once `active` is back to zero, so
 * a worker can never mix the function of one dispatch with the ids of the
 * next. Idle workers spin briefly (back-to-back dispatches of one model are
 * common) and then sleep on `work_cond`. */
#define _GNU_SOURCE
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Iterations of the pause loop before a thread blocks on a condition variable.
 * Long enough to bridge the gap between two dispatches of one model run,
 * short enough not to burn a core when the application goes idle. */
#define WEFT_SPIN_ITERATIONS 4096
/* Compiled kernels keep tiles on the stack; glibc's default may be smaller. */
#define WEFT_WORKER_STACK_SIZE ((size_t)8 << 20)
/* Guards against garbage in num_threads, not a design limit of the pool. */
#define WEFT_MAX_THREADS 4096
#define WEFT_CACHE_LINE 64

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/*===------------------------------------------------------------------===*
 * Backend-agnostic device functions
 *===------------------------------------------------------------------===*/

void weft_device_destroy(weft_device_t *device) {
  if (device)
    device->vtable->destroy(device);
}

/* A NULL device has no kind; report CPU rather than crash. */
weft_device_kind_t weft_device_kind(const weft_device_t *device) {
  return device ? device->kind : WEFT_DEVICE_CPU;
}

int32_t weft_device_num_threads(const weft_device_t *device) {
  return device ? device->num_threads : 0;
}

weft_status_t weft_device_dispatch(weft_device_t *device,
                                   weft_workgroup_fn_t fn,
                                   void *const *bindings,
                                   int64_t workgroup_count) {
  if (!device)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_device_dispatch: device is NULL");
  if (!fn)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_device_dispatch: workgroup function is NULL");
  if (workgroup_count < 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_device_dispatch: workgroup count %lld is "
                              "negative",
                              (long long)workgroup_count);
  if (workgroup_count == 0)
    return NULL;
  return device->vtable->dispatch(device, fn, bindings, workgroup_count);
}

static weft_status_t move_bytes(weft_device_t *device, int kind, const char *who, void *dst,
                                const void *src, size_t bytes) {
  if (!device)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: device is NULL", who);
  if (bytes == 0)
    return NULL;
  if (!dst || !src)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: a NULL buffer for %zu bytes", who,
                              bytes);
  if (device->kind == WEFT_DEVICE_CUDA)
    return weft_cuda_move(device, kind, dst, src, bytes);
  memcpy(dst, src, bytes);
  return NULL;
}

weft_status_t weft_device_copy(weft_device_t *device, void *dst, const void *src,
                               size_t bytes) {
  return move_bytes(device, 0, "weft_device_copy", dst, src, bytes);
}

weft_status_t weft_device_read(weft_device_t *device, void *host_dst, const void *src,
                               size_t bytes) {
  return move_bytes(device, 1, "weft_device_read", host_dst, src, bytes);
}

weft_status_t weft_device_write(weft_device_t *device, void *dst, const void *host_src,
                                size_t bytes) {
  return move_bytes(device, 2, "weft_device_write", dst, host_src, bytes);
}

/*===------------------------------------------------------------------===*
 * CPU device
 *===------------------------------------------------------------------===*/

typedef struct weft_cpu_device_t {
  weft_device_t base;

  /* Serializes dispatches from different application threads. */
  pthread_mutex_t dispatch_mutex;

  /* Guards the job fields, `active` updates and `shutdown`. */
  pthread_mutex_t mutex;
  pthread_cond_t work_cond; /* workers: a new generation or shutdown */
  pthread_cond_t done_cond; /* the caller: `active` dropped to zero */
  weft_workgroup_fn_t fn;
  void *const *bindings;
  bool shutdown;
  /* Written under `mutex`, read without it by spinning threads. */
  _Atomic uint64_t generation;
  _Atomic int32_t active;

  int32_t num_workers;
  pthread_t *workers;
  /* Workers take their index (1..num_workers) from this as they start. */
  _Atomic int32_t worker_index;

  /* The current job's ids, one range per thread (num_workers + 1):
   * `next` is claimed with fetch-add, `end` written under `mutex`. */
  struct weft_cpu_range_t *ranges;
} weft_cpu_device_t;

typedef struct weft_cpu_range_t {
  /* Each hot counter gets its own cache line. */
  _Alignas(WEFT_CACHE_LINE) _Atomic int64_t next;
  int64_t end;
} weft_cpu_range_t;

/* The device whose workgroups this thread is running, if any: a workgroup
 * that dispatches on its own device runs that inner dispatch inline instead
 * of deadlocking on dispatch_mutex. */
static _Thread_local weft_cpu_device_t *tls_running_device;

/* Runs the ids of thread `self`'s range, then those left in the other
 * threads' ranges. Every id is claimed once: each range's counter hands out
 * each of its ids to exactly one fetch-add. */
static void run_workgroups(weft_cpu_device_t *cpu, weft_workgroup_fn_t fn,
                           void *const *bindings, int32_t self) {
  int32_t parts = cpu->num_workers + 1;
  for (int32_t k = 0; k < parts; ++k) {
    weft_cpu_range_t *range = &cpu->ranges[(self + k) % parts];
    int64_t end = range->end;
    for (;;) {
      int64_t id = atomic_fetch_add_explicit(&range->next, 1, memory_order_relaxed);
      if (id >= end)
        break;
      fn(bindings, id);
    }
  }
}

/* Cuts [0, count) into one contiguous range per thread, the first
 * count % parts ranges one id longer. Called with `mutex` held. */
static void split_ids(weft_cpu_device_t *cpu, int64_t count) {
  int32_t parts = cpu->num_workers + 1;
  int64_t base = count / parts, extra = count % parts, begin = 0;
  for (int32_t t = 0; t < parts; ++t) {
    int64_t size = base + (t < extra ? 1 : 0);
    atomic_store_explicit(&cpu->ranges[t].next, begin, memory_order_relaxed);
    cpu->ranges[t].end = begin + size;
    begin += size;
  }
}

static void run_inline(weft_workgroup_fn_t fn, void *const *bindings,
                       int64_t count) {
  for (int64_t id = 0; id < count; ++id)
    fn(bindings, id);
}

static void *worker_main(void *arg) {
  weft_cpu_device_t *cpu = arg;
  tls_running_device = cpu;
  int32_t self = atomic_fetch_add_explicit(&cpu->worker_index, 1, memory_order_relaxed) + 1;
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < WEFT_SPIN_ITERATIONS &&
                    atomic_load_explicit(&cpu->generation,
                                         memory_order_acquire) == seen;
         ++i)
      cpu_relax();

    pthread_mutex_lock(&cpu->mutex);
    while (!cpu->shutdown &&
           atomic_load_explicit(&cpu->generation, memory_order_relaxed) ==
               seen)
      pthread_cond_wait(&cpu->work_cond, &cpu->mutex);
    if (cpu->shutdown) {
      pthread_mutex_unlock(&cpu->mutex);
      return NULL;
    }
    seen = atomic_load_explicit(&cpu->generation, memory_order_relaxed);
    weft_workgroup_fn_t fn = cpu->fn;
    void *const *bindings = cpu->bindings;
    atomic_fetch_add_explicit(&cpu->active, 1, memory_order_relaxed);
    pthread_mutex_unlock(&cpu->mutex);

    run_workgroups(cpu, fn, bindings, self);

    pthread_mutex_lock(&cpu->mutex);
    if (atomic_fetch_sub_explicit(&cpu->active, 1, memory_order_release) == 1)
      pthread_cond_signal(&cpu->done_cond);
    pthread_mutex_unlock(&cpu->mutex);
  }
}

/* Blocks until no worker holds a job. Called with `mutex` held. */
static void wait_for_idle_locked(weft_cpu_device_t *cpu) {
  while (atomic_load_explicit(&cpu->active, memory_order_relaxed) != 0)
    pthread_cond_wait(&cpu->done_cond, &cpu->mutex);
}

static weft_status_t cpu_dispatch(weft_device_t *device, weft_workgroup_fn_t fn,
                                  void *const *bindings, int64_t count) {
  weft_cpu_device_t *cpu = (weft_cpu_device_t *)device;

  if (tls_running_device == cpu) {
    run_inline(fn, bindings, count);
    return NULL;
  }

  pthread_mutex_lock(&cpu->dispatch_mutex);
  /* Restored afterwards: this thread may be a worker of another device. */
  weft_cpu_device_t *outer_device = tls_running_device;
  tls_running_device = cpu;
  if (cpu->num_workers == 0 || count == 1) {
    run_inline(fn, bindings, count);
  } else {
    pthread_mutex_lock(&cpu->mutex);
    /* A worker that woke late for the previous dispatch may still hold it. */
    wait_for_idle_locked(cpu);
    cpu->fn = fn;
    cpu->bindings = bindings;
    split_ids(cpu, count);
    atomic_fetch_add_explicit(&cpu->generation, 1, memory_order_release);
    /* Wake only as many sleepers as there is work for; spinners see the new
     * generation on their own. */
    if (count - 1 >= cpu->num_workers) {
      pthread_cond_broadcast(&cpu->work_cond);
    } else {
      for (int64_t i = 0; i < count - 1; ++i)
        pthread_cond_signal(&cpu->work_cond);
    }
    pthread_mutex_unlock(&cpu->mutex);

    run_workgroups(cpu, fn, bindings, 0);

    /* Every id is claimed now; workers that claimed one are still counted in
     * `active`, so `active == 0` means all workgroups have finished. */
    for (int i = 0; i < WEFT_SPIN_ITERATIONS &&
                    atomic_load_explicit(&cpu->active,
                                         memory_order_acquire) != 0;
         ++i)
      cpu_relax();
    pthread_mutex_lock(&cpu->mutex);
    wait_for_idle_locked(cpu);
    pthread_mutex_unlock(&cpu->mutex);
  }
  tls_running_device = outer_device;
  pthread_mutex_unlock(&cpu->dispatch_mutex);
  return NULL;
}

static void stop_workers(weft_cpu_device_t *cpu, int32_t started) {
  pthread_mutex_lock(&cpu->mutex);
  cpu->shutdown = true;
  pthread_cond_broadcast(&cpu->work_cond);
  pthread_mutex_unlock(&cpu->mutex);
  for (int32_t i = 0; i < started; ++i)
    pthread_join(cpu->workers[i], NULL);
}

static void free_cpu_device(weft_cpu_device_t *cpu) {
  weft_allocator_t allocator = cpu->base.allocator;
  pthread_cond_destroy(&cpu->done_cond);
  pthread_cond_destroy(&cpu->work_cond);
  pthread_mutex_destroy(&cpu->mutex);
  pthread_mutex_destroy(&cpu->dispatch_mutex);
  if (cpu->workers)
    allocator.free(allocator.user_data, cpu->workers);
  if (cpu->ranges)
    allocator.free(allocator.user_data, cpu->ranges);
  allocator.free(allocator.user_data, cpu);
}

static void cpu_destroy(weft_device_t *device) {
  weft_cpu_device_t *cpu = (weft_cpu_device_t *)device;
  stop_workers(cpu, cpu->num_workers);
  free_cpu_device(cpu);
}

static const weft_device_vtable_t cpu_vtable = {cpu_destroy, cpu_dispatch};

weft_status_t weft_cpu_device_create(const weft_cpu_device_options_t *options,
                                     const weft_allocator_t *allocator,
                                     weft_device_t **out_device) {
  if (!out_device)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_cpu_device_create: out_device is NULL");
  *out_device = NULL;
  allocator = weft_allocator_or_default(allocator);
  if (!allocator->alloc || !allocator->free)
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "weft_cpu_device_create: allocator has a NULL alloc or free function");

  int32_t num_threads = options ? options->num_threads : 0;
  if (num_threads < 0 || num_threads > WEFT_MAX_THREADS)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_cpu_device_create: num_threads must be in "
                              "[0, %d] but is %d",
                              WEFT_MAX_THREADS, (int)num_threads);
  if (num_threads == 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    num_threads = online < 1                  ? 1
                  : online > WEFT_MAX_THREADS ? WEFT_MAX_THREADS
                                              : (int32_t)online;
  }

  weft_cpu_device_t *cpu = allocator->alloc(
      allocator->user_data, sizeof(*cpu), _Alignof(weft_cpu_device_t));
  if (!cpu)
    return weft_status_create(WEFT_OUT_OF_MEMORY,
                              "weft_cpu_device_create: out of memory");
  memset(cpu, 0, sizeof(*cpu));
  cpu->base.kind = WEFT_DEVICE_CPU;
  cpu->base.vtable = &cpu_vtable;
  cpu->base.allocator = *allocator;
  cpu->base.num_threads = num_threads;
  cpu->num_workers = num_threads - 1;
  atomic_init(&cpu->generation, 0);
  atomic_init(&cpu->active, 0);
  atomic_init(&cpu->worker_index, 0);
  pthread_mutex_init(&cpu->dispatch_mutex, NULL);
  pthread_mutex_init(&cpu->mutex, NULL);
  pthread_cond_init(&cpu->work_cond, NULL);
  pthread_cond_init(&cpu->done_cond, NULL);

  if (cpu->num_workers == 0) {
    *out_device = &cpu->base;
    return NULL;
  }

  cpu->workers =
      allocator->alloc(allocator->user_data,
                       sizeof(pthread_t) * (size_t)cpu->num_workers,
                       _Alignof(pthread_t));
  cpu->ranges = allocator->alloc(allocator->user_data,
                                 sizeof(weft_cpu_range_t) * (size_t)(cpu->num_workers + 1),
                                 _Alignof(weft_cpu_range_t));
  if (!cpu->workers || !cpu->ranges) {
    free_cpu_device(cpu);
    return weft_status_create(WEFT_OUT_OF_MEMORY,
                              "weft_cpu_device_create: out of memory");
  }

  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err == 0)
    err = pthread_attr_setstacksize(&attr, WEFT_WORKER_STACK_SIZE);
  if (err != 0) {
    free_cpu_device(cpu);
    return weft_status_create(WEFT_INTERNAL,
                              "weft_cpu_device_create: cannot set up worker "
                              "thread attributes (error %d)",
                              err);
  }
  for (int32_t i = 0; i < cpu->num_workers; ++i) {
    err = pthread_create(&cpu->workers[i], &attr, worker_main, cpu);
    if (err != 0) {
      pthread_attr_destroy(&attr);
      stop_workers(cpu, i);
      free_cpu_device(cpu);
      return weft_status_create(
          WEFT_UNAVAILABLE,
          "weft_cpu_device_create: cannot start worker thread %d of %d "
          "(error %d)",
          (int)i + 1, (int)(num_threads - 1), err);
    }
#if defined(__linux__)
    /* Linux limits thread names to 15 characters. */
    char name[32];
    snprintf(name, sizeof(name), "weft-cpu-%d", (int)i + 1);
    name[15] = '\0';
    pthread_setname_np(cpu->workers[i], name);
#endif
  }
  pthread_attr_destroy(&attr);
  *out_device = &cpu->base;
  return NULL;
}
