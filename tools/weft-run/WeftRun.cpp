//===- WeftRun.cpp - Run a compiled Weft model on ONNX test tensors -------===//
//
// weft-run loads a shared library made by `weftc --emit=lib`, feeds it the
// input_N.pb tensors of an ONNX backend-test directory, and then writes,
// compares or times the outputs:
//
//   weft-run model.so --input-dir test_data_set_0 --compare
//   weft-run model.so --input-dir in --output-dir out --bench 100 --threads 4
//
// A model compiled for several devices (weftc --devices=cpu:N) runs on N
// CPU devices of this process, --threads each; started by mpirun with N
// processes it runs one device per rank through libweft_runtime_mpi
// (loaded only then), rank 0 reading the inputs and writing, comparing and
// timing the outputs.
//
// It is the bridge between the compiler and the conformance suites, so its
// exit status is the contract: 0 when the run (and any comparison) succeeded,
// 1 for a failure or a mismatch, 2 for a bad command line. It goes through the
// runtime's public C API only, like any application embedding a model.
//
//===----------------------------------------------------------------------===//

#include "TensorCompare.h"
#include "TensorIO.h"

#include "weft/runtime.h"
#include "weft/runtime_mpi.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

using namespace weft;
namespace cl = llvm::cl;

static cl::OptionCategory runCategory("weft-run options");

static cl::opt<std::string>
    libraryPath(cl::Positional, cl::Required,
                cl::desc("<model library, from weftc --emit=lib>"),
                cl::cat(runCategory));

static cl::opt<std::string>
    inputDir("input-dir", cl::Required,
             cl::desc("Directory holding input_0.pb, input_1.pb, ... "
                      "(serialized ONNX TensorProto) and, for --compare, "
                      "output_0.pb, ..."),
             cl::value_desc("dir"), cl::cat(runCategory));

static cl::opt<std::string>
    outputDir("output-dir",
              cl::desc("Write the outputs as output_N.pb into this directory "
                       "(created if missing)"),
              cl::value_desc("dir"), cl::cat(runCategory));

static cl::opt<bool>
    compareOutputs("compare",
                   cl::desc("Compare the outputs with <input-dir>/output_N.pb "
                            "and exit with 1 on a mismatch"),
                   cl::cat(runCategory));

static cl::opt<double>
    relativeTolerance("rtol", cl::init(1e-3),
                      cl::desc("Relative tolerance of --compare for floating "
                               "point outputs"),
                      cl::cat(runCategory));

static cl::opt<double>
    absoluteTolerance("atol", cl::init(1e-7),
                      cl::desc("Absolute tolerance of --compare for floating "
                               "point outputs"),
                      cl::cat(runCategory));

static cl::opt<unsigned>
    benchRuns("bench", cl::init(0),
              cl::desc("Time N runs after the first and print latency "
                       "statistics"),
              cl::value_desc("N"), cl::cat(runCategory));

static cl::opt<unsigned>
    warmupRuns("warmup", cl::init(3),
               cl::desc("Untimed runs before the --bench runs"),
               cl::value_desc("N"), cl::cat(runCategory));

static cl::opt<std::string>
    deviceKind("device", cl::init(""),
               cl::desc("Where to run: cpu, or cuda / cuda:K (GPU K) for a model compiled with "
                        "--target=cuda; a model for N GPUs runs on GPUs 0..N-1 (cuda) or the "
                        "listed ones (cuda:K,cuda:L,...) (default: the kind the model was "
                        "compiled for)"),
               cl::value_desc("kind"), cl::cat(runCategory));

static cl::opt<bool> u16AsBf16(
    "u16-as-bf16",
    cl::desc("Read a UINT16 tensor file as bfloat16 bit patterns where the model's input or "
             "output is bfloat16 (the ONNX backend test data stores bfloat16 so)"),
    cl::cat(runCategory));

// Created by registerThreadsOption(): libLLVM.so already registers a global
// option of that name when it loads, and a second registration aborts.
static std::optional<cl::opt<int>> numThreads;

// weft-run checks inputs itself to name the offending file; this lets tests
// reach the runtime's own validation of the same mistakes.
static cl::opt<bool> skipInputCheck(
    "skip-input-check", cl::Hidden,
    cl::desc("Pass inputs to the runtime without checking their dtype and "
             "shape against the model first"),
    cl::cat(runCategory));

