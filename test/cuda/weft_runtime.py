"""ctypes bindings of libweft_runtime for the model runs that need no LLVM:
on a GPU machine that has Python and numpy but not Weft's toolchain, a
bundle made here (make_bundle.py) runs through these (run_bundle.py).

Mirrors runtime/include/weft/runtime.h at model ABI 8; load_model() refuses
a library of another ABI version, so a change of the header that is not
carried here fails loudly (test/tools/run-bundle.test runs this on the CPU).
"""

import ctypes
import os

import numpy as np

ABI_VERSION = 8
MAX_RANK = 8
DEVICE_CPU, DEVICE_CUDA = 0, 1
MEMORY_HOST, MEMORY_DEVICE = 0, 1

# weft_dtype_t -> numpy dtype of the stored bytes (bf16 as its bits).
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
          7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
          13: np.uint64, 16: np.uint16}
BF16 = 16


class TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("value", ctypes.c_void_p),
                ("split_axis", ctypes.c_int32),
                ("run_time_dims", ctypes.POINTER(ctypes.c_int32))]


class ModelInfo(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("num_inputs", ctypes.c_int32), ("inputs", ctypes.POINTER(TensorInfo)),
                ("num_outputs", ctypes.c_int32), ("outputs", ctypes.POINTER(TensorInfo)),
                ("arena_size", ctypes.c_uint64), ("arena_alignment", ctypes.c_uint64),
                ("entry", ctypes.c_void_p), ("num_devices", ctypes.c_int32),
                ("parallel_plan", ctypes.c_char_p), ("spmd_entry", ctypes.c_void_p),
                ("weight_bytes", ctypes.c_uint64), ("num_micro_batches", ctypes.c_int32),
                ("num_transfers", ctypes.c_int32), ("transfers", ctypes.c_void_p),
                ("num_grid_axes", ctypes.c_int32), ("grid_shape", ctypes.c_void_p),
                ("target", ctypes.c_int32), ("device_entry", ctypes.c_void_p),
                ("num_device_images", ctypes.c_int32), ("device_images", ctypes.c_void_p),
                ("num_kernels", ctypes.c_int32), ("kernel_names", ctypes.c_void_p),
                ("weights", ctypes.c_void_p), ("weights_size", ctypes.c_uint64),
                ("host_kernels", ctypes.c_void_p), ("spmd_device_entry", ctypes.c_void_p),
                ("weights_shared_size", ctypes.c_uint64), ("weight_part_size", ctypes.c_uint64),
                ("num_weight_parts", ctypes.c_int32), ("weight_part_of", ctypes.c_void_p),
                ("num_extents", ctypes.c_int32)]


class TensorView(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("shape", ctypes.c_int64 * MAX_RANK), ("memory", ctypes.c_int32)]


class WeftError(RuntimeError):
    pass


