/* The CUDA device: a GPU driven through the CUDA driver API, which is loaded
 * with dlopen("libcuda.so.1") on first use so that the runtime links and runs
 * where no driver exists (creating the device then reports "no CUDA
 * device"). The driver's types are declared here, not taken from cuda.h:
 * building the runtime needs no CUDA toolkit.
 *
 * A device holds the GPU's primary context and one stream. A CUDA model
 * (weftc --target=cuda) loads its kernel image into a module, copies its
 * weights into device memory once, and keeps its arena and a staging area
 * for host inputs and outputs there too; a run copies host inputs in,
 * launches the kernels through the compiled device entry, copies host
 * outputs back and waits for the stream. With host tensors the launches
 * are captured as a CUDA graph by the first run and replayed by the next
 * (one launch per run instead of one per kernel; WEFT_CUDA_GRAPHS=0 turns
 * this off); an entry whose host code reads the GPU (a run-time If or
 * Loop) cannot be captured and launches kernel by kernel. */
#include "internal.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*===------------------------------------------------------------------===*
 * The driver API, as far as the runtime uses it
 *===------------------------------------------------------------------===*/

typedef int cu_result_t; /* CUresult: 0 is CUDA_SUCCESS */
typedef int cu_device_handle_t;
typedef struct cu_context_s *cu_context_t;
typedef struct cu_stream_s *cu_stream_t;
typedef struct cu_module_s *cu_module_t; /* struct tags shared with internal.h */
typedef struct cu_function_s *cu_function_t;
typedef struct cu_event_s *cu_event_t;
typedef struct cu_graph_s *cu_graph_t;
typedef struct cu_graph_exec_s *cu_graph_exec_t;
typedef unsigned long long cu_deviceptr_t;

enum {
  CU_SUCCESS = 0,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_STREAM_NON_BLOCKING = 1,
  CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2,
  CU_MEMORYTYPE_DEVICE = 2,
  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
};

typedef struct cuda_driver_t {
  void *library;
  cu_result_t (*init)(unsigned flags);
  cu_result_t (*device_get_count)(int *count);
  cu_result_t (*device_get)(cu_device_handle_t *device, int ordinal);
  cu_result_t (*device_get_name)(char *name, int len, cu_device_handle_t device);
  cu_result_t (*device_get_attribute)(int *value, int attribute, cu_device_handle_t device);
  cu_result_t (*primary_ctx_retain)(cu_context_t *ctx, cu_device_handle_t device);
  cu_result_t (*primary_ctx_release)(cu_device_handle_t device);
  cu_result_t (*ctx_set_current)(cu_context_t ctx);
  cu_result_t (*stream_create)(cu_stream_t *stream, unsigned flags);
  cu_result_t (*stream_destroy)(cu_stream_t stream);
  cu_result_t (*stream_synchronize)(cu_stream_t stream);
  cu_result_t (*module_load_data)(cu_module_t *module, const void *image);
  cu_result_t (*module_unload)(cu_module_t module);
  cu_result_t (*module_get_function)(cu_function_t *fn, cu_module_t module, const char *name);
  cu_result_t (*launch_kernel)(cu_function_t fn, unsigned gx, unsigned gy, unsigned gz,
                               unsigned bx, unsigned by, unsigned bz, unsigned shared,
                               cu_stream_t stream, void **params, void **extra);
  cu_result_t (*mem_alloc)(cu_deviceptr_t *ptr, size_t bytes);
  cu_result_t (*mem_free)(cu_deviceptr_t ptr);
  cu_result_t (*memcpy_htod_async)(cu_deviceptr_t dst, const void *src, size_t bytes,
                                   cu_stream_t stream);
  cu_result_t (*memcpy_dtoh_async)(void *dst, cu_deviceptr_t src, size_t bytes,
                                   cu_stream_t stream);
  cu_result_t (*memcpy_dtod_async)(cu_deviceptr_t dst, cu_deviceptr_t src, size_t bytes,
                                   cu_stream_t stream);
  cu_result_t (*event_create)(cu_event_t *event, unsigned flags);
  cu_result_t (*event_destroy)(cu_event_t event);
  cu_result_t (*event_record)(cu_event_t event, cu_stream_t stream);
  cu_result_t (*event_elapsed_time)(float *ms, cu_event_t start, cu_event_t end);
  cu_result_t (*get_error_name)(cu_result_t error, const char **name);
  cu_result_t (*get_error_string)(cu_result_t error, const char **text);
  cu_result_t (*pointer_get_attribute)(void *data, int attribute, cu_deviceptr_t ptr);
  /* CUDA graphs (optional: a driver without them runs every launch). */
  cu_result_t (*stream_begin_capture)(cu_stream_t stream, int mode);
  cu_result_t (*stream_end_capture)(cu_stream_t stream, cu_graph_t *graph);
  cu_result_t (*graph_instantiate)(cu_graph_exec_t *exec, cu_graph_t graph,
                                   unsigned long long flags);
  cu_result_t (*graph_launch)(cu_graph_exec_t exec, cu_stream_t stream);
  cu_result_t (*graph_exec_destroy)(cu_graph_exec_t exec);
  cu_result_t (*graph_destroy)(cu_graph_t graph);
} cuda_driver_t;

static cuda_driver_t driver;

/* Names of the results the driver itself may be unable to name (a stub
 * library answers every call with an error, cuGetErrorName included). */