static void registerThreadsOption() {
  // The clashing option is an LLVM internal nothing here reads; moving it to
  // another name leaves it working for whoever does.
  if (cl::Option *clash = cl::getRegisteredOptions().lookup("threads")) {
    clash->setArgStr("llvm-internal-threads");
    clash->setHiddenFlag(cl::ReallyHidden);
  }
  numThreads.emplace("threads", cl::init(1),
                     cl::desc("Threads of the CPU device, the calling thread "
                              "included (0: one per online CPU)"),
                     cl::value_desc("T"), cl::cat(runCategory));
}

//===----------------------------------------------------------------------===//
// Errors and runtime objects
//===----------------------------------------------------------------------===//

static constexpr const char *kErrorPrefix = "weft-run: error: ";

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static void printError(const llvm::Twine &message) {
  llvm::outs().flush();
  llvm::errs() << kErrorPrefix << message << "\n";
}

/// Turns a runtime status into an llvm::Error carrying its message, and frees
/// it.
static llvm::Error takeStatus(weft_status_t status,
                              const llvm::Twine &context = "") {
  if (!status)
    return llvm::Error::success();
  std::string message = weft_status_message(status);
  weft_status_free(status);
  return makeError(context + message);
}

namespace {
struct LibraryCloser {
  void operator()(void *handle) const { dlclose(handle); }
};
struct DeviceDestroyer {
  void operator()(weft_device_t *device) const { weft_device_destroy(device); }
};
struct ModelDestroyer {
  void operator()(weft_model_t *model) const { weft_model_destroy(model); }
};
struct GroupDestroyer {
  void operator()(weft_device_group_t *group) const { weft_device_group_destroy(group); }
};
struct GroupModelDestroyer {
  void operator()(weft_group_model_t *model) const { weft_group_model_destroy(model); }
};
using LibraryHandle = std::unique_ptr<void, LibraryCloser>;
using DeviceHandle = std::unique_ptr<weft_device_t, DeviceDestroyer>;
using ModelHandle = std::unique_ptr<weft_model_t, ModelDestroyer>;
} // namespace

static std::string tensorLabel(llvm::StringRef kind, size_t index,
                               const char *name) {
  std::string label = (kind + " " + llvm::Twine(index)).str();
  if (name && name[0])
    label += (" '" + llvm::Twine(name) + "'").str();
  return label;
}

static std::string tensorFile(llvm::StringRef dir, llvm::StringRef kind,
                              size_t index) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, (kind + "_" + llvm::Twine(index) + ".pb"));
  return std::string(path);
}

//===----------------------------------------------------------------------===//
// Steps
//===----------------------------------------------------------------------===//

/// Opens the library and returns its model description. The library stays
/// loaded as long as `handle` lives, and with it the description.
static llvm::Expected<const weft_model_info_t *>
loadModelLibrary(llvm::StringRef path, LibraryHandle &handle) {
  if (!llvm::sys::fs::exists(path))
    return makeError("cannot open model library '" + path +
                     "': no such file");
  // Without a slash dlopen searches the library path instead of the current
  // directory, which is never what `weft-run model.so` means.
  std::string openPath = path.str();
  if (!path.contains('/'))
    openPath = "./" + openPath;
  dlerror();
  handle.reset(dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!handle) {
    const char *reason = dlerror();
    return makeError("cannot load model library '" + path +
                     "': " + (reason ? reason : "unknown dlopen error"));
  }
  dlerror();
  void *symbol = dlsym(handle.get(), "weft_model_info");
  if (!symbol)
    return makeError("'" + path + "' is not a Weft model library: it " +
                     "defines no 'weft_model_info' function (build it with " +
                     "weftc --emit=lib)");
  auto infoFn = reinterpret_cast<const weft_model_info_t *(*)(void)>(symbol);
  const weft_model_info_t *info = infoFn();
  if (!info)
    return makeError("weft_model_info() in '" + path + "' returned NULL");
  if (info->abi_version != WEFT_MODEL_ABI_VERSION)
    return makeError("'" + path + "' was compiled for model ABI version " +
                     llvm::Twine(info->abi_version) +
                     " but this weft-run supports version " +
                     llvm::Twine(WEFT_MODEL_ABI_VERSION) +
                     "; recompile it with a matching weftc");
  return info;
}