class Runtime:
    """libweft_runtime, loaded globally so model libraries resolve against it."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(os.path.abspath(path), mode=ctypes.RTLD_GLOBAL)
        lib = self.lib
        lib.weft_status_message.restype = ctypes.c_char_p
        lib.weft_status_message.argtypes = [ctypes.c_void_p]
        lib.weft_status_free.argtypes = [ctypes.c_void_p]
        lib.weft_status_code.argtypes = [ctypes.c_void_p]
        for fn in ("weft_cpu_device_create", "weft_cuda_device_create"):
            getattr(lib, fn).restype = ctypes.c_void_p
            getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.POINTER(ctypes.c_void_p)]
        lib.weft_device_destroy.argtypes = [ctypes.c_void_p]
        lib.weft_device_name.restype = ctypes.c_char_p
        lib.weft_device_name.argtypes = [ctypes.c_void_p]
        lib.weft_model_create.restype = ctypes.c_void_p
        lib.weft_model_create.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.POINTER(ctypes.c_void_p)]
        lib.weft_model_destroy.argtypes = [ctypes.c_void_p]
        lib.weft_model_device_time.restype = ctypes.c_void_p
        lib.weft_model_device_time.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]
        lib.weft_model_run.restype = ctypes.c_void_p
        lib.weft_model_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(TensorView), ctypes.c_size_t,
                                       ctypes.POINTER(TensorView), ctypes.c_size_t]
        # Device groups: N CPU devices or N GPUs (NCCL), and models on them.
        for fn in ("weft_cpu_device_group_create", "weft_cuda_device_group_create"):
            getattr(lib, fn).restype = ctypes.c_void_p
            getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.POINTER(ctypes.c_void_p)]
        lib.weft_device_group_destroy.argtypes = [ctypes.c_void_p]
        lib.weft_group_model_create.restype = ctypes.c_void_p
        lib.weft_group_model_create.argtypes = lib.weft_model_create.argtypes
        lib.weft_group_model_destroy.argtypes = [ctypes.c_void_p]
        lib.weft_group_model_run.restype = ctypes.c_void_p
        lib.weft_group_model_run.argtypes = lib.weft_model_run.argtypes
        for fn in ("weft_group_all_reduce",):
            getattr(lib, fn).restype = ctypes.c_void_p
            getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32,
                                         ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p,
                                         ctypes.c_int64]
        lib.weft_group_broadcast.restype = ctypes.c_void_p
        lib.weft_group_broadcast.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32,
                                             ctypes.c_void_p, ctypes.c_size_t]

    def check(self, status, what):
        if status:
            message = self.lib.weft_status_message(status).decode("utf-8", "replace")
            self.lib.weft_status_free(status)
            raise WeftError(f"{what}: {message}")

    def device(self, kind, ordinal=0, threads=1):
        out = ctypes.c_void_p()
        if kind == "cuda":
            options = ctypes.c_int32(ordinal)
            status = self.lib.weft_cuda_device_create(ctypes.byref(options), None, ctypes.byref(out))
        else:
            options = ctypes.c_int32(threads)
            status = self.lib.weft_cpu_device_create(ctypes.byref(options), None, ctypes.byref(out))
        self.check(status, f"cannot create the {kind} device")
        return out

    def device_name(self, device):
        return self.lib.weft_device_name(device).decode()

    def group(self, kind, count, threads=1, ordinals=None):
        """N CPU devices, or N GPUs joined by NCCL (GPUs 0..N-1 or `ordinals`)."""
        out = ctypes.c_void_p()
        if kind == "cuda":
            chosen = (ctypes.c_int32 * count)(*ordinals) if ordinals else None

            class Options(ctypes.Structure):
                _fields_ = [("num_devices", ctypes.c_int32),
                            ("ordinals", ctypes.POINTER(ctypes.c_int32))]
            options = Options(count, chosen)
            status = self.lib.weft_cuda_device_group_create(ctypes.byref(options), None,
                                                            ctypes.byref(out))
        else:
            options = (ctypes.c_int32 * 2)(count, threads)
            status = self.lib.weft_cpu_device_group_create(options, None, ctypes.byref(out))
        self.check(status, f"cannot create a group of {count} {kind} devices")
        return out


class Model:
    """A compiled model library (weftc --emit=lib) created on a device."""

    def __init__(self, runtime, path, device):
        self.runtime = runtime
        self.lib = ctypes.CDLL(os.path.abspath(path), mode=ctypes.RTLD_LOCAL)
        self.lib.weft_model_info.restype = ctypes.POINTER(ModelInfo)
        self.info = self.lib.weft_model_info().contents
        if self.info.abi_version != ABI_VERSION:
            raise WeftError(f"{path}: model ABI {self.info.abi_version}, these bindings "
                            f"mirror {ABI_VERSION}")
        self.handle = ctypes.c_void_p()
        # A model for several devices runs on a group (`device` is one then).
        self.split = self.info.num_devices > 1
        create = runtime.lib.weft_group_model_create if self.split else runtime.lib.weft_model_create
        runtime.check(create(ctypes.byref(self.info), device, None, ctypes.byref(self.handle)),
                      "weft_group_model_create" if self.split else "weft_model_create")

    @staticmethod
    def devices_of(path):
        """How many devices the library's model was compiled for."""
        lib = ctypes.CDLL(os.path.abspath(path), mode=ctypes.RTLD_LOCAL)
        lib.weft_model_info.restype = ctypes.POINTER(ModelInfo)
        info = lib.weft_model_info().contents
        return max(info.num_devices, 1) if info.abi_version == ABI_VERSION else 1

    def close(self):
        if self.handle:
            destroy = (self.runtime.lib.weft_group_model_destroy if self.split
                       else self.runtime.lib.weft_model_destroy)
            destroy(self.handle)
            self.handle = ctypes.c_void_p()

    def device_time(self):
        """The last run's GPU time in ms (CUDA events), or None on a CPU."""
        ms = ctypes.c_double()
        if self.split:
            return None
        status = self.runtime.lib.weft_model_device_time(self.handle, ctypes.byref(ms))
        if status:
            self.runtime.lib.weft_status_free(status)
            return None
        return ms.value

    @staticmethod
    def _tensors(infos, count):
        return [(infos[i].dtype, tuple(infos[i].shape[d] for d in range(infos[i].rank)))
                for i in range(count)]

    def inputs(self):
        return self._tensors(self.info.inputs, self.info.num_inputs)

    def outputs(self):
        return self._tensors(self.info.outputs, self.info.num_outputs)

    @staticmethod
    def _view(array, dtype, device_data=None):
        """A view of `array`, or of `device_data` (a CUdeviceptr of
        array's bytes) in the model's GPU memory."""
        view = TensorView()
        if device_data is not None:
            view.data = device_data if array.size else None
            view.memory = MEMORY_DEVICE
        else:
            view.data = array.ctypes.data if array.size else None
            view.memory = MEMORY_HOST
        view.dtype = dtype
        view.rank = array.ndim
        for d, n in enumerate(array.shape):
            view.shape[d] = n
        return view

    def run(self, inputs, gpu=None):
        """inputs: numpy arrays in the model's dtypes; returns the outputs.
        With `gpu` (a CudaMemory on the model's GPU) the model reads its
        inputs from and writes its outputs to device memory (views with
        WEFT_MEMORY_DEVICE), copied from and to the arrays here."""
        outputs = [np.zeros(shape, DTYPES[dtype]) for dtype, shape in self.outputs()]
        held = []
        try:
            if gpu:
                in_data = [gpu.upload(a) for a in inputs]
                out_data = [gpu.alloc(a.nbytes) for a in outputs]
                held = in_data + out_data
            else:
                in_data, out_data = [None] * len(inputs), [None] * len(outputs)
            ins = (TensorView * max(len(inputs), 1))(
                *[self._view(a, d, p) for a, (d, _), p in zip(inputs, self.inputs(), in_data)])
            outs = (TensorView * max(len(outputs), 1))(
                *[self._view(a, d, p) for a, (d, _), p in zip(outputs, self.outputs(),
                                                               out_data)])
            run = (self.runtime.lib.weft_group_model_run if self.split
                   else self.runtime.lib.weft_model_run)
            self.runtime.check(run(self.handle, ins, len(inputs), outs, len(outputs)),
                               "model run" + (" (device memory views)" if gpu else ""))
            if gpu:
                for a, p in zip(outputs, out_data):
                    gpu.download(a, p)
            return outputs
        finally:
            for p in held:
                gpu.free(p)


