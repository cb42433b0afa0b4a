//===- Calibrate.cpp - weftc --calibrate ----------------------------------===//
//
// Measures the rates of the parallel plans' cost model on this machine, on
// one thread of one CPU device: small models built here are compiled by
// this compiler into libraries, loaded and timed with the runtime (a
// matmul that is bound by arithmetic, one bound by streaming its weight,
// an elementwise op, a chain of small ops), and the in-process device
// group's all-reduce and send/recv are timed at two sizes (fixed cost and
// bandwidth). The rates go to a file that weftc --cost-model reads.
//
//===----------------------------------------------------------------------===//
#include "Calibrate.h"

#include "weft/runtime.h"
#include "weft/runtime_mpi.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <dlfcn.h>
#include <fstream>
#include <thread>
#include <vector>

using namespace llvm;

namespace {

using Clock = std::chrono::steady_clock;

double elapsedUs(Clock::time_point since) {
  return std::chrono::duration<double, std::micro>(Clock::now() - since).count();
}

void setShape(onnx::TypeProto *type, ArrayRef<int64_t> shape) {
  auto *t = type->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape)
    t->mutable_shape()->add_dim()->set_dim_value(d);
}

/// A one-input, one-output float model; `build` adds its nodes from "x" to
/// "y" and its weights.
struct CalibrationModel {
  std::string name;
  std::vector<int64_t> in, out;
  onnx::ModelProto proto;

  CalibrationModel(std::string n, std::vector<int64_t> i, std::vector<int64_t> o)
      : name(std::move(n)), in(std::move(i)), out(std::move(o)) {
    proto.set_ir_version(8);
    proto.add_opset_import()->set_version(17);
    auto *g = proto.mutable_graph();
    g->set_name(name);
    auto *x = g->add_input();
    x->set_name("x");
    setShape(x->mutable_type(), in);
    auto *y = g->add_output();
    y->set_name("y");
    setShape(y->mutable_type(), out);
  }
  void weight(const std::string &n, std::vector<int64_t> shape) {
    auto *w = proto.mutable_graph()->add_initializer();
    w->set_name(n);
    w->set_data_type(onnx::TensorProto::FLOAT);
    int64_t count = 1;
    for (int64_t d : shape) {
      w->add_dims(d);
      count *= d;
    }
    std::vector<float> values(count);
    for (int64_t i = 0; i < count; ++i)
      values[i] = (float)((i * 7919) % 101) / 101.0f - 0.5f;
    w->set_raw_data(values.data(), values.size() * sizeof(float));
  }
  void node(const std::string &op, std::vector<std::string> ins, const std::string &outName) {
    auto *n = proto.mutable_graph()->add_node();
    n->set_op_type(op);
    for (auto &i : ins)
      n->add_input(i);
    n->add_output(outName);
  }
};

struct LoadedModel {
  void *library = nullptr;
  weft_device_t *device = nullptr;
  weft_model_t *model = nullptr;
  ~LoadedModel() {
    weft_model_destroy(model);
    weft_device_destroy(device);
    if (library)
      dlclose(library);
  }
};