static llvm::Error checkDirectory(llvm::StringRef dir, llvm::StringRef what) {
  if (!llvm::sys::fs::exists(dir))
    return makeError(what + " '" + dir + "' does not exist");
  if (!llvm::sys::fs::is_directory(dir))
    return makeError(what + " '" + dir + "' is not a directory");
  return llvm::Error::success();
}

/// Reads `<dir>/<kind>_N.pb` for N < count, and fails if there are more such
/// files than the model has tensors of that kind.
static llvm::Expected<std::vector<HostTensor>>
readTensorFiles(llvm::StringRef dir, llvm::StringRef kind, int32_t count,
                const weft_model_info_t &info) {
  std::vector<HostTensor> tensors;
  for (int32_t i = 0; i < count; ++i) {
    std::string path = tensorFile(dir, kind, i);
    if (!llvm::sys::fs::exists(path))
      return makeError("missing " + kind + " file '" + path + "': model '" +
                       (info.name ? info.name : "") + "' has " +
                       llvm::Twine(count) + " " + kind + "(s)");
    llvm::Expected<HostTensor> tensor = readTensorProto(path);
    if (!tensor)
      return tensor.takeError();
    tensors.push_back(std::move(*tensor));
  }
  std::string extra = tensorFile(dir, kind, count);
  if (llvm::sys::fs::exists(extra))
    return makeError("found '" + extra + "' but model '" +
                     (info.name ? info.name : "") + "' has only " +
                     llvm::Twine(count) + " " + kind + "(s)");
  return std::move(tensors);
}

/// --u16-as-bf16: UINT16 tensors that stand for the model's bfloat16
/// inputs or outputs (same position, same shape) take that type.
static void relabelBf16(const weft_tensor_info_t *infos, std::vector<HostTensor> &tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    llvm::ArrayRef<int64_t> shape(infos[i].shape, static_cast<size_t>(infos[i].rank));
    if (infos[i].dtype == WEFT_DTYPE_BF16 && tensors[i].dtype() == WEFT_DTYPE_U16 &&
        tensors[i].shape() == shape)
      tensors[i].reinterpretAs(WEFT_DTYPE_BF16);
  }
}

static llvm::Error checkInputs(const weft_model_info_t &info,
                               llvm::ArrayRef<HostTensor> inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const weft_tensor_info_t &expected = info.inputs[i];
    llvm::ArrayRef<int64_t> expectedShape(expected.shape,
                                          static_cast<size_t>(expected.rank));
    if (inputs[i].dtype() == expected.dtype &&
        inputs[i].shape() == expectedShape)
      continue;
    return makeError(tensorLabel("input", i, expected.name) + " ('" +
                     tensorFile(inputDir, "input", i) + "'): model expects " +
                     formatType(expected.dtype, expectedShape) + " but got " +
                     formatType(inputs[i].dtype(), inputs[i].shape()));
  }
  return llvm::Error::success();
}

static llvm::Error writeOutputs(llvm::StringRef dir,
                                llvm::ArrayRef<HostTensor> outputs) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return makeError("cannot create output directory '" + dir +
                     "': " + ec.message());
  for (size_t i = 0; i < outputs.size(); ++i)
    if (llvm::Error error =
            writeTensorProto(tensorFile(dir, "output", i), outputs[i]))
      return error;
  return llvm::Error::success();
}

/// Prints one line per output; returns whether all matched.
static bool compareWithExpected(const weft_model_info_t &info,
                                llvm::ArrayRef<HostTensor> outputs,
                                llvm::ArrayRef<HostTensor> expected) {
  bool allMatch = true;
  for (size_t i = 0; i < outputs.size(); ++i) {
    CompareResult result = compareTensors(
        outputs[i], expected[i], relativeTolerance, absoluteTolerance);
    llvm::outs() << tensorLabel("output", i, info.outputs[i].name) << ": ";
    if (result.ok) {
      llvm::outs() << "OK (max abs err "
                   << llvm::format("%.3g", result.maxAbsError) << ")\n";
      continue;
    }
    allMatch = false;
    llvm::outs() << "MISMATCH" << (result.valuesDiffer ? " " : ": ")
                 << result.detail << "\n";
  }
  llvm::outs().flush();
  return allMatch;
}