class CudaMemory:
    """Device memory of GPU `ordinal` through the driver API, in its
    primary context (the one the runtime's CUDA device uses)."""

    def __init__(self, ordinal=0):
        self.cuda = ctypes.CDLL("libcuda.so.1")
        self.device = ctypes.c_int()
        self.context = ctypes.c_void_p()
        self._check(self.cuda.cuInit(0), "cuInit")
        self._check(self.cuda.cuDeviceGet(ctypes.byref(self.device), ordinal), "cuDeviceGet")
        self._check(self.cuda.cuDevicePrimaryCtxRetain(ctypes.byref(self.context), self.device),
                    "cuDevicePrimaryCtxRetain")

    def _check(self, result, what):
        if result != 0:
            raise WeftError(f"{what} failed (CUresult {result})")

    def _enter(self):
        self._check(self.cuda.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")

    def alloc(self, nbytes):
        self._enter()
        pointer = ctypes.c_uint64()
        self._check(self.cuda.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(max(nbytes, 16))),
                    "cuMemAlloc")
        return pointer.value

    def upload(self, array):
        pointer = self.alloc(array.nbytes)
        if array.nbytes:
            self._check(self.cuda.cuMemcpyHtoD_v2(ctypes.c_uint64(pointer),
                                                  ctypes.c_void_p(array.ctypes.data),
                                                  ctypes.c_size_t(array.nbytes)), "cuMemcpyHtoD")
            # From pageable memory the copy may still be in flight when
            # cuMemcpyHtoD returns, and the run's stream does not wait for it.
            self._check(self.cuda.cuCtxSynchronize(), "cuCtxSynchronize")
        return pointer

    def download(self, array, pointer):
        self._enter()
        if array.nbytes:
            self._check(self.cuda.cuMemcpyDtoH_v2(ctypes.c_void_p(array.ctypes.data),
                                                  ctypes.c_uint64(pointer),
                                                  ctypes.c_size_t(array.nbytes)), "cuMemcpyDtoH")

    def free(self, pointer):
        self._enter()
        self.cuda.cuMemFree_v2(ctypes.c_uint64(pointer))

    def close(self):
        if self.context:
            self.cuda.cuDevicePrimaryCtxRelease_v2(self.device)
            self.context = ctypes.c_void_p()


def as_stored(array, dtype):
    """`array`'s bytes as the numpy type Weft stores `dtype` in (a view
    when the widths agree: f16 kept as bits stays those bits)."""
    target = np.dtype(DTYPES[dtype])
    if array.dtype == target:
        return array
    if array.dtype.itemsize == target.itemsize:
        return array.view(target)
    return array.astype(target)


def as_float(array, dtype):
    """Values of a floating tensor as float64 (bf16 from its bits)."""
    if dtype == BF16:
        return (array.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return array.astype(np.float64)


def compare(got, expected, dtype, rtol, atol):
    """weft-run --compare's rule: floats within atol + rtol * |expected| (NaN
    only for NaN, infinities exactly), everything else equal. Returns
    (ok, max abs error, first differing flat index or -1)."""
    if dtype in (1, 10, 11, BF16):
        g, e = as_float(got, dtype).ravel(), as_float(expected, dtype).ravel()
        nan_e, inf_e = np.isnan(e), np.isinf(e)
        with np.errstate(invalid="ignore"):
            err = np.abs(g - e)
            ok = np.where(nan_e, np.isnan(g),
                          np.where(inf_e, g == e, np.isfinite(g) & (err <= atol + rtol * np.abs(e))))
        finite = ok & ~nan_e & ~inf_e
        worst = float(err[finite].max()) if finite.any() else 0.0
    else:
        ok = (got.ravel() == expected.ravel())
        worst = 0.0
    bad = np.flatnonzero(~ok)
    return bad.size == 0, worst, int(bad[0]) if bad.size else -1