static const char *known_result_name(cu_result_t r) {
  switch (r) {
  case 3: return "CUDA_ERROR_NOT_INITIALIZED";
  case 34: return "CUDA_ERROR_STUB_LIBRARY (a stub, not a driver, was loaded)";
  case 100: return "CUDA_ERROR_NO_DEVICE";
  case 101: return "CUDA_ERROR_INVALID_DEVICE";
  default: return NULL;
  }
}

static const char *result_name(cu_result_t r, char *buf, size_t size) {
  const char *name = NULL;
  if (driver.get_error_name && driver.get_error_name(r, &name) == CU_SUCCESS && name)
    return name;
  if ((name = known_result_name(r)))
    return name;
  snprintf(buf, size, "CUDA error %d", (int)r);
  return buf;
}
static char driver_error[512];
static pthread_once_t driver_once = PTHREAD_ONCE_INIT;

/* Loads the driver once per process; on failure driver.library stays NULL
 * and driver_error says why. The library is never unloaded. */
static void load_driver(void) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    snprintf(driver_error, sizeof(driver_error),
             "the CUDA driver (libcuda.so.1) cannot be loaded: %s", why ? why : "not found");
    return;
  }
  /* The names cuda.h maps the API to (CUDA 13); `older` is the name a
   * driver from before that version exports instead. */
  struct {
    const char *name;
    void **slot;
    const char *older;
  } symbols[] = {
      {"cuInit", (void **)&driver.init, NULL},
      {"cuDeviceGetCount", (void **)&driver.device_get_count, NULL},
      {"cuDeviceGet", (void **)&driver.device_get, NULL},
      {"cuDeviceGetName", (void **)&driver.device_get_name, NULL},
      {"cuDeviceGetAttribute", (void **)&driver.device_get_attribute, NULL},
      {"cuDevicePrimaryCtxRetain", (void **)&driver.primary_ctx_retain, NULL},
      {"cuDevicePrimaryCtxRelease_v2", (void **)&driver.primary_ctx_release, NULL},
      {"cuCtxSetCurrent", (void **)&driver.ctx_set_current, NULL},
      {"cuStreamCreate", (void **)&driver.stream_create, NULL},
      {"cuStreamDestroy_v2", (void **)&driver.stream_destroy, NULL},
      {"cuStreamSynchronize", (void **)&driver.stream_synchronize, NULL},
      {"cuModuleLoadData", (void **)&driver.module_load_data, NULL},
      {"cuModuleUnload", (void **)&driver.module_unload, NULL},
      {"cuModuleGetFunction", (void **)&driver.module_get_function, NULL},
      {"cuLaunchKernel", (void **)&driver.launch_kernel, NULL},
      {"cuMemAlloc_v2", (void **)&driver.mem_alloc, NULL},
      {"cuMemFree_v2", (void **)&driver.mem_free, NULL},
      {"cuMemcpyHtoDAsync_v2", (void **)&driver.memcpy_htod_async, NULL},
      {"cuMemcpyDtoHAsync_v2", (void **)&driver.memcpy_dtoh_async, NULL},
      {"cuMemcpyDtoDAsync_v2", (void **)&driver.memcpy_dtod_async, NULL},
      {"cuEventCreate", (void **)&driver.event_create, NULL},
      {"cuEventDestroy_v2", (void **)&driver.event_destroy, NULL},
      {"cuEventRecord", (void **)&driver.event_record, NULL},
      {"cuEventElapsedTime_v2", (void **)&driver.event_elapsed_time, "cuEventElapsedTime"},
      {"cuGetErrorName", (void **)&driver.get_error_name, NULL},
      {"cuGetErrorString", (void **)&driver.get_error_string, NULL},
      {"cuPointerGetAttribute", (void **)&driver.pointer_get_attribute, NULL},
  };
  for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); ++i) {
    *symbols[i].slot = dlsym(lib, symbols[i].name);
    if (!*symbols[i].slot && symbols[i].older)
      *symbols[i].slot = dlsym(lib, symbols[i].older);
    if (!*symbols[i].slot) {
      snprintf(driver_error, sizeof(driver_error),
               "the CUDA driver (libcuda.so.1) has no %s: it is older than this runtime needs",
               symbols[i].name);
      dlclose(lib);
      memset(&driver, 0, sizeof(driver));
      return;
    }
  }
  struct {
    const char *name;
    void **slot;
  } optional[] = {
      {"cuStreamBeginCapture_v2", (void **)&driver.stream_begin_capture},
      {"cuStreamEndCapture", (void **)&driver.stream_end_capture},
      {"cuGraphInstantiateWithFlags", (void **)&driver.graph_instantiate},
      {"cuGraphLaunch", (void **)&driver.graph_launch},
      {"cuGraphExecDestroy", (void **)&driver.graph_exec_destroy},
      {"cuGraphDestroy", (void **)&driver.graph_destroy},
  };
  bool graphs = true;
  for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); ++i)
    graphs &= (*optional[i].slot = dlsym(lib, optional[i].name)) != NULL;
  if (!graphs)
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); ++i)
      *optional[i].slot = NULL;
  cu_result_t r = driver.init(0);
  if (r != CU_SUCCESS) {
    char buf[32];
    snprintf(driver_error, sizeof(driver_error), "cuInit failed: %s",
             result_name(r, buf, sizeof(buf)));
    dlclose(lib);
    memset(&driver, 0, sizeof(driver));
    return;
  }
  driver.library = lib;
}