static double percentile(llvm::ArrayRef<double> sorted, double fraction) {
  // Nearest rank: the smallest sample with at least `fraction` of the
  // samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(fraction * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

/// The model instance a run goes through: one device, or a device group
/// (in this process, or one device per MPI rank).
struct Runner {
  DeviceHandle device;
  ModelHandle model;
  std::unique_ptr<weft_device_group_t, GroupDestroyer> group;
  std::unique_ptr<weft_group_model_t, GroupModelDestroyer> groupModel;
  int32_t mpiRank = -1; ///< this process's rank under MPI, else -1
  std::string what;     ///< "2 devices x 1 thread", for the benchmark line
  int64_t rows = 1;     ///< batch rows one run processes, for throughput
  std::string stream;   ///< how a pipeline streams them, for the benchmark line

  bool isRoot() const { return mpiRank <= 0; }
  weft_status_t run(llvm::ArrayRef<weft_tensor_view_t> inputs,
                    llvm::ArrayRef<weft_tensor_view_t> outputs) {
    if (!groupModel)
      return weft_model_run(model.get(), inputs.data(), inputs.size(), outputs.data(),
                            outputs.size());
    if (!isRoot())
      return weft_group_model_run(groupModel.get(), nullptr, 0, nullptr, 0);
    return weft_group_model_run(groupModel.get(), inputs.data(), inputs.size(), outputs.data(),
                                outputs.size());
  }
};

static llvm::Error runBenchmark(Runner &runner, llvm::ArrayRef<weft_tensor_view_t> inputs,
                                llvm::ArrayRef<weft_tensor_view_t> outputs) {
  auto runOnce = [&]() { return takeStatus(runner.run(inputs, outputs)); };
  for (unsigned i = 0; i < warmupRuns; ++i)
    if (llvm::Error error = runOnce())
      return error;

  std::vector<double> latenciesMs, deviceMs;
  latenciesMs.reserve(benchRuns);
  for (unsigned i = 0; i < benchRuns; ++i) {
    auto start = std::chrono::steady_clock::now();
    weft_status_t status = runner.run(inputs, outputs);
    auto end = std::chrono::steady_clock::now();
    if (llvm::Error error = takeStatus(status))
      return error;
    latenciesMs.push_back(
        std::chrono::duration<double, std::milli>(end - start).count());
    // A GPU's own time of the run (CUDA events), where the device has one.
    double ms = 0;
    if (runner.model && weft_device_kind(runner.device.get()) == WEFT_DEVICE_CUDA) {
      if (weft_status_t timeStatus = weft_model_device_time(runner.model.get(), &ms))
        weft_status_free(timeStatus);
      else
        deviceMs.push_back(ms);
    }
  }
  if (!runner.isRoot())
    return llvm::Error::success();

  std::sort(latenciesMs.begin(), latenciesMs.end());
  size_t n = latenciesMs.size();
  double median = n % 2 ? latenciesMs[n / 2]
                        : (latenciesMs[n / 2 - 1] + latenciesMs[n / 2]) / 2;
  double mean =
      std::accumulate(latenciesMs.begin(), latenciesMs.end(), 0.0) / n;
  llvm::outs() << "latency_ms: min " << llvm::format("%.4g", latenciesMs.front())
               << " median " << llvm::format("%.4g", median) << " mean "
               << llvm::format("%.4g", mean) << " p90 "
               << llvm::format("%.4g", percentile(latenciesMs, 0.9))
               << " max " << llvm::format("%.4g", latenciesMs.back()) << " ("
               << n << " runs, " << runner.what << ")\n";
  if (!deviceMs.empty()) {
    std::sort(deviceMs.begin(), deviceMs.end());
    size_t m = deviceMs.size();
    double deviceMedian = m % 2 ? deviceMs[m / 2] : (deviceMs[m / 2 - 1] + deviceMs[m / 2]) / 2;
    llvm::outs() << "gpu_time_ms: min " << llvm::format("%.4g", deviceMs.front()) << " median "
                 << llvm::format("%.4g", deviceMedian) << " max "
                 << llvm::format("%.4g", deviceMs.back())
                 << " (CUDA events around each run: copies in, kernels, copies out)\n";
  }
  llvm::outs() << "throughput: " << llvm::format("%.1f", runner.rows / (median / 1e3))
               << " rows/s at the median latency (" << runner.rows << " rows per run"
               << runner.stream << ")\n";
  llvm::outs().flush();
  return llvm::Error::success();
}

/// The MPI world size when mpirun started this process, else 0.
static int mpiWorldSize() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char *v = getenv(name)) {
      int n = atoi(v);
      if (n > 0)
        return n;
    }
  return 0;
}

