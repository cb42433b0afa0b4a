# Lit configuration for Weft: IR tests (weft-opt + FileCheck), importer and
# driver tests (weftc), and end-to-end suites that run compiled models.
import os
import lit.formats

config.name = "Weft"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.weft_obj_root, "test")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py.in", "runtime", "conformance",
                   "models", "CMakeLists.txt", "README.md"]

config.environment["PATH"] = os.pathsep.join(
    [config.weft_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%weft_src", config.weft_src_root))
config.substitutions.append(("%weft_lib", config.weft_lib_dir))

# CUDA: `cuda` where a GPU and its driver are present (GPU execution tests);
# `cuobjdump` where CUDA's cuobjdump is found (on PATH, in the toolkit, or
# from the nvidia-cuda-cuobjdump wheel), as %cuobjdump.
def _has_gpu():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0


def _find_cuobjdump():
    import shutil
    found = shutil.which("cuobjdump") or (
        "/usr/local/cuda/bin/cuobjdump" if os.access("/usr/local/cuda/bin/cuobjdump", os.X_OK) else None)
    if found:
        return found
    import subprocess
    try:
        out = subprocess.run([config.python_executable, "-c",
                              "import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], 'cu13', 'bin', 'cuobjdump'))"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    path = out.stdout.strip()
    return path if out.returncode == 0 and os.access(path, os.X_OK) else None


if _has_gpu():
    config.available_features.add("cuda")
_cuobjdump = _find_cuobjdump()
if _cuobjdump:
    config.available_features.add("cuobjdump")
    config.substitutions.append(("%cuobjdump", _cuobjdump))
    # `nvdisasm` where cuobjdump can disassemble machine code (--dump-sass):
    # nvdisasm on PATH or beside cuobjdump (both wheels install there).
    import shutil
    _nvdisasm = shutil.which("nvdisasm") or os.path.join(os.path.dirname(_cuobjdump), "nvdisasm")
    if os.access(_nvdisasm, os.X_OK):
        config.available_features.add("nvdisasm")
        config.environment["NVDISASM_PATH"] = os.path.dirname(_nvdisasm)
if os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
    config.available_features.add("cuda-toolkit")