/* A status for a failed driver call: "WHAT: CUDA_ERROR_NAME (text)". */
static weft_status_t cuda_error(cu_result_t r, weft_status_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static weft_status_t cuda_error(cu_result_t r, weft_status_code_t code, const char *fmt, ...) {
  char what[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(what, sizeof(what), fmt, args);
  va_end(args);
  char buf[32];
  const char *name = result_name(r, buf, sizeof(buf)), *text = NULL;
  if (driver.get_error_string(r, &text) != CU_SUCCESS || !text)
    return weft_status_create(code, "%s: %s", what, name);
  return weft_status_create(code, "%s: %s (%s)", what, name, text);
}

/*===------------------------------------------------------------------===*
 * The device
 *===------------------------------------------------------------------===*/

typedef struct weft_cuda_device_t {
  weft_device_t base;
  cu_device_handle_t handle;
  cu_context_t context;
  cu_stream_t stream;
  int compute_major, compute_minor;
  int32_t ordinal;
  /* WEFT_CUDA_SYNC=1: wait after every launch, so a kernel's fault names
   * that kernel (slow; for finding a failing dispatch). */
  bool synchronous;
  /* Models replay their launches as a CUDA graph (WEFT_CUDA_GRAPHS=0: no). */
  bool graphs;
  /* Held through a model's run: the models on this device share its
   * stream, and while one captures its launches as a graph, whatever
   * another queued on the stream would be captured into that graph rather
   * than run. */
  pthread_mutex_t run_lock;
  char name[256];
} weft_cuda_device_t;

static weft_cuda_device_t *as_cuda(weft_device_t *device) {
  return (weft_cuda_device_t *)device;
}

static void cuda_destroy(weft_device_t *device) {
  weft_cuda_device_t *cuda = as_cuda(device);
  if (driver.ctx_set_current(cuda->context) == CU_SUCCESS) {
    driver.stream_synchronize(cuda->stream);
    driver.stream_destroy(cuda->stream);
  }
  pthread_mutex_destroy(&cuda->run_lock);
  driver.primary_ctx_release(cuda->handle);
  weft_allocator_t allocator = device->allocator;
  allocator.free(allocator.user_data, cuda);
}

static weft_status_t cuda_dispatch(weft_device_t *device, weft_workgroup_fn_t fn,
                                   void *const *bindings, int64_t workgroup_count) {
  (void)device, (void)fn, (void)bindings, (void)workgroup_count;
  return weft_status_create(WEFT_INVALID_ARGUMENT,
                            "weft_device_dispatch: a CUDA device runs kernels "
                            "(weft_device_launch), not host workgroup functions");
}

static const weft_device_vtable_t cuda_vtable = {cuda_destroy, cuda_dispatch};

weft_status_t weft_cuda_device_create(const weft_cuda_device_options_t *options,
                                      const weft_allocator_t *allocator,
                                      weft_device_t **out_device) {
  if (!out_device)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_cuda_device_create: out_device is NULL");
  *out_device = NULL;
  int32_t ordinal = options ? options->ordinal : 0;
  if (ordinal < 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_cuda_device_create: ordinal %d is negative", (int)ordinal);
  allocator = weft_allocator_or_default(allocator);
  if (!allocator->alloc || !allocator->free)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_cuda_device_create: allocator has a NULL alloc or free "
                              "function");
  pthread_once(&driver_once, load_driver);
  if (!driver.library)
    return weft_status_create(WEFT_UNAVAILABLE, "no CUDA device: %s", driver_error);
  int count = 0;
  cu_result_t r = driver.device_get_count(&count);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_UNAVAILABLE, "no CUDA device: cuDeviceGetCount failed");
  if (ordinal >= count)
    return weft_status_create(WEFT_UNAVAILABLE,
                              "no CUDA device: GPU %d was asked for and the driver sees %d",
                              (int)ordinal, count);
  weft_cuda_device_t *cuda =
      allocator->alloc(allocator->user_data, sizeof(*cuda), _Alignof(weft_cuda_device_t));
  if (!cuda)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "weft_cuda_device_create: out of memory");
  memset(cuda, 0, sizeof(*cuda));
  cuda->base.kind = WEFT_DEVICE_CUDA;
  cuda->base.vtable = &cuda_vtable;
  cuda->base.allocator = *allocator;
  cuda->base.num_threads = 0;
  const char *sync = getenv("WEFT_CUDA_SYNC");
  cuda->synchronous = sync && sync[0] && strcmp(sync, "0") != 0;
  cuda->ordinal = ordinal;
  const char *graphs = getenv("WEFT_CUDA_GRAPHS");
  cuda->graphs = driver.graph_launch && !cuda->synchronous &&
                 !(graphs && strcmp(graphs, "0") == 0);
  weft_status_t status = NULL;
  if ((r = driver.device_get(&cuda->handle, ordinal)) != CU_SUCCESS)
    status = cuda_error(r, WEFT_UNAVAILABLE, "no CUDA device: cuDeviceGet(%d) failed",
                        (int)ordinal);
  else if ((r = driver.device_get_name(cuda->name, (int)sizeof(cuda->name) - 1, cuda->handle)) !=
           CU_SUCCESS)
    status = cuda_error(r, WEFT_INTERNAL, "weft_cuda_device_create: cuDeviceGetName failed");
  else if ((r = driver.device_get_attribute(&cuda->compute_major,
                                            CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                            cuda->handle)) != CU_SUCCESS ||
           (r = driver.device_get_attribute(&cuda->compute_minor,
                                            CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                            cuda->handle)) != CU_SUCCESS)
    status = cuda_error(r, WEFT_INTERNAL,
                        "weft_cuda_device_create: the compute capability cannot be read");
  if (status) {
    allocator->free(allocator->user_data, cuda);
    return status;
  }
  if ((r = driver.primary_ctx_retain(&cuda->context, cuda->handle)) != CU_SUCCESS) {
    allocator->free(allocator->user_data, cuda);
    return cuda_error(r, WEFT_UNAVAILABLE, "no CUDA device: GPU %d has no usable context",
                      (int)ordinal);
  }
  if ((r = driver.ctx_set_current(cuda->context)) != CU_SUCCESS ||
      (r = driver.stream_create(&cuda->stream, CU_STREAM_NON_BLOCKING)) != CU_SUCCESS) {
    status = cuda_error(r, WEFT_INTERNAL, "weft_cuda_device_create: no stream on GPU %d",
                        (int)ordinal);
    driver.primary_ctx_release(cuda->handle);
    allocator->free(allocator->user_data, cuda);
    return status;
  }
  pthread_mutex_init(&cuda->run_lock, NULL);
  *out_device = &cuda->base;
  return NULL;
}