/// Creates the MPI device group through libweft_runtime_mpi, loaded here so
/// that weft-run itself needs no MPI unless it runs under mpirun.
/// With `gpus`, one GPU per process joined by NCCL (the k-th process of a
/// node on GPU ordinals[k], or GPU k when `ordinals` is empty).
static llvm::Error createMpiGroup(const weft_model_info_t &info, Runner &runner,
                                  LibraryHandle &mpiLibrary, bool gpus = false,
                                  const std::vector<int32_t> &ordinals = {}) {
  std::string exe = llvm::sys::fs::getMainExecutable("weft-run", (void *)&mpiWorldSize);
  llvm::SmallString<256> beside(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(beside, "lib", "libweft_runtime_mpi.so");
  std::string reasons;
  // WEFT_RUNTIME_MPI names the library where it is installed elsewhere.
  std::vector<std::string> candidates = {std::string(beside), "libweft_runtime_mpi.so"};
  if (const char *chosen = getenv("WEFT_RUNTIME_MPI"); chosen && *chosen)
    candidates = {chosen};
  for (const std::string &candidate : candidates) {
    dlerror();
    mpiLibrary.reset(dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL));
    if (mpiLibrary)
      break;
    const char *why = dlerror();
    reasons += std::string("\n  ") + candidate + ": " + (why ? why : "not found");
  }
  if (!mpiLibrary)
    return makeError("running under mpirun, but the MPI runtime cannot be loaded (install "
                     "Open MPI: openmpi-bin and libopenmpi3):" + reasons);
  using CreateFn = weft_status_t (*)(const weft_mpi_device_group_options_t *,
                                     const weft_allocator_t *, weft_device_group_t **);
  using RankFn = int32_t (*)(const weft_device_group_t *);
  auto create = reinterpret_cast<CreateFn>(dlsym(mpiLibrary.get(), "weft_mpi_device_group_create"));
  auto rank = reinterpret_cast<RankFn>(dlsym(mpiLibrary.get(), "weft_mpi_device_group_rank"));
  if (!create || !rank)
    return makeError("libweft_runtime_mpi.so lacks weft_mpi_device_group_create");
  weft_device_group_t *group = nullptr;
  if (gpus) {
    using CudaCreateFn = weft_status_t (*)(const weft_mpi_cuda_device_group_options_t *,
                                           const weft_allocator_t *, weft_device_group_t **);
    auto createCuda = reinterpret_cast<CudaCreateFn>(
        dlsym(mpiLibrary.get(), "weft_mpi_cuda_device_group_create"));
    if (!createCuda)
      return makeError("libweft_runtime_mpi.so lacks weft_mpi_cuda_device_group_create");
    weft_mpi_cuda_device_group_options_t options = {};
    options.expected_size = info.num_devices;
    options.num_ordinals = (int32_t)ordinals.size();
    options.ordinals = ordinals.empty() ? nullptr : ordinals.data();
    if (llvm::Error error = takeStatus(createCuda(&options, nullptr, &group),
                                       "cannot create the MPI group of GPUs: "))
      return error;
  } else {
    weft_mpi_device_group_options_t options = {};
    options.threads_per_device = numThreads->getValue();
    options.expected_size = info.num_devices;
    if (llvm::Error error = takeStatus(create(&options, nullptr, &group),
                                       "cannot create the MPI device group: "))
      return error;
  }
  runner.group.reset(group);
  runner.mpiRank = rank(group);
  return llvm::Error::success();
}

/// The model instance on runner.group; `what` describes the devices.
static llvm::Error createGroupModel(const weft_model_info_t &info, Runner &runner,
                                    std::string what) {
  weft_group_model_t *model = nullptr;
  if (llvm::Error error =
          takeStatus(weft_group_model_create(&info, runner.group.get(), nullptr, &model)))
    return error;
  runner.groupModel.reset(model);
  runner.what = std::move(what);
  return llvm::Error::success();
}