/// Compiles `m` in `dir` and times a run on one thread: the median
/// microseconds of enough runs to fill about 0.3 s.
Expected<double> timeModel(mlir::MLIRContext &ctx, const weft::CompileOptions &base,
                           CalibrationModel &m, StringRef dir) {
  SmallString<256> onnxPath(dir), libPath(dir);
  sys::path::append(onnxPath, m.name + ".onnx");
  sys::path::append(libPath, m.name + ".so");
  {
    std::ofstream f(std::string(onnxPath), std::ios::binary);
    if (!m.proto.SerializeToOstream(&f))
      return createStringError("cannot write " + onnxPath);
  }
  weft::CompileOptions o = base;
  o.inputPath = std::string(onnxPath);
  o.outputPath = std::string(libPath);
  o.emit = weft::EmitKind::Lib;
  o.devices = 1;
  o.parallel = "";
  if (mlir::failed(weft::compileModel(ctx, o)))
    return createStringError("cannot compile the calibration model " + m.name);
  LoadedModel lm;
  lm.library = dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lm.library)
    return createStringError(std::string("cannot load ") + libPath.c_str() + ": " + dlerror());
  auto infoFn = (const weft_model_info_t *(*)(void))dlsym(lm.library, "weft_model_info");
  weft_cpu_device_options_t one = {1};
  if (!infoFn || weft_cpu_device_create(&one, nullptr, &lm.device) ||
      weft_model_create(infoFn(), lm.device, nullptr, &lm.model))
    return createStringError("cannot run the calibration model " + m.name);
  std::vector<float> x(1), y(1);
  int64_t nx = 1, ny = 1;
  for (int64_t d : m.in)
    nx *= d;
  for (int64_t d : m.out)
    ny *= d;
  x.assign(nx, 0.25f);
  y.assign(ny, 0);
  weft_tensor_view_t in = {}, out = {};
  in.data = x.data();
  in.dtype = out.dtype = WEFT_DTYPE_F32;
  in.rank = (int32_t)m.in.size();
  out.rank = (int32_t)m.out.size();
  for (size_t d = 0; d < m.in.size(); ++d)
    in.shape[d] = m.in[d];
  for (size_t d = 0; d < m.out.size(); ++d)
    out.shape[d] = m.out[d];
  out.data = y.data();
  std::vector<double> times;
  auto start = Clock::now();
  for (int i = 0; i < 1000 && (i < 8 || elapsedUs(start) < 3e5); ++i) {
    auto t = Clock::now();
    if (weft_status_t s = weft_model_run(lm.model, &in, 1, &out, 1)) {
      std::string why = weft_status_message(s);
      weft_status_free(s);
      return createStringError("calibration model " + m.name + " failed: " + why);
    }
    if (i >= 3) // warm-up runs are not timed
      times.push_back(elapsedUs(t));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Microseconds of one call of `op(rank)` made by both ranks of a
/// two-device in-process group at once (rank 0's median over the calls).
template <typename Fn>
double timeCollective(weft_device_group_t *g, Fn op) {
  constexpr int kCalls = 200;
  std::vector<double> times;
  std::thread peer([&] {
    for (int i = 0; i < kCalls; ++i)
      weft_status_free(op(1));
  });
  for (int i = 0; i < kCalls; ++i) {
    auto t = Clock::now();
    weft_status_free(op(0));
    times.push_back(elapsedUs(t));
  }
  peer.join();
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// A fixed cost and a bandwidth from the times of a 4-byte and a `bytes`
/// call (microseconds; GB/s).
void fitLine(double smallUs, double largeUs, double bytes, double &us, double &gbps) {
  us = std::max(0.1, smallUs);
  gbps = bytes / std::max(1.0, largeUs - smallUs) / 1e3;
}

/// Under mpirun (two processes): the MPI device group's all-reduce and
/// send/recv at 4 bytes and 4 MiB, timed on rank 0. `rank` is set to this
/// process's rank. libweft_runtime_mpi is loaded here, as weft-run loads it,
/// so that weftc needs MPI only when it runs under mpirun.
Error calibrateMpi(StringRef exe, weft::CostModel &model, int32_t &rank) {
  // Where weft-run looks: WEFT_RUNTIME_MPI, else ../lib beside the binary,
  // else the library path.
  SmallString<256> beside(sys::path::parent_path(sys::path::parent_path(exe)));
  sys::path::append(beside, "lib", "libweft_runtime_mpi.so");
  std::vector<std::string> candidates = {std::string(beside), "libweft_runtime_mpi.so"};
  if (const char *chosen = getenv("WEFT_RUNTIME_MPI"); chosen && *chosen)
    candidates = {chosen};
  void *library = nullptr;
  for (const std::string &candidate : candidates)
    if (!library)
      library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!library)
    return createStringError("running under mpirun, but libweft_runtime_mpi.so cannot be "
                             "loaded: " + std::string(dlerror()));
  using CreateFn = weft_status_t (*)(const weft_mpi_device_group_options_t *,
                                     const weft_allocator_t *, weft_device_group_t **);
  using RankFn = int32_t (*)(const weft_device_group_t *);
  auto create = (CreateFn)dlsym(library, "weft_mpi_device_group_create");
  auto rankOf = (RankFn)dlsym(library, "weft_mpi_device_group_rank");
  weft_mpi_device_group_options_t options = {1, 2};
  weft_device_group_t *g = nullptr;
  if (!create || !rankOf)
    return createStringError("libweft_runtime_mpi.so lacks weft_mpi_device_group_create");
  if (weft_status_t s = create(&options, nullptr, &g)) {
    std::string why = weft_status_message(s);
    weft_status_free(s);
    return createStringError("cannot create the MPI device group: " + why);
  }
  rank = rankOf(g);
  constexpr int64_t kLarge = 1 << 20; // floats
  std::vector<float> send(kLarge, 1.0f), recv(kLarge);
  auto time = [&](auto op) {
    std::vector<double> times;
    for (int i = 0; i < 100; ++i) {
      auto t = Clock::now();
      weft_status_free(op());
      times.push_back(elapsedUs(t));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  auto reduce = [&](int64_t count) {
    return time([&] {
      return weft_group_all_reduce(g, rank, WEFT_DTYPE_F32, WEFT_REDUCE_SUM, send.data(),
                                   recv.data(), count);
    });
  };
  auto transfer = [&](int64_t count) {
    // A round trip, halved: each rank's clock times its own side only.
    return time([&] {
      size_t bytes = count * sizeof(float);
      weft_status_t s = rank == 0 ? weft_group_send(g, 0, 1, send.data(), bytes)
                                  : weft_group_recv(g, 1, 0, recv.data(), bytes);
      if (!s)
        s = rank == 0 ? weft_group_recv(g, 0, 1, recv.data(), bytes)
                      : weft_group_send(g, 1, 0, send.data(), bytes);
      return s;
    }) / 2;
  };
  double reduceSmall = reduce(1), reduceLarge = reduce(kLarge);
  double sendSmall = transfer(1), sendLarge = transfer(kLarge);
  weft_device_group_destroy(g);
  fitLine(reduceSmall, reduceLarge, kLarge * sizeof(float), model.mpiCollectiveUs,
          model.mpiCollectiveGBps);
  fitLine(sendSmall, sendLarge, kLarge * sizeof(float), model.mpiTransferUs,
          model.mpiTransferGBps);
  if (rank == 0)
    outs() << formatv("calibration under MPI (2 ranks): an all-reduce of 4 bytes {0:F1} us, "
                      "of 4 MiB {1:F1} us; a send/recv of 4 bytes {2:F1} us, of 4 MiB {3:F1} "
                      "us\n",
                      reduceSmall, reduceLarge, sendSmall, sendLarge);
  return Error::success();
}

/// Writes the rates and prints them; the exit code.
int writeModel(const weft::CostModel &model, StringRef path) {
  std::string text = weft::renderCostModel(model);
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec) {
    errs() << "weftc: error: cannot write '" << path << "': " << ec.message() << "\n";
    return 1;
  }
  os << text;
  outs() << text << "written to " << path << "\n";
  return 0;
}

} // namespace

int weft::runCalibration(mlir::MLIRContext &ctx, const CompileOptions &base,
                         StringRef outputPath) {
  CostModel model;
  // Under mpirun only the MPI rates are measured, and merged into the file
  // an earlier run without mpirun wrote (the other ranks' processes would
  // take CPUs from the one-process timings).
  if (const char *world = getenv("OMPI_COMM_WORLD_SIZE")) {
    if (StringRef(world) != "2") {
      errs() << "weftc: error: --calibrate under mpirun needs 2 processes (mpirun -np 2), not "
             << world << "\n";
      return 1;
    }
    std::string error;
    if (sys::fs::exists(outputPath) && failed(readCostModel(outputPath, model, error))) {
      errs() << "weftc: error: " << error << "\n";
      return 1;
    }
    int32_t rank = -1;
    std::string exe = sys::fs::getMainExecutable("weftc", (void *)&elapsedUs);
    if (Error e = calibrateMpi(exe, model, rank)) {
      errs() << "weftc: error: --calibrate: " << toString(std::move(e)) << "\n";
      return 1;
    }
    if (rank != 0)
      return 0;
    return writeModel(model, outputPath);
  }
  SmallString<256> dir;
  if (auto ec = sys::fs::createUniqueDirectory("weft-calibrate", dir)) {
    errs() << "weftc: error: cannot create a temporary directory: " << ec.message() << "\n";
    return 1;
  }
  llvm::scope_exit cleanup([&] { sys::fs::remove_directories(dir); });

  // Arithmetic: 256 rows through a 512 x 512 weight.
  CalibrationModel gemm("cal_gemm", {256, 512}, {256, 512});
  gemm.weight("w", {512, 512});
  gemm.node("MatMul", {"x", "w"}, "y");
  // Streaming: one row through a 2048 x 2048 weight (16 MiB).
  CalibrationModel stream("cal_stream", {1, 2048}, {1, 2048});
  stream.weight("w", {2048, 2048});
  stream.node("MatMul", {"x", "w"}, "y");
  // The rest: an elementwise op over 4 Mi floats.
  CalibrationModel elementwise("cal_eltwise", {4 << 20}, {4 << 20});
  elementwise.node("Relu", {"x"}, "y");
  // Per op: 32 softmaxes of 64 floats, each its own kernel.
  CalibrationModel small("cal_ops", {1, 64}, {1, 64});
  for (int i = 0; i < 32; ++i)
    small.node("Softmax", {i ? "s" + std::to_string(i - 1) : "x"},
               i == 31 ? "y" : "s" + std::to_string(i));

  // Fewer rows use a kernel's register tile less: 1, 4, 16 and 64 rows
  // through the same weight.
  std::vector<CalibrationModel> thin;
  for (int64_t rows : {1, 4, 16, 64}) {
    thin.emplace_back("cal_rows" + std::to_string(rows), std::vector<int64_t>{rows, 512},
                      std::vector<int64_t>{rows, 512});
    thin.back().weight("w", {512, 512});
    thin.back().node("MatMul", {"x", "w"}, "y");
  }

  // Three interleaved rounds; each model keeps its least disturbed round
  // (a neighbour's burst during one model's 0.3 s would skew its rate).
  double us[8];
  CalibrationModel *models[] = {&gemm, &stream, &elementwise, &small,
                                &thin[0], &thin[1], &thin[2], &thin[3]};
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 8; ++i) {
      Expected<double> t = timeModel(ctx, base, *models[i], dir);
      if (!t) {
        errs() << "weftc: error: --calibrate: " << toString(t.takeError()) << "\n";
        return 1;
      }
      us[i] = round == 0 ? *t : std::min(us[i], *t);
    }
  model.opUs = std::max(0.05, us[3] / 32);
  model.gflops = 2.0 * 256 * 512 * 512 / std::max(1.0, us[0] - model.opUs) / 1e3;
  for (int i = 0; i < 4; ++i) {
    double rows = (double)(1 << (2 * i));
    model.gflopsRows[i] = 2.0 * rows * 512 * 512 / std::max(0.1, us[4 + i] - model.opUs) / 1e3;
  }
  model.streamGBps = (2048.0 * 2048 + 2 * 2048) * 4 / std::max(1.0, us[1] - model.opUs) / 1e3;
  model.gbps = 2.0 * (4 << 20) * 4 / std::max(1.0, us[2] - model.opUs) / 1e3;

  weft_cpu_device_group_options_t two = {2, 1};
  weft_device_group_t *g = nullptr;
  if (weft_status_t s = weft_cpu_device_group_create(&two, nullptr, &g)) {
    errs() << "weftc: error: --calibrate: " << weft_status_message(s) << "\n";
    weft_status_free(s);
    return 1;
  }
  constexpr int64_t kLarge = 1 << 20; // floats
  std::vector<float> a(kLarge, 1.0f), b(kLarge, 2.0f), ra(kLarge), rb(kLarge);
  auto reduce = [&](int64_t count) {
    return timeCollective(g, [&](int32_t r) {
      return weft_group_all_reduce(g, r, WEFT_DTYPE_F32, WEFT_REDUCE_SUM,
                                   r ? b.data() : a.data(), r ? rb.data() : ra.data(), count);
    });
  };
  auto transfer = [&](int64_t count) {
    return timeCollective(g, [&](int32_t r) {
      return r ? weft_group_recv(g, 1, 0, rb.data(), count * sizeof(float))
               : weft_group_send(g, 0, 1, a.data(), count * sizeof(float));
    });
  };
  double reduceSmall = reduce(1), reduceLarge = reduce(kLarge);
  double sendSmall = transfer(1), sendLarge = transfer(kLarge);
  // A receiver that slept: rank 1 waits in recv while rank 0 sleeps 2 ms,
  // then sends; from the send's start to the receive's return.
  std::vector<double> wakes;
  for (int i = 0; i < 20; ++i) {
    std::atomic<int64_t> sentAt{0};
    std::thread receiver([&] {
      int32_t v = 0;
      weft_status_free(weft_group_recv(g, 1, 0, &v, sizeof(v)));
      auto now = Clock::now().time_since_epoch();
      wakes.push_back(
          std::chrono::duration<double, std::micro>(now).count() -
          (double)sentAt.load() / 1e3);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    int32_t v = i;
    sentAt = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 Clock::now().time_since_epoch())
                 .count();
    weft_status_free(weft_group_send(g, 0, 1, &v, sizeof(v)));
    receiver.join();
  }
  std::sort(wakes.begin(), wakes.end());
  model.wakeUs = std::max(0.1, wakes[wakes.size() / 2]);
  weft_device_group_destroy(g);
  fitLine(reduceSmall, reduceLarge, kLarge * sizeof(float), model.collectiveUs,
          model.collectiveGBps);
  fitLine(sendSmall, sendLarge, kLarge * sizeof(float), model.transferUs, model.transferGBps);

  outs() << formatv("calibration (one thread; medians, the least of 3 rounds): matmul 256x512x512 {0:F1} us, "
                    "1x2048x2048 {1:F1} us, relu of 4 Mi floats {2:F1} us, 32 softmaxes {3:F1} "
                    "us, matmuls of 1, 4, 16, 64 rows by 512x512 {8:F1}, {9:F1}, {10:F1}, {11:F1} us; "
                    "in one process an all-reduce of 4 bytes {4:F1} us, of 4 MiB {5:F1} us, "
                    "a send/recv of 4 bytes {6:F1} us, of 4 MiB {7:F1} us, to a sleeping "
                    "receiver {12:F1} us\n",
                    us[0], us[1], us[2], us[3], reduceSmall, reduceLarge, sendSmall, sendLarge,
                    us[4], us[5], us[6], us[7], model.wakeUs);
  return writeModel(model, outputPath);
}