const char *weft_device_name(const weft_device_t *device) {
  if (!device)
    return "";
  if (device->kind == WEFT_DEVICE_CUDA)
    return ((const weft_cuda_device_t *)device)->name;
  return "cpu";
}

weft_status_t weft_cuda_move(weft_device_t *device, int kind, void *dst, const void *src,
                             size_t bytes) {
  static const char *const what[] = {"copying on the GPU", "reading from the GPU",
                                     "writing to the GPU"};
  weft_cuda_device_t *cuda = as_cuda(device);
  cu_deviceptr_t d = (cu_deviceptr_t)(uintptr_t)dst, s = (cu_deviceptr_t)(uintptr_t)src;
  cu_result_t r = driver.ctx_set_current(cuda->context);
  if (r == CU_SUCCESS) {
    if (kind == 0)
      r = driver.memcpy_dtod_async(d, s, bytes, cuda->stream);
    else if (kind == 1)
      r = driver.memcpy_dtoh_async(dst, s, bytes, cuda->stream);
    else
      r = driver.memcpy_htod_async(d, src, bytes, cuda->stream);
  }
  /* A read returns the bytes; a write's host bytes may go away next. */
  if (r == CU_SUCCESS && kind != 0)
    r = driver.stream_synchronize(cuda->stream);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_INTERNAL, "%s (%zu bytes)", what[kind], bytes);
  return NULL;
}

void *weft_cuda_stream(weft_device_t *device) { return as_cuda(device)->stream; }

int32_t weft_cuda_ordinal(const weft_device_t *device) {
  return ((const weft_cuda_device_t *)device)->ordinal;
}

weft_status_t weft_cuda_enter(weft_device_t *device) {
  cu_result_t r = driver.ctx_set_current(as_cuda(device)->context);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_INTERNAL, "making the context of GPU %d current",
                      (int)as_cuda(device)->ordinal);
  return NULL;
}

bool weft_cuda_is_device_memory(const void *ptr) {
  unsigned type = 0;
  return ptr &&
         driver.pointer_get_attribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                      (cu_deviceptr_t)(uintptr_t)ptr) == CU_SUCCESS &&
         type == CU_MEMORYTYPE_DEVICE;
}

weft_status_t weft_cuda_alloc(weft_device_t *device, size_t bytes, void **out) {
  *out = NULL;
  cu_deviceptr_t ptr = 0;
  cu_result_t r = driver.ctx_set_current(as_cuda(device)->context);
  if (r == CU_SUCCESS)
    r = driver.mem_alloc(&ptr, bytes ? bytes : 1);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_OUT_OF_MEMORY, "allocating %zu bytes on GPU %d", bytes,
                      (int)as_cuda(device)->ordinal);
  *out = (void *)(uintptr_t)ptr;
  return NULL;
}

void weft_cuda_free(weft_device_t *device, void *ptr) {
  if (ptr && driver.ctx_set_current(as_cuda(device)->context) == CU_SUCCESS)
    driver.mem_free((cu_deviceptr_t)(uintptr_t)ptr);
}

weft_status_t weft_device_wait(weft_device_t *device, const char *model) {
  if (device->kind != WEFT_DEVICE_CUDA)
    return NULL;
  weft_cuda_device_t *cuda = as_cuda(device);
  cu_result_t r = driver.ctx_set_current(cuda->context);
  if (r == CU_SUCCESS)
    r = driver.stream_synchronize(cuda->stream);
  if (r != CU_SUCCESS && !model)
    return cuda_error(r, WEFT_INTERNAL, "a collective failed on GPU %d", (int)cuda->ordinal);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_INTERNAL,
                      "model '%s': a kernel or a collective failed on GPU %d (set "
                      "WEFT_CUDA_SYNC=1 to name the kernel)",
                      model, (int)cuda->ordinal);
  return NULL;
}

/*===------------------------------------------------------------------===*
 * Kernels
 *===------------------------------------------------------------------===*/

#define WEFT_MAX_KERNEL_ARGS 256