/// Creates the device(s) and the model instance for `info`.
static llvm::Error createRunner(const weft_model_info_t &info, Runner &runner,
                                LibraryHandle &mpiLibrary) {
  int32_t devices = info.num_devices > 1 ? info.num_devices : 1;
  int world = mpiWorldSize();
  // The batch: the first split input's split axis, else the first input's
  // axis 0.
  runner.rows = 0;
  for (int32_t i = 0; i < info.num_inputs && !runner.rows; ++i)
    if (devices > 1 && info.inputs[i].rank > 0 && info.inputs[i].split_axis >= 0)
      runner.rows = info.inputs[i].shape[info.inputs[i].split_axis];
  for (int32_t i = 0; i < info.num_inputs && !runner.rows; ++i)
    if (info.inputs[i].rank > 0)
      runner.rows = info.inputs[i].shape[0];
  if (runner.rows <= 0)
    runner.rows = 1;
  if (devices > 1 && info.num_micro_batches >= 1)
    runner.stream = ", streamed through " + std::to_string(devices) + " pipeline stages as " +
                    std::to_string(info.num_micro_batches) + " micro-batches";
  // A CUDA model runs on GPUs unless it was compiled for the CPU
  // (--target=cuda-on-cpu) or --device says cpu.
  llvm::StringRef kind = deviceKind.getValue();
  if (kind.empty())
    kind = info.target == WEFT_DEVICE_CUDA && !info.host_kernels ? "cuda" : "cpu";
  if (devices > 1 && kind != "cpu") {
    // --device=cuda: GPUs 0..N-1; cuda:K,cuda:L,...: those.
    std::vector<int32_t> ordinals;
    llvm::SmallVector<llvm::StringRef> names;
    kind.split(names, ',');
    for (llvm::StringRef name : names) {
      int32_t ordinal = 0;
      if (name == "cuda" && names.size() == 1)
        break;
      if (!name.consume_front("cuda:") || name.getAsInteger(10, ordinal) || ordinal < 0)
        return llvm::createStringError("--device expects cpu, cuda or cuda:K,cuda:L,... (one "
                                       "GPU per device of the model), got '" +
                                       deviceKind.getValue() + "'");
      ordinals.push_back(ordinal);
    }
    if (world > 0) {
      // One GPU per process: --device lists the GPUs of a node's processes.
      if (llvm::Error error = createMpiGroup(info, runner, mpiLibrary, true, ordinals))
        return error;
      return createGroupModel(info, runner,
                              std::to_string(devices) + " GPUs, one per MPI rank, joined by NCCL");
    }
    if (!ordinals.empty() && (int32_t)ordinals.size() != devices)
      return llvm::createStringError("--device names " + std::to_string(ordinals.size()) +
                                     " GPUs but the model was compiled for " +
                                     std::to_string(devices) + " devices");
    weft_cuda_device_group_options_t options = {devices,
                                                ordinals.empty() ? nullptr : ordinals.data()};
    weft_device_group_t *group = nullptr;
    if (llvm::Error error = takeStatus(weft_cuda_device_group_create(&options, nullptr, &group),
                                       "cannot create the GPU group: "))
      return error;
    runner.group.reset(group);
    return createGroupModel(info, runner,
                            std::to_string(devices) + " GPUs (" +
                                weft_device_name(weft_device_group_device(group, 0)) +
                                ", ...) joined by NCCL");
  }
  if (devices > 1 && world > 0) {
    if (llvm::Error error = createMpiGroup(info, runner, mpiLibrary))
      return error;
  } else if (devices > 1) {
    weft_cpu_device_group_options_t options = {devices, numThreads->getValue()};
    weft_device_group_t *group = nullptr;
    if (llvm::Error error = takeStatus(weft_cpu_device_group_create(&options, nullptr, &group),
                                       "cannot create the device group: "))
      return error;
    runner.group.reset(group);
  }
  if (runner.group) {
    int32_t local = runner.mpiRank >= 0 ? runner.mpiRank : 0;
    int32_t threads = weft_device_num_threads(weft_device_group_device(runner.group.get(), local));
    return createGroupModel(info, runner,
                            std::to_string(devices) + " devices x " + std::to_string(threads) +
                                (threads == 1 ? " thread" : " threads") +
                                (runner.mpiRank >= 0 ? ", one per MPI rank" : ", in one process"));
  }
  weft_device_t *rawDevice = nullptr;
  if (kind == "cpu") {
    weft_cpu_device_options_t deviceOptions = {};
    deviceOptions.num_threads = numThreads->getValue();
    if (llvm::Error error = takeStatus(
            weft_cpu_device_create(&deviceOptions, nullptr, &rawDevice),
            "cannot create the CPU device: "))
      return error;
  } else {
    weft_cuda_device_options_t deviceOptions = {};
    if (kind != "cuda" && (!kind.consume_front("cuda:") ||
                           kind.getAsInteger(10, deviceOptions.ordinal) ||
                           deviceOptions.ordinal < 0))
      return llvm::createStringError("--device expects cpu, cuda or cuda:K, got '" +
                                     deviceKind.getValue() + "'");
    if (llvm::Error error = takeStatus(
            weft_cuda_device_create(&deviceOptions, nullptr, &rawDevice),
            "cannot create the CUDA device: "))
      return error;
  }
  runner.device.reset(rawDevice);
  weft_model_t *rawModel = nullptr;
  if (llvm::Error error = takeStatus(
          weft_model_create(&info, runner.device.get(), nullptr, &rawModel)))
    return error;
  runner.model.reset(rawModel);
  runner.what = weft_device_kind(rawDevice) == WEFT_DEVICE_CUDA
                    ? std::string("GPU ") + weft_device_name(rawDevice)
                    : std::to_string(weft_device_num_threads(rawDevice)) + " threads";
  return llvm::Error::success();
}