weft_status_t weft_device_launch(weft_device_t *device, const weft_kernel_table_t *kernels,
                                 int32_t kernel, void *const *bindings, int32_t num_bindings,
                                 int32_t grid_x, int32_t grid_y, int32_t grid_z,
                                 int32_t block_x, int32_t block_y, int32_t block_z,
                                 int32_t shared_bytes) {
  if (!device)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "weft_device_launch: device is NULL");
  if (device->kind != WEFT_DEVICE_CUDA) {
    /* A CUDA model compiled for the CPU: one workgroup per GPU thread. */
    if (!kernels || !kernels->host || kernel < 0 || kernel >= kernels->count)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "weft_device_launch: a CPU device runs no kernels (only a model "
                                "compiled with --target=cuda-on-cpu)");
    int64_t threads = (int64_t)grid_x * grid_y * grid_z * block_x * block_y * block_z;
    return weft_device_dispatch(device, kernels->host[kernel], bindings, threads);
  }
  if (!kernels || kernel < 0 || kernel >= kernels->count)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_device_launch: kernel %d is not in the model's table of %d",
                              (int)kernel, kernels ? (int)kernels->count : 0);
  if (num_bindings < 0 || num_bindings > WEFT_MAX_KERNEL_ARGS || (num_bindings && !bindings))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_device_launch: kernel '%s' given %d arguments",
                              kernels->names[kernel], (int)num_bindings);
  if (grid_x < 1 || grid_y < 1 || grid_z < 1 || block_x < 1 || block_y < 1 || block_z < 1 ||
      shared_bytes < 0)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_device_launch: kernel '%s' has an empty or negative launch "
                              "shape",
                              kernels->names[kernel]);
  weft_cuda_device_t *cuda = as_cuda(device);
  /* Each kernel parameter is one device pointer; the driver copies them
   * before cuLaunchKernel returns. */
  void *values[WEFT_MAX_KERNEL_ARGS];
  void *params[WEFT_MAX_KERNEL_ARGS];
  for (int32_t i = 0; i < num_bindings; ++i) {
    values[i] = bindings[i];
    params[i] = &values[i];
  }
  cu_result_t r = driver.launch_kernel(kernels->functions[kernel], (unsigned)grid_x,
                                       (unsigned)grid_y, (unsigned)grid_z, (unsigned)block_x,
                                       (unsigned)block_y, (unsigned)block_z,
                                       (unsigned)shared_bytes, cuda->stream, params, NULL);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_INTERNAL, "model '%s': launching kernel '%s' failed",
                      kernels->model, kernels->names[kernel]);
  if (cuda->synchronous && (r = driver.stream_synchronize(cuda->stream)) != CU_SUCCESS)
    return cuda_error(r, WEFT_INTERNAL, "model '%s': kernel '%s' failed", kernels->model,
                      kernels->names[kernel]);
  return NULL;
}

/*===------------------------------------------------------------------===*
 * Models
 *===------------------------------------------------------------------===*/

/* Device buffers are aligned to 256 bytes, as cuMemAlloc's are. */
#define WEFT_CUDA_ALIGN 256u

static uint64_t align_up(uint64_t v) {
  return (v + WEFT_CUDA_ALIGN - 1) / WEFT_CUDA_ALIGN * WEFT_CUDA_ALIGN;
}

struct weft_cuda_model_t {
  weft_cuda_device_t *device;
  weft_allocator_t allocator;
  weft_kernel_table_t kernels;
  cu_deviceptr_t arena, weights, staging;
  /* Offsets of each input's and output's slot in `staging`. */
  uint64_t input_offset[WEFT_MAX_MODEL_IO], output_offset[WEFT_MAX_MODEL_IO];
  /* Recorded around each run; last_ms < 0 until a run completed. */
  cu_event_t start, end;
  double last_ms;
  /* The device entry's launches for host views (fixed staging slots),
   * captured as a CUDA graph by the first such run and replayed by the
   * next ones: one launch instead of one per kernel. graph_state 0: not
   * tried, 1: `graph` is ready, -1: the entry cannot be captured (a
   * run-time If or Loop reads the device) or graphs are off. */
  int graph_state;
  cu_graph_exec_t graph;
};

bool weft_cuda_model_time(const weft_cuda_model_t *model, double *out_ms) {
  if (model->last_ms < 0)
    return false;
  *out_ms = model->last_ms;
  return true;
}

void weft_cuda_model_destroy(weft_cuda_model_t *model) {
  if (!model)
    return;
  if (driver.ctx_set_current(model->device->context) == CU_SUCCESS) {
    driver.stream_synchronize(model->device->stream);
    /* The graph launches the module's functions: it goes first. */
    if (model->graph)
      driver.graph_exec_destroy(model->graph);
    if (model->start)
      driver.event_destroy(model->start);
    if (model->end)
      driver.event_destroy(model->end);
    if (model->kernels.module)
      driver.module_unload(model->kernels.module);
    if (model->arena)
      driver.mem_free(model->arena);
    if (model->weights)
      driver.mem_free(model->weights);
    if (model->staging)
      driver.mem_free(model->staging);
  }
  weft_allocator_t allocator = model->allocator;
  if (model->kernels.functions)
    allocator.free(allocator.user_data, model->kernels.functions);
  allocator.free(allocator.user_data, model);
}

void weft_cuda_model_buffers(weft_cuda_model_t *model, const weft_model_info_t *info,
                             void **arena, const void **weights, void **inputs,
                             void **outputs, const weft_kernel_table_t **kernels) {
  *arena = (void *)(uintptr_t)model->arena;
  *weights = (const void *)(uintptr_t)model->weights;
  for (int32_t i = 0; i < info->num_inputs; ++i)
    inputs[i] = (void *)(uintptr_t)(model->staging + model->input_offset[i]);
  for (int32_t i = 0; i < info->num_outputs; ++i)
    outputs[i] = (void *)(uintptr_t)(model->staging + model->output_offset[i]);
  *kernels = &model->kernels;
}

weft_status_t weft_check_cuda_model_info(const weft_model_info_t *info, const char *who) {
  if (weft_model_num_devices(info) > 1 ? !info->spmd_device_entry : !info->device_entry)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: CUDA model '%s' has no device entry function", who,
                              weft_model_name(info));
  if ((info->num_device_images < 1 || !info->device_images) && !info->host_kernels)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: CUDA model '%s' has no kernel image",
                              who, weft_model_name(info));
  if (info->num_kernels < 0 || (info->num_kernels > 0 && !info->kernel_names))
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: CUDA model '%s' has %d kernels but no names", who,
                              weft_model_name(info), (int)info->num_kernels);
  if (info->weights_size > 0 && !info->weights)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: CUDA model '%s' has %" PRIu64 " bytes of weights but no data",
                              who, weft_model_name(info), info->weights_size);
  int32_t parts = info->num_weight_parts;
  if (parts == 0)
    return NULL;
  bool bad = parts < 2 || weft_model_num_devices(info) < 2 || !info->weight_part_of ||
             info->weight_part_size > (info->weights_size - info->weights_shared_size) /
                                          (uint64_t)(parts > 1 ? parts : 1) ||
             info->weights_shared_size > info->weights_size ||
             info->weights_shared_size + (uint64_t)parts * info->weight_part_size !=
                 info->weights_size;
  for (int32_t r = 0; !bad && r < weft_model_num_devices(info); ++r)
    bad = info->weight_part_of[r] < 0 || info->weight_part_of[r] >= parts;
  if (bad)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: CUDA model '%s' describes %d weight parts that do not add "
                              "up to its %" PRIu64 " bytes of weights, or names a part out of "
                              "range",
                              who, weft_model_name(info), (int)parts, info->weights_size);
  return NULL;
}

/* "sm_90", "sm_90a" -> 90; -1 for anything else. */
static int arch_number(const char *arch) {
  if (!arch || strncmp(arch, "sm_", 3) != 0)
    return -1;
  int n = 0, digits = 0;
  for (const char *p = arch + 3; *p >= '0' && *p <= '9' && digits < 4; ++p, ++digits)
    n = n * 10 + (*p - '0');
  return digits >= 2 ? n : -1;
}

/* How well an image for `arch` suits a GPU of compute capability
 * major.minor (lower is better): its own cubin; a cubin of the same major
 * version and a lower minor, which runs as it is; then PTX of an older
 * major version, which the driver compiles when it loads (the newest
 * first); images for newer GPUs last (they fail to load). */
static int image_rank(int arch, int major, int minor) {
  int cc = major * 10 + minor;
  if (arch == cc)
    return 0;
  if (arch >= 0 && arch / 10 == major && arch < cc)
    return 1000 - arch;
  if (arch >= 0 && arch < cc)
    return 2000 - arch;
  return 3000;
}

void weft_cuda_image_order(const weft_device_image_t *images, int32_t count, int major,
                           int minor, int32_t *order) {
  for (int32_t i = 0; i < count; ++i)
    order[i] = i;
  /* Insertion sort: a handful of images, and equal ranks keep their order. */
  for (int32_t i = 1; i < count; ++i) {
    int32_t k = order[i], j = i;
    int rank = image_rank(arch_number(images[k].arch), major, minor);
    while (j > 0 && image_rank(arch_number(images[order[j - 1]].arch), major, minor) > rank) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = k;
  }
}

#define WEFT_MAX_DEVICE_IMAGES 64

/* Loads the image that suits the GPU best, trying the others after it. */
static weft_status_t load_image(weft_cuda_model_t *model, const weft_model_info_t *info) {
  cu_result_t r = CU_SUCCESS;
  char tried[256] = "";
  size_t used = 0;
  int32_t order[WEFT_MAX_DEVICE_IMAGES];
  int32_t count = info->num_device_images < WEFT_MAX_DEVICE_IMAGES ? info->num_device_images
                                                                     : WEFT_MAX_DEVICE_IMAGES;
  weft_cuda_image_order(info->device_images, count, model->device->compute_major,
                        model->device->compute_minor, order);
  for (int32_t i = 0; i < count; ++i) {
    const weft_device_image_t *image = &info->device_images[order[i]];
    if (!image->data || image->size == 0)
      continue;
    r = driver.module_load_data(&model->kernels.module, image->data);
    if (r == CU_SUCCESS)
      return NULL;
    model->kernels.module = NULL;
    if (used < sizeof(tried))
      used += (size_t)snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "",
                               image->arch ? image->arch : "?");
  }
  weft_cuda_device_t *cuda = model->device;
  if (!used)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "model '%s' has no kernel image (it was compiled for no "
                              "architecture)",
                              weft_model_name(info));
  return cuda_error(r, WEFT_UNAVAILABLE,
                    "model '%s' has no kernels for %s (compute capability %d.%d); it was "
                    "compiled for %s (weftc --cuda-arch=sm_%d%d adds it)",
                    weft_model_name(info), cuda->name, cuda->compute_major,
                    cuda->compute_minor, used ? tried : "no architecture",
                    cuda->compute_major, cuda->compute_minor);
}