/// The whole tool after option parsing. Sets `exitCode` to 1 on a mismatch;
/// every other failure is the returned error.
static llvm::Error runModel(int &exitCode) {
  LibraryHandle library;
  llvm::Expected<const weft_model_info_t *> infoOrError =
      loadModelLibrary(libraryPath, library);
  if (!infoOrError)
    return infoOrError.takeError();
  const weft_model_info_t &info = **infoOrError;

  // Declared after `library` (and the MPI runtime) so it is destroyed
  // before they are unloaded.
  LibraryHandle mpiLibrary;
  Runner runner;
  if (llvm::Error error = createRunner(info, runner, mpiLibrary))
    return error;
  if (!runner.isRoot()) {
    // Rank 0 holds the tensors; this rank runs its device as often.
    std::vector<weft_tensor_view_t> none;
    unsigned runs = 1 + (benchRuns > 0 ? warmupRuns + benchRuns : 0);
    for (unsigned i = 0; i < runs; ++i)
      if (llvm::Error error = takeStatus(runner.run(none, none)))
        return error;
    return llvm::Error::success();
  }

  if (llvm::Error error = checkDirectory(inputDir, "input directory"))
    return error;
  // output_N.pb in the input folder are the references: never overwrite them.
  bool sameDir = false;
  if (!outputDir.empty() &&
      (llvm::StringRef(outputDir) == inputDir ||
       (!llvm::sys::fs::equivalent(outputDir, inputDir, sameDir) && sameDir)))
    return makeError("--output-dir '" + outputDir +
                     "' is the input directory; writing output_N.pb there "
                     "would overwrite its reference outputs");
  llvm::Expected<std::vector<HostTensor>> inputs =
      readTensorFiles(inputDir, "input", info.num_inputs, info);
  if (!inputs)
    return inputs.takeError();
  if (u16AsBf16)
    relabelBf16(info.inputs, *inputs);
  if (!skipInputCheck)
    if (llvm::Error error = checkInputs(info, *inputs))
      return error;
  // Read the references before running so a missing one fails fast.
  std::vector<HostTensor> expected;
  if (compareOutputs) {
    llvm::Expected<std::vector<HostTensor>> loaded =
        readTensorFiles(inputDir, "output", info.num_outputs, info);
    if (!loaded)
      return loaded.takeError();
    expected = std::move(*loaded);
    if (u16AsBf16)
      relabelBf16(info.outputs, expected);
  }

  std::vector<HostTensor> outputs;
  for (int32_t i = 0; i < info.num_outputs; ++i) {
    const weft_tensor_info_t &outInfo = info.outputs[i];
    // Outputs start as 0xff bytes (NaN for floats) so that an element the
    // model never writes cannot pass --compare by matching a zero.
    llvm::Expected<HostTensor> output = HostTensor::allocate(
        outInfo.dtype,
        llvm::ArrayRef<int64_t>(outInfo.shape,
                                static_cast<size_t>(outInfo.rank)),
        outInfo.name ? outInfo.name : "", /*fillByte=*/0xff);
    if (!output)
      return makeError(tensorLabel("output", i, outInfo.name) + ": " +
                       llvm::toString(output.takeError()));
    outputs.push_back(std::move(*output));
  }

  std::vector<weft_tensor_view_t> inputViews, outputViews;
  for (HostTensor &input : *inputs)
    inputViews.push_back(input.view());
  for (HostTensor &output : outputs)
    outputViews.push_back(output.view());
  if (llvm::Error error = takeStatus(runner.run(inputViews, outputViews)))
    return error;

  // An output sized by the run holds the run's shape at the start of its
  // buffer: written and compared as that shape.
  std::vector<HostTensor> results;
  for (int32_t i = 0; i < info.num_outputs; ++i) {
    if (!info.outputs[i].run_time_dims || !runner.model) {
      results.push_back(std::move(outputs[i]));
      continue;
    }
    int32_t rank = 0;
    int64_t shape[WEFT_MAX_RANK];
    if (llvm::Error error =
            takeStatus(weft_model_output_shape(runner.model.get(), i, &rank, shape)))
      return error;
    llvm::Expected<HostTensor> result = HostTensor::allocate(
        outputs[i].dtype(), llvm::ArrayRef<int64_t>(shape, static_cast<size_t>(rank)),
        outputs[i].name());
    if (!result)
      return result.takeError();
    if (result->byteSize() > 0)
      std::memcpy(result->data(), outputs[i].data(), result->byteSize());
    results.push_back(std::move(*result));
  }
  if (!outputDir.empty())
    if (llvm::Error error = writeOutputs(outputDir, results))
      return error;
  if (compareOutputs && !compareWithExpected(info, results, expected))
    exitCode = 1;
  if (benchRuns > 0)
    if (llvm::Error error = runBenchmark(runner, inputViews, outputViews))
      return error;
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

/// Re-prints what llvm::cl reported ("<prog>: <message>") in weft-run's error
/// format.
static void reportUsageErrors(llvm::StringRef text, llvm::StringRef argv0) {
  std::string programPrefix =
      (llvm::sys::path::filename(argv0) + ": ").str();
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (llvm::StringRef line : lines) {
    line.consume_front(programPrefix);
    printError(line.trim());
  }
  if (lines.empty())
    printError("invalid command line; see weft-run --help");
}

static std::optional<std::string> checkOptionValues() {
  if (!std::isfinite(relativeTolerance) || relativeTolerance < 0)
    return "--rtol must be a finite, non-negative number";
  if (!std::isfinite(absoluteTolerance) || absoluteTolerance < 0)
    return "--atol must be a finite, non-negative number";
  if (numThreads->getValue() < 0)
    return "--threads must be 0 (one per online CPU) or more";
  if (inputDir.empty())
    return "--input-dir must not be empty";
  return std::nullopt;
}

/// Parses the command line; on failure fills `errors` with what llvm::cl
/// reported. Part of that (a bad value, a missing required option) is written
/// straight to stderr by cl::Option::error rather than to the stream passed
/// in, so stderr is captured in a temporary file while parsing to give every
/// message weft-run's format.
static bool parseCommandLine(int argc, char **argv, std::string &errors) {
  llvm::raw_string_ostream errorStream(errors);
  llvm::errs().flush();
  std::fflush(stderr);
  FILE *capture = std::tmpfile();
  int savedStderr = capture ? dup(STDERR_FILENO) : -1;
  bool redirected =
      savedStderr >= 0 && dup2(fileno(capture), STDERR_FILENO) >= 0;
  bool ok = cl::ParseCommandLineOptions(
      argc, argv,
      "weft-run: run a model compiled with `weftc --emit=lib` on ONNX "
      "TensorProto inputs\n",
      &errorStream);
  errorStream.flush();
  if (redirected) {
    llvm::errs().flush();
    std::fflush(stderr);
    dup2(savedStderr, STDERR_FILENO);
    std::string captured;
    std::rewind(capture);
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), capture)) > 0)
      captured.append(buffer, n);
    errors.insert(0, captured);
  }
  if (savedStderr >= 0)
    close(savedStderr);
  if (capture)
    std::fclose(capture);
  return ok;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerThreadsOption();
  cl::HideUnrelatedOptions(runCategory);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "weft-run (Weft), model ABI version " << WEFT_MODEL_ABI_VERSION
       << "\n";
  });
  std::string parseErrors;
  if (!parseCommandLine(argc, argv, parseErrors)) {
    reportUsageErrors(parseErrors, argv[0]);
    return 2;
  }
  if (std::optional<std::string> problem = checkOptionValues()) {
    printError(*problem);
    return 2;
  }

  int exitCode = 0;
  if (llvm::Error error = runModel(exitCode)) {
    printError(llvm::toString(std::move(error)));
    return 1;
  }
  return exitCode;
}