weft_status_t weft_cuda_model_create(const weft_model_info_t *info, weft_device_t *device,
                                     int32_t rank, const weft_allocator_t *allocator,
                                     weft_cuda_model_t **out_model) {
  *out_model = NULL;
  weft_status_t status = weft_check_cuda_model_info(info, "weft_model_create");
  if (status)
    return status;
  weft_cuda_device_t *cuda = as_cuda(device);
  weft_cuda_model_t *model =
      allocator->alloc(allocator->user_data, sizeof(*model), _Alignof(weft_cuda_model_t));
  if (!model)
    return weft_status_create(WEFT_OUT_OF_MEMORY, "weft_model_create: out of memory");
  memset(model, 0, sizeof(*model));
  model->device = cuda;
  model->allocator = *allocator;
  model->kernels.model = weft_model_name(info);
  model->last_ms = -1;
  model->graph_state = cuda->graphs ? 0 : -1;
  model->kernels.names = info->kernel_names;
  cu_result_t r = driver.ctx_set_current(cuda->context);
  if (r != CU_SUCCESS) {
    status = cuda_error(r, WEFT_INTERNAL, "weft_model_create: the GPU's context");
    goto fail;
  }
  if ((status = load_image(model, info)))
    goto fail;
  if ((r = driver.event_create(&model->start, 0)) != CU_SUCCESS ||
      (r = driver.event_create(&model->end, 0)) != CU_SUCCESS) {
    status = cuda_error(r, WEFT_INTERNAL, "weft_model_create: no CUDA events");
    goto fail;
  }
  if (info->num_kernels > 0) {
    model->kernels.functions =
        allocator->alloc(allocator->user_data, sizeof(cu_function_t) * (size_t)info->num_kernels,
                         _Alignof(cu_function_t));
    if (!model->kernels.functions) {
      status = weft_status_create(WEFT_OUT_OF_MEMORY, "weft_model_create: out of memory");
      goto fail;
    }
  }
  for (int32_t k = 0; k < info->num_kernels; ++k) {
    const char *name = info->kernel_names[k];
    if (!name) {
      status = weft_status_create(WEFT_INVALID_ARGUMENT,
                                  "weft_model_create: model '%s' has no name for kernel %d",
                                  weft_model_name(info), (int)k);
      goto fail;
    }
    if ((r = driver.module_get_function(&model->kernels.functions[k], model->kernels.module,
                                        name)) != CU_SUCCESS) {
      status = cuda_error(r, WEFT_INVALID_ARGUMENT,
                          "weft_model_create: model '%s' has no kernel '%s' in its image",
                          weft_model_name(info), name);
      goto fail;
    }
  }
  model->kernels.count = info->num_kernels;
  uint64_t staging = 0;
  for (int32_t i = 0; i < info->num_inputs; ++i) {
    model->input_offset[i] = staging;
    staging += align_up(weft_info_byte_size(&info->inputs[i]));
  }
  for (int32_t i = 0; i < info->num_outputs; ++i) {
    model->output_offset[i] = staging;
    staging += align_up(weft_info_byte_size(&info->outputs[i]));
  }
  /* Cut weights: this rank's device holds the shared ones and its part. */
  uint64_t shared = info->weights_size, part_at = 0, part = 0;
  if (info->num_weight_parts > 1 && rank >= 0) {
    shared = info->weights_shared_size;
    part = info->weight_part_size;
    part_at = shared + (uint64_t)info->weight_part_of[rank] * part;
  }
  struct {
    cu_deviceptr_t *ptr;
    uint64_t bytes;
    const char *what;
  } buffers[] = {{&model->arena, info->arena_size, "arena"},
                 {&model->weights, shared + part, "weights"},
                 {&model->staging, staging, "input and output staging"}};
  for (size_t i = 0; i < sizeof(buffers) / sizeof(buffers[0]); ++i) {
    if (buffers[i].bytes == 0)
      continue;
    if ((r = driver.mem_alloc(buffers[i].ptr, (size_t)buffers[i].bytes)) != CU_SUCCESS) {
      *buffers[i].ptr = 0;
      status = cuda_error(r, WEFT_OUT_OF_MEMORY,
                          "weft_model_create: model '%s' needs %" PRIu64
                          " bytes of GPU memory for its %s",
                          weft_model_name(info), buffers[i].bytes, buffers[i].what);
      goto fail;
    }
  }
  if (shared + part > 0 &&
      ((shared && (r = driver.memcpy_htod_async(model->weights, info->weights, (size_t)shared,
                                                cuda->stream)) != CU_SUCCESS) ||
       (part && (r = driver.memcpy_htod_async(model->weights + shared,
                                              (const char *)info->weights + part_at,
                                              (size_t)part, cuda->stream)) != CU_SUCCESS) ||
       (r = driver.stream_synchronize(cuda->stream)) != CU_SUCCESS)) {
    status = cuda_error(r, WEFT_INTERNAL, "weft_model_create: copying the weights of '%s'",
                        weft_model_name(info));
    goto fail;
  }
  *out_model = model;
  return NULL;
fail:
  weft_cuda_model_destroy(model);
  return status;
}

/* Records the device entry's launches on the model's stream as a graph
 * (nothing runs while capturing). An entry that cannot be captured (its
 * host code reads or writes the device, which a capture refuses) leaves
 * graph_state -1 and runs launch by launch from then on. */
static void capture_graph(weft_cuda_model_t *model, const weft_model_info_t *info,
                          void *const *input_data, void *const *output_data) {
  weft_cuda_device_t *cuda = model->device;
  model->graph_state = -1;
  if (driver.stream_begin_capture(cuda->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) !=
      CU_SUCCESS)
    return;
  weft_status_t status = info->device_entry(&cuda->base, &model->kernels,
                                            (void *)(uintptr_t)model->arena,
                                            (const void *)(uintptr_t)model->weights,
                                            input_data, output_data);
  cu_graph_t graph = NULL;
  cu_result_t ended = driver.stream_end_capture(cuda->stream, &graph);
  if (!status && ended == CU_SUCCESS && graph &&
      driver.graph_instantiate(&model->graph, graph, 0) == CU_SUCCESS)
    model->graph_state = 1;
  if (graph)
    driver.graph_destroy(graph);
  weft_status_free(status);
}

static weft_status_t run_model(weft_cuda_model_t *model, const weft_model_info_t *info,
                               const weft_tensor_view_t *inputs,
                               const weft_tensor_view_t *outputs) {
  weft_cuda_device_t *cuda = model->device;
  void *input_data[WEFT_MAX_MODEL_IO];
  void *output_data[WEFT_MAX_MODEL_IO];
  cu_result_t r = driver.ctx_set_current(cuda->context);
  if (r == CU_SUCCESS)
    r = driver.event_record(model->start, cuda->stream);
  if (r != CU_SUCCESS)
    return cuda_error(r, WEFT_INTERNAL, "model '%s': the GPU's context", weft_model_name(info));
  model->last_ms = -1;
  weft_status_t status = NULL;
  for (int32_t i = 0; i < info->num_inputs && !status; ++i) {
    size_t bytes = weft_info_byte_size(&info->inputs[i]);
    if (inputs[i].memory == WEFT_MEMORY_DEVICE) {
      input_data[i] = inputs[i].data;
      continue;
    }
    cu_deviceptr_t slot = model->staging + model->input_offset[i];
    input_data[i] = (void *)(uintptr_t)slot;
    if (bytes && (r = driver.memcpy_htod_async(slot, inputs[i].data, bytes, cuda->stream)) !=
                     CU_SUCCESS)
      status = cuda_error(r, WEFT_INTERNAL, "model '%s': copying input %d to the GPU",
                          weft_model_name(info), (int)i);
  }
  /* A failed copy launches nothing, but still waits for the copies queued
   * before it (below). */
  if (status)
    goto wait;
  for (int32_t i = 0; i < info->num_outputs; ++i)
    output_data[i] = outputs[i].memory == WEFT_MEMORY_DEVICE
                         ? outputs[i].data
                         : (void *)(uintptr_t)(model->staging + model->output_offset[i]);
  bool host_views = true;
  for (int32_t i = 0; i < info->num_inputs; ++i)
    host_views &= inputs[i].memory != WEFT_MEMORY_DEVICE;
  for (int32_t i = 0; i < info->num_outputs; ++i)
    host_views &= outputs[i].memory != WEFT_MEMORY_DEVICE;
  if (host_views && model->graph_state == 0)
    capture_graph(model, info, input_data, output_data);
  if (host_views && model->graph_state == 1) {
    if ((r = driver.graph_launch(model->graph, cuda->stream)) != CU_SUCCESS)
      status = cuda_error(r, WEFT_INTERNAL, "model '%s': launching its CUDA graph failed",
                          weft_model_name(info));
  } else {
    status = info->device_entry(&cuda->base, &model->kernels, (void *)(uintptr_t)model->arena,
                                (const void *)(uintptr_t)model->weights, input_data,
                                output_data);
  }
  for (int32_t i = 0; i < info->num_outputs && !status; ++i) {
    size_t bytes = weft_info_byte_size(&info->outputs[i]);
    if (outputs[i].memory == WEFT_MEMORY_DEVICE || bytes == 0)
      continue;
    if ((r = driver.memcpy_dtoh_async(outputs[i].data,
                                      model->staging + model->output_offset[i], bytes,
                                      cuda->stream)) != CU_SUCCESS)
      status = cuda_error(r, WEFT_INTERNAL, "model '%s': copying output %d from the GPU",
                          weft_model_name(info), (int)i);
  }
  cu_result_t recorded;
wait:
  recorded = driver.event_record(model->end, cuda->stream);
  /* Wait even after a failed launch: nothing may still use the caller's
   * buffers when the run returns. */
  r = driver.stream_synchronize(cuda->stream);
  if (!status && r != CU_SUCCESS)
    status = cuda_error(r, WEFT_INTERNAL,
                        "model '%s': a kernel failed (set WEFT_CUDA_SYNC=1 to name it)",
                        weft_model_name(info));
  float ms = 0;
  if (!status && recorded == CU_SUCCESS &&
      driver.event_elapsed_time(&ms, model->start, model->end) == CU_SUCCESS)
    model->last_ms = ms;
  return status;
}

weft_status_t weft_cuda_model_run(weft_cuda_model_t *model, const weft_model_info_t *info,
                                  const weft_tensor_view_t *inputs,
                                  const weft_tensor_view_t *outputs) {
  pthread_mutex_lock(&model->device->run_lock);
  weft_status_t status = run_model(model, info, inputs, outputs);
  pthread_mutex_unlock(&model->device->run_lock);
  return status;
}
