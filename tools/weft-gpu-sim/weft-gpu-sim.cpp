//===- weft-gpu-sim.cpp - run a CUDA kernel's IR on the CPU, block by block ===//
//
// An interpreter for the kernels of Weft's CUDA backend as they stand just
// before the NVVM lowering (a gpu.module dumped by `weftc --target=cuda
// --dump-ir-dir`, stage `*_canonicalize` after `convert-scf-to-cf`): every
// thread of a block runs the gpu.func's control-flow graph by itself, each
// `gpu.barrier` waits for all of the block's threads, and the warp-wide
// operations (ldmatrix, mma.sync, shuffles, WMMA fragments) wait for the
// warp's 32 lanes and then run as the PTX ISA defines them. No GPU is
// needed; what it shows is what a GPU-less run of the kernels (the CPU
// backend's loops under --target=cuda-on-cpu) cannot: the kernels'
// barriers, thread and lane indices, shared-memory layouts, software
// pipelining and tensor-core fragments, as the GPU would run them.
//
// Checked while running, each a located error:
//   * data races in shared memory: a thread reading what another wrote, or
//     writing what another read or wrote, with no barrier in between (two
//     writes of the same value are counted apart, as benign);
//   * reads of shared memory no thread wrote, and of private memory never
//     written;
//   * accesses of shared memory that an asynchronous copy (cp.async,
//     nvgpu.device_async_copy) may still be writing: its source is read
//     when it is issued, its destination written when a wait completes
//     its group (and counted for races then);
//   * accesses outside a buffer;
//   * data races between the blocks run: a block reading an element of
//     global memory that another block wrote, or writing another value
//     where another block wrote (blocks run in no set order on a GPU);
//   * barriers that not all of a block's threads reach (a deadlock), and
//     warp-wide operations that not all of a warp's lanes reach together;
//   * WMMA fragment operations whose lanes disagree on their operands;
//   * addresses a GPU would stop the kernel for as misaligned: an ldmatrix
//     row not 16-byte aligned, a WMMA fragment not 32-byte aligned or with
//     rows not a multiple of 16 bytes apart, a cp.async whose addresses
//     are not aligned to its size (a buffer's own start counts
//     as kBufferAlignment or kSharedAlignment bytes aligned).
//
// Buffers are raw little-endian files of the kernel arguments' element
// types (numpy's tofile); the arguments given by --out are written back
// after the run. Only the blocks named by --blocks run (all by default).
//
//===----------------------------------------------------------------------===//
#include "tools/weft-gpu-sim/Profile.h"
#include "tools/weft-gpu-sim/Semantics.h"

#include "codegen/cuda/Passes.h"
#include "compiler/InitAll.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>

using namespace mlir;
using namespace weft::gpusim;

namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<gpu module .mlir>"),
                                      cl::Required);
static cl::opt<std::string> kernelName("kernel", cl::desc("the gpu.func to run"),
                                       cl::Required);
static cl::opt<int64_t> gridSize("grid",
                                 cl::desc("blocks in the grid (default: the kernel's "
                                          "known_grid_size)"),
                                 cl::init(0));
static cl::list<std::string> blockList("blocks", cl::desc("blocks to run (default: all)"),
                                       cl::CommaSeparated);
static cl::list<std::string> argFiles("arg", cl::desc("N=FILE: kernel argument N's contents"));
static cl::list<std::string> outFiles("out",
                                      cl::desc("N=FILE: write kernel argument N after the run"));
static cl::opt<bool> profileOpt("profile",
                                cl::desc("count the global sectors and shared-memory wavefronts "
                                         "of every warp's requests (Profile.h)"));
static cl::opt<int> profileTop("profile-top",
                               cl::desc("operations listed by --profile (the costliest "
                                        "beyond their ideal)"),
                               cl::init(8));

namespace {

/// A buffer: a kernel argument, a block's shared buffer, a thread's
/// private one, or a constant global. Elements held as doubles (integers
/// exactly up to 2^53, floats at their type's precision).
struct Buffer {
  std::string name;
  Type element;
  enum Space { Global, Shared, Private } space = Global;
  std::vector<double> data;
  // Shared and global memory: the last writer (thread, phase), the last
  // reader (thread; -2 for several) and its phase, whether written.
  std::vector<int32_t> writer, reader;
  std::vector<int64_t> writePhase, readPhase;
  std::vector<uint8_t> written;
  // Global memory: the block that last wrote each element in this run of
  // the kernel (-1: none).
  std::vector<int64_t> writerBlock;
  // Shared memory: the thread whose asynchronous copy (cp.async) is still
  // to write each element (-1: none).
  std::vector<int32_t> pending;
};

/// An element that an asynchronous copy writes when its group completes.
struct AsyncWrite {
  int buffer;
  int64_t element;
  double value;
};

struct Thread {
  int tid = 0;
  Block::iterator it;
  DenseMap<Value, Val> env;
  enum State { Running, AtBarrier, AtWarpOp, Done } state = Running;
  Operation *waiting = nullptr;
  // With --profile: how often each operation ran, and the current one's
  // count (its execution's place in the warp's requests).
  DenseMap<Operation *, int64_t> execs;
  int64_t exec = 0;
  // Asynchronous copies issued and not yet in a group, and the groups not
  // yet waited for, oldest first.
  std::vector<AsyncWrite> ungrouped;
  std::deque<std::vector<AsyncWrite>> groups;
};

/// The simulator: the module, the buffers and one block's threads.
class Sim {
public:
  Sim(gpu::GPUFuncOp fn, int64_t blockSize) : fn(fn), blockSize(blockSize) {}

  std::vector<Buffer> buffers;
  int64_t phase = 0; ///< grows at every barrier (and at each block's start)
  int64_t benignWrites = 0;
  int64_t barriers = 0; ///< barriers all of a block's threads passed
  int64_t unknownGlobals = 0; ///< constant globals whose contents were elided
  MemoryProfile *profile = nullptr; ///< with --profile

  /// Runs block `block` of `grid`, kernel arguments `args`.
  void runBlock(int64_t block, int64_t grid, ArrayRef<Val> args) {
    blockId = block;
    gridDim = grid;
    ++phase;
    Block &entry = fn.getBody().front();
    unsigned numArgs = fn.getFunctionType().getNumInputs();
    // Shared buffers, fresh and unwritten.
    SmallVector<Val> shared;
    for (auto [i, a] : llvm::enumerate(fn.getWorkgroupAttributions())) {
      auto type = cast<MemRefType>(a.getType());
      shared.push_back(allocate(type, Buffer::Shared, "shared buffer " + std::to_string(i)));
    }
    threads.assign(blockSize, Thread());
    for (int64_t t = 0; t < blockSize; ++t) {
      Thread &th = threads[t];
      th.tid = (int)t;
      th.it = entry.begin();
      for (unsigned i = 0; i < numArgs; ++i)
        th.env[entry.getArgument(i)] = args[i];
      for (auto [i, a] : llvm::enumerate(fn.getWorkgroupAttributions()))
        th.env[a] = shared[i];
    }
    for (;;) {
      bool progress = false;
      // Profiling, the threads take turns of a few operations each, so
      // that a warp's lanes stay close and its requests close early.
      for (Thread &th : threads)
        if (th.state == Thread::Running) {
          run(th, profile ? 16 : INT64_MAX);
          progress = true;
        }
      bool allDone = llvm::all_of(threads, [](Thread &t) { return t.state == Thread::Done; });
      if (allDone)
        break;
      // A barrier all threads reached.
      if (llvm::all_of(threads, [](Thread &t) { return t.state == Thread::AtBarrier; })) {
        Operation *at = threads[0].waiting;
        for (Thread &th : threads)
          if (th.waiting != at)
            fail(th.waiting, "thread " + Twine(th.tid) + " waits at another barrier than thread 0 (" +
                                 Twine(at->getLoc() == th.waiting->getLoc() ? "same place"
                                                                             : "elsewhere") +
                                 ")");
        ++phase;
        ++barriers;
        for (Thread &th : threads) {
          th.state = Thread::Running;
          th.waiting = nullptr;
        }
        continue;
      }
      // Warp-wide operations all 32 lanes of a warp reached.
      for (int64_t w = 0; w * 32 < blockSize; ++w) {
        MutableArrayRef<Thread> lanes(&threads[w * 32], 32);
        if (!llvm::all_of(lanes, [](Thread &t) { return t.state == Thread::AtWarpOp; }))
          continue;
        Operation *op = lanes[0].waiting;
        for (Thread &th : lanes)
          if (th.waiting != op)
            fail(th.waiting, "lane " + Twine(th.tid % 32) + " of warp " + Twine(w) +
                                 " waits at another warp-wide operation than lane 0");
        if (profile)
          for (Thread &th : lanes)
            th.exec = ++th.execs[op];
        warpOp(op, lanes);
        if (profile)
          for (Thread &th : lanes)
            profile->finish(op, (int)w, th.tid % 32, th.exec, 0xFFFFFFFFu);
        for (Thread &th : lanes) {
          th.state = Thread::Running;
          th.waiting = nullptr;
          ++th.it;
        }
        progress = true;
      }
      if (!progress) {
        for (Thread &th : threads)
          if (th.state == Thread::AtWarpOp)
            fail(th.waiting, "deadlock: thread " + Twine(th.tid) +
                                 " waits at a warp-wide operation that its warp's other lanes "
                                 "do not reach");
        for (Thread &th : threads)
          if (th.state == Thread::AtBarrier)
            fail(th.waiting, "deadlock: thread " + Twine(th.tid) +
                                 " waits at a barrier that not all threads reach");
        fail(nullptr, "deadlock");
      }
    }
    if (profile)
      profile->flush();
  }

  Val allocate(MemRefType type, Buffer::Space space, StringRef name) {
    if (!type.hasStaticShape())
      fail(nullptr, "a buffer of dynamic shape");
    Buffer b;
    b.name = name.str();
    b.element = type.getElementType();
    b.space = space;
    int64_t n = type.getNumElements();
    b.data.assign(n, std::nan(""));
    b.written.assign(n, 0);
    if (space != Buffer::Private) {
      b.writer.assign(n, -1);
      b.reader.assign(n, -1);
      b.writePhase.assign(n, -1);
      b.readPhase.assign(n, -1);
    }
    if (space == Buffer::Global)
      b.writerBlock.assign(n, -1);
    if (space == Buffer::Shared)
      b.pending.assign(n, -1);
    buffers.push_back(std::move(b));
    Val v;
    v.buffer = (int)buffers.size() - 1;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      fail(nullptr, "a buffer without strides");
    v.offset = offset;
    v.sizes.assign(type.getShape().begin(), type.getShape().end());
    v.strides.assign(strides.begin(), strides.end());
    return v;
  }

private:
  gpu::GPUFuncOp fn;
  int64_t blockSize, blockId = 0, gridDim = 1;
  std::vector<Thread> threads;
  std::map<Operation *, int> globals;

  Val &get(Thread &th, Value v) {
    auto it = th.env.find(v);
    if (it == th.env.end())
      fail(v.getDefiningOp(), "thread " + Twine(th.tid) + " uses a value it never computed");
    return it->second;
  }

  double scalar(Thread &th, Value v) { return get(th, v).e[0]; }

  int64_t index(Thread &th, Value v) { return (int64_t)get(th, v).e[0]; }

  void set(Thread &th, Value v, Val x) { th.env[v] = std::move(x); }

  static Val of(ArrayRef<double> e) {
    Val v;
    v.e.assign(e.begin(), e.end());
    return v;
  }

  /// The flat element index of `at` in view `m`, checked against its sizes.
  int64_t address(Operation *op, const Val &m, ArrayRef<int64_t> at) {
    int64_t a = m.offset;
    for (auto [d, i] : llvm::enumerate(at)) {
      if (i < 0 || i >= m.sizes[d])
        fail(op, "index " + Twine(i) + " of dimension " + Twine(d) + " is outside its size " +
                     Twine(m.sizes[d]));
      a += i * m.strides[d];
    }
    Buffer &b = buffers[m.buffer];
    if (a < 0 || a >= (int64_t)b.data.size())
      fail(op, "element " + Twine(a) + " is outside " + b.name);
    return a;
  }

  std::string who(int t) { return "thread " + std::to_string(t); }

  /// With --profile: thread `tid`'s access of element `a` of buffer `b`
  /// (global or shared) in its current execution of `op`.
  void account(Operation *op, int tid, int b, int64_t a, bool isStore) {
    Buffer &buf = buffers[b];
    if (!profile || buf.space == Buffer::Private ||
        isa<gpu::SubgroupMmaLoadMatrixOp, gpu::SubgroupMmaStoreMatrixOp>(op))
      return;
    unsigned bytes = std::max(1u, bitWidth(buf.element) / 8);
    MemoryProfile::Kind kind =
        buf.space == Buffer::Global
            ? (isStore ? MemoryProfile::GlobalStore : MemoryProfile::GlobalLoad)
            : (isStore ? MemoryProfile::SharedStore : MemoryProfile::SharedLoad);
    profile->record(op, kind, tid / 32, tid % 32, threads[tid].exec, b, a * bytes, bytes);
  }

  /// Fails unless element `a` of buffer `b` starts a multiple of `bytes`
  /// bytes into memory, as `what` needs on a GPU (which stops the kernel
  /// with a misaligned-address error otherwise): the buffer's own start is
  /// only known to be a multiple of kBufferAlignment (global memory) or
  /// kSharedAlignment (shared) bytes.
  void checkAligned(Operation *op, int tid, int b, int64_t a, int64_t bytes, StringRef what) {
    Buffer &buf = buffers[b];
    int64_t start = buf.space == Buffer::Shared ? weft::cuda::kSharedAlignment
                                                : weft::cuda::kBufferAlignment;
    int64_t offset = a * std::max(1u, bitWidth(buf.element) / 8);
    if (buf.space == Buffer::Private)
      return;
    if (bytes > start || offset % bytes != 0)
      fail(op, who(tid) + ": " + what + " needs a " + Twine(bytes) +
                   "-byte aligned address; element " + Twine(a) + " of " + buf.name + " is " +
                   Twine(offset) + " bytes past the buffer's start, which is " + Twine(start) +
                   "-byte aligned");
  }

  /// The lanes of warp `w` (all 32 but in a last, partial warp).
  uint32_t laneMask(int64_t w) {
    int64_t n = std::min<int64_t>(32, blockSize - 32 * w);
    return n == 32 ? 0xFFFFFFFFu : (1u << n) - 1;
  }

  double load(Operation *op, int tid, const Val &m, ArrayRef<int64_t> at) {
    int64_t a = address(op, m, at);
    Buffer &b = buffers[m.buffer];
    account(op, tid, m.buffer, a, false);
    if (b.space == Buffer::Private) {
      if (!b.written[a])
        fail(op, who(tid) + " reads private memory it never wrote");
      return b.data[a];
    }
    if (b.space == Buffer::Shared && b.pending[a] >= 0)
      fail(op, who(tid) + " reads element " + Twine(a) + " of " + b.name +
                   ", which an asynchronous copy of " + who(b.pending[a]) +
                   " may not have written yet (no wait for its group)");
    if (b.space == Buffer::Shared && !b.written[a])
      fail(op, who(tid) + " reads element " + Twine(a) + " of " + b.name +
                   ", which no thread wrote (yet: a missing barrier?)");
    if (b.space == Buffer::Global && b.writerBlock[a] >= 0 && b.writerBlock[a] != blockId)
      fail(op, "data race between blocks: block " + Twine(blockId) + " reads element " +
                   Twine(a) + " of " + b.name + ", which block " + Twine(b.writerBlock[a]) +
                   " wrote (a GPU runs a kernel's blocks in no set order)");
    if (b.writePhase[a] == phase && b.writer[a] != tid)
      fail(op, "data race: " + who(tid) + " reads element " + Twine(a) + " of " + b.name +
                   ", which " + who(b.writer[a]) + " wrote since the last barrier");
    if (b.readPhase[a] == phase && b.reader[a] != tid)
      b.reader[a] = -2;
    else if (b.readPhase[a] != phase) {
      b.readPhase[a] = phase;
      b.reader[a] = tid;
    }
    return b.data[a];
  }

  void store(Operation *op, int tid, const Val &m, ArrayRef<int64_t> at, double x) {
    int64_t a = address(op, m, at);
    account(op, tid, m.buffer, a, true);
    storeElement(op, tid, m.buffer, a, x);
  }

  /// Writes `x` to element `a` of buffer `buffer`, checked for races.
  void storeElement(Operation *op, int tid, int buffer, int64_t a, double x) {
    Buffer &b = buffers[buffer];
    if (b.space == Buffer::Shared && b.pending[a] >= 0)
      fail(op, who(tid) + " writes element " + Twine(a) + " of " + b.name +
                   ", which an asynchronous copy of " + who(b.pending[a]) +
                   " is still to write (no wait for its group)");
    x = isa<FloatType>(b.element) ? roundTo(b.element, x) : x;
    if (b.space != Buffer::Private) {
      if (b.readPhase[a] == phase && b.reader[a] != tid)
        fail(op, "data race: " + who(tid) + " writes element " + Twine(a) + " of " + b.name +
                     ", which " + (b.reader[a] == -2 ? std::string("other threads") : who(b.reader[a])) +
                     " read since the last barrier");
      if (b.writePhase[a] == phase && b.writer[a] != tid) {
        bool same = b.data[a] == x || (std::isnan(b.data[a]) && std::isnan(x));
        if (!same)
          fail(op, "data race: " + who(tid) + " and " + who(b.writer[a]) +
                       " write different values to element " + Twine(a) + " of " + b.name +
                       " with no barrier between");
        ++benignWrites;
      }
      b.writePhase[a] = phase;
      b.writer[a] = tid;
    }
    if (b.space == Buffer::Global) {
      if (b.writerBlock[a] >= 0 && b.writerBlock[a] != blockId &&
          !(b.data[a] == x || (std::isnan(b.data[a]) && std::isnan(x))))
        fail(op, "data race between blocks: blocks " + Twine(b.writerBlock[a]) + " and " +
                     Twine(blockId) + " write different values to element " + Twine(a) + " of " +
                     b.name + " (a GPU runs a kernel's blocks in no set order)");
      b.writerBlock[a] = blockId;
    }
    b.written[a] = 1;
    b.data[a] = x;
  }

  /// cp.async: reads its source now (global memory; zeros past
  /// `srcElements`) and writes its destination (shared memory) when a wait
  /// completes its group: until then no thread may touch those elements.
  /// Both addresses must be aligned to the copy's size.
  void asyncCopy(Thread &th, nvgpu::DeviceAsyncCopyOp c) {
    Operation *op = c.getOperation();
    Val src = get(th, c.getSrc()), dst = get(th, c.getDst());
    SmallVector<int64_t> from = indices(th, c.getSrcIndices());
    SmallVector<int64_t> to = indices(th, c.getDstIndices());
    int64_t n = c.getDstElements().getZExtValue();
    int64_t read = c.getSrcElements() ? index(th, c.getSrcElements()) : n;
    if (buffers[dst.buffer].space != Buffer::Shared ||
        buffers[src.buffer].space != Buffer::Global)
      fail(op, "cp.async copies global memory to shared memory");
    int64_t bytes = n * std::max(1u, bitWidth(buffers[dst.buffer].element) / 8);
    checkAligned(op, th.tid, src.buffer, address(op, src, from), bytes, "cp.async");
    checkAligned(op, th.tid, dst.buffer, address(op, dst, to), bytes, "cp.async");
    for (int64_t k = 0; k < n; ++k) {
      SmallVector<int64_t> s(from), d(to);
      s.back() += k;
      d.back() += k;
      double x = k < read ? load(op, th.tid, src, s) : 0.0;
      int64_t a = address(op, dst, d);
      // Profiled as the copy's request (the shared write it makes later).
      account(op, th.tid, dst.buffer, a, true);
      Buffer &b = buffers[dst.buffer];
      if (b.pending[a] >= 0)
        fail(op, who(th.tid) + "'s asynchronous copy writes element " + Twine(a) + " of " +
                     b.name + ", which one of " + who(b.pending[a]) + " is still to write");
      b.pending[a] = th.tid;
      th.ungrouped.push_back({dst.buffer, a, x});
    }
    set(th, c.getAsyncToken(), of({0.0}));
  }

  SmallVector<int64_t> indices(Thread &th, ValueRange vs) {
    SmallVector<int64_t> r;
    for (Value v : vs)
      r.push_back(index(th, v));
    return r;
  }

  /// Runs `th` until it returns, reaches a barrier or a warp-wide
  /// operation, or has run `budget` operations.
  void run(Thread &th, int64_t budget) {
    while (th.state == Thread::Running && budget-- > 0) {
      Operation *op = &*th.it;
      if (isa<gpu::BarrierOp>(op)) {
        th.state = Thread::AtBarrier;
        th.waiting = op;
        ++th.it;
        return;
      }
      if (isa<nvgpu::LdMatrixOp, NVVM::MmaOp, gpu::ShuffleOp, gpu::SubgroupMmaLoadMatrixOp,
              gpu::SubgroupMmaComputeOp, gpu::SubgroupMmaStoreMatrixOp>(op)) {
        th.state = Thread::AtWarpOp;
        th.waiting = op;
        return;
      }
      if (isa<gpu::ReturnOp>(op)) {
        th.state = Thread::Done;
        return;
      }
      if (auto br = dyn_cast<cf::BranchOp>(op)) {
        jump(th, br.getDest(), br.getDestOperands());
        continue;
      }
      if (auto cbr = dyn_cast<cf::CondBranchOp>(op)) {
        if (scalar(th, cbr.getCondition()) != 0)
          jump(th, cbr.getTrueDest(), cbr.getTrueDestOperands());
        else
          jump(th, cbr.getFalseDest(), cbr.getFalseDestOperands());
        continue;
      }
      bool memory = profile && isa<memref::LoadOp, memref::StoreOp, vector::LoadOp,
                                   vector::StoreOp, vector::TransferReadOp,
                                   vector::TransferWriteOp, nvgpu::DeviceAsyncCopyOp>(op);
      if (memory)
        th.exec = ++th.execs[op];
      step(th, op);
      if (memory)
        profile->finish(op, th.tid / 32, th.tid % 32, th.exec, laneMask(th.tid / 32));
      ++th.it;
    }
  }

  void jump(Thread &th, Block *dest, ValueRange operands) {
    SmallVector<Val> vals;
    for (Value v : operands)
      vals.push_back(get(th, v));
    for (auto [arg, v] : llvm::zip(dest->getArguments(), vals))
      th.env[arg] = v;
    th.it = dest->begin();
  }

  /// Elementwise application over the operands' elements (scalars
  /// broadcast).
  Val map(Thread &th, Operation *op, function_ref<double(ArrayRef<double>)> f) {
    int64_t n = elementsOf(op->getResult(0).getType());
    SmallVector<Val *> in;
    for (Value v : op->getOperands())
      in.push_back(&get(th, v));
    Val r;
    SmallVector<double, 4> args(in.size());
    for (int64_t i = 0; i < n; ++i) {
      for (auto [k, v] : llvm::enumerate(in))
        args[k] = v->e.size() == 1 ? v->e[0] : v->e[i];
      r.e.push_back(f(args));
    }
    return r;
  }

  void step(Thread &th, Operation *op) {
    Type rt = op->getNumResults() ? op->getResult(0).getType() : Type();
    Type re = rt ? elementOf(rt) : Type();
    if (auto c = dyn_cast<arith::ConstantOp>(op))
      return set(th, c.getResult(), constant(op, c.getValue(), rt));
    if (isa<ub::PoisonOp>(op)) {
      Val r;
      r.e.assign(elementsOf(rt), 0);
      return set(th, op->getResult(0), r);
    }
    if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivSIOp, arith::DivUIOp,
            arith::RemSIOp, arith::RemUIOp, arith::FloorDivSIOp, arith::CeilDivSIOp,
            arith::MinSIOp, arith::MaxSIOp, arith::MinUIOp, arith::MaxUIOp, arith::AndIOp,
            arith::OrIOp, arith::XOrIOp, arith::ShLIOp, arith::ShRUIOp, arith::ShRSIOp>(op)) {
      unsigned w = bitWidth(re);
      return set(th, op->getResult(0),
                 map(th, op, [&](ArrayRef<double> a) { return intOp(op, a[0], a[1], w); }));
    }
    if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp, arith::RemFOp,
            arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp, arith::MinNumFOp,
            arith::NegFOp, math::AbsFOp, math::SqrtOp, math::RsqrtOp, math::ExpOp, math::Exp2Op,
            math::ExpM1Op, math::LogOp, math::Log2Op, math::Log1pOp, math::TanhOp, math::ErfOp,
            math::SinOp, math::CosOp, math::FloorOp, math::CeilOp, math::RoundOp,
            math::RoundEvenOp, math::TruncOp, math::PowFOp, math::FmaOp, vector::FMAOp>(op))
      return set(th, op->getResult(0),
                 map(th, op, [&](ArrayRef<double> a) { return floatOp(op, a, re); }));
    if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
      unsigned w = bitWidth(elementOf(cmp.getLhs().getType()));
      return set(th, cmp.getResult(), map(th, op, [&](ArrayRef<double> a) {
                   return compareInt(cmp.getPredicate(), a[0], a[1], w) ? 1.0 : 0.0;
                 }));
    }
    if (auto cmp = dyn_cast<arith::CmpFOp>(op))
      return set(th, cmp.getResult(), map(th, op, [&](ArrayRef<double> a) {
                   return compareFloat(cmp.getPredicate(), a[0], a[1]) ? 1.0 : 0.0;
                 }));
    if (auto sel = dyn_cast<arith::SelectOp>(op); sel && isa<MemRefType>(sel.getType()))
      return set(th, sel.getResult(),
                 scalar(th, sel.getCondition()) != 0 ? get(th, sel.getTrueValue())
                                                     : get(th, sel.getFalseValue()));
    if (isa<arith::SelectOp>(op))
      return set(th, op->getResult(0),
                 map(th, op, [](ArrayRef<double> a) { return a[0] != 0 ? a[1] : a[2]; }));
    if (isa<arith::ExtFOp, arith::TruncFOp>(op))
      return set(th, op->getResult(0),
                 map(th, op, [&](ArrayRef<double> a) { return roundTo(re, a[0]); }));
    if (isa<arith::SIToFPOp>(op))
      return set(th, op->getResult(0),
                 map(th, op, [&](ArrayRef<double> a) { return roundTo(re, a[0]); }));
    if (auto c = dyn_cast<arith::UIToFPOp>(op)) {
      unsigned w = bitWidth(elementOf(c.getIn().getType()));
      return set(th, op->getResult(0), map(th, op, [&](ArrayRef<double> a) {
                   return roundTo(re, (double)unsignedOf(a[0], w));
                 }));
    }
    if (isa<arith::FPToSIOp, arith::FPToUIOp>(op))
      return set(th, op->getResult(0), map(th, op, [&](ArrayRef<double> a) {
                   return wrap((int64_t)std::trunc(a[0]), bitWidth(re));
                 }));
    if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp>(op))
      return set(th, op->getResult(0), map(th, op, [&](ArrayRef<double> a) {
                   return wrap((int64_t)a[0], bitWidth(re));
                 }));
    if (isa<arith::IndexCastUIOp, arith::ExtUIOp>(op)) {
      unsigned w = bitWidth(elementOf(op->getOperand(0).getType()));
      return set(th, op->getResult(0), map(th, op, [&](ArrayRef<double> a) {
                   return wrap((int64_t)unsignedOf(a[0], w), bitWidth(re));
                 }));
    }
    if (isa<arith::BitcastOp, vector::BitCastOp>(op))
      return set(th, op->getResult(0),
                 bitcast(get(th, op->getOperand(0)), op->getOperand(0).getType(), rt));
    if (auto cvt = dyn_cast<NVVM::ConvertFloatToTF32Op>(op)) {
      // cvt.rna.tf32.f32: the low 13 bits of the magnitude rounded away.
      float x = (float)scalar(th, cvt.getSrc());
      uint32_t b;
      std::memcpy(&b, &x, 4);
      if (!std::isnan(x))
        b = (b + 0x1000u) & 0xFFFFE000u;
      return set(th, cvt.getRes(), of({wrap((int64_t)b, 32)}));
    }
    // GPU indices.
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      return set(th, id.getResult(),
                 of({id.getDimension() == gpu::Dimension::x ? (double)th.tid : 0.0}));
    if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      return set(th, id.getResult(),
                 of({id.getDimension() == gpu::Dimension::x ? (double)blockId : 0.0}));
    if (auto id = dyn_cast<gpu::BlockDimOp>(op))
      return set(th, id.getResult(),
                 of({id.getDimension() == gpu::Dimension::x ? (double)blockSize : 1.0}));
    if (auto id = dyn_cast<gpu::GridDimOp>(op))
      return set(th, id.getResult(),
                 of({id.getDimension() == gpu::Dimension::x ? (double)gridDim : 1.0}));
    if (isa<gpu::LaneIdOp>(op))
      return set(th, op->getResult(0), of({(double)(th.tid % 32)}));
    // Memory.
    if (auto c = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op))
      return asyncCopy(th, c);
    if (auto g = dyn_cast<nvgpu::DeviceAsyncCreateGroupOp>(op)) {
      th.groups.push_back(std::move(th.ungrouped));
      th.ungrouped.clear();
      return set(th, g.getAsyncToken(), of({0.0}));
    }
    if (auto w = dyn_cast<nvgpu::DeviceAsyncWaitOp>(op)) {
      size_t left = w.getNumGroups() ? *w.getNumGroups() : 0;
      while (th.groups.size() > left) {
        for (const AsyncWrite &x : th.groups.front()) {
          buffers[x.buffer].pending[x.element] = -1;
          storeElement(op, th.tid, x.buffer, x.element, x.value);
        }
        th.groups.pop_front();
      }
      return;
    }
    if (auto l = dyn_cast<memref::LoadOp>(op)) {
      Val &m = get(th, l.getMemRef());
      return set(th, l.getResult(), of({load(op, th.tid, m, indices(th, l.getIndices()))}));
    }
    if (auto s = dyn_cast<memref::StoreOp>(op)) {
      double x = scalar(th, s.getValueToStore());
      Val m = get(th, s.getMemRef());
      store(op, th.tid, m, indices(th, s.getIndices()), x);
      return;
    }
    if (auto rc = dyn_cast<memref::ReinterpretCastOp>(op)) {
      Val m = get(th, rc.getSource());
      Val r;
      r.buffer = m.buffer;
      auto value = [&](OpFoldResult f) -> int64_t {
        if (auto a = dyn_cast<Attribute>(f))
          return cast<IntegerAttr>(a).getInt();
        return index(th, cast<Value>(f));
      };
      r.offset = value(rc.getMixedOffsets()[0]);
      for (OpFoldResult f : rc.getMixedSizes())
        r.sizes.push_back(value(f));
      for (OpFoldResult f : rc.getMixedStrides())
        r.strides.push_back(value(f));
      return set(th, rc.getResult(), r);
    }
    if (auto md = dyn_cast<memref::ExtractStridedMetadataOp>(op)) {
      Val m = get(th, md.getSource());
      Val base;
      base.buffer = m.buffer;
      set(th, md.getBaseBuffer(), base);
      set(th, md.getOffset(), of({(double)m.offset}));
      for (auto [i, s] : llvm::enumerate(md.getSizes()))
        set(th, s, of({(double)m.sizes[i]}));
      for (auto [i, s] : llvm::enumerate(md.getStrides()))
        set(th, s, of({(double)m.strides[i]}));
      return;
    }
    if (auto c = dyn_cast<memref::CastOp>(op))
      return set(th, c.getResult(), get(th, c.getSource()));
    if (auto a = dyn_cast<memref::AllocaOp>(op))
      return set(th, a.getResult(), allocate(a.getType(), Buffer::Private, "private buffer"));
    if (auto g = dyn_cast<memref::GetGlobalOp>(op))
      return set(th, g.getResult(), global(g));
    if (auto l = dyn_cast<vector::LoadOp>(op)) {
      Val m = get(th, l.getBase());
      SmallVector<int64_t> base = indices(th, l.getIndices());
      ArrayRef<int64_t> shape = l.getVectorType().getShape();
      Val r;
      for (int64_t i = 0; i < l.getVectorType().getNumElements(); ++i) {
        SmallVector<int64_t> at(base), pos = delinearize(i, shape);
        for (auto [j, p] : llvm::enumerate(pos))
          at[at.size() - pos.size() + j] += p;
        r.e.push_back(load(op, th.tid, m, at));
      }
      return set(th, l.getResult(), r);
    }
    if (auto s = dyn_cast<vector::StoreOp>(op)) {
      Val m = get(th, s.getBase());
      Val x = get(th, s.getValueToStore());
      SmallVector<int64_t> base = indices(th, s.getIndices());
      ArrayRef<int64_t> shape = s.getVectorType().getShape();
      for (int64_t i = 0; i < s.getVectorType().getNumElements(); ++i) {
        SmallVector<int64_t> at(base), pos = delinearize(i, shape);
        for (auto [j, p] : llvm::enumerate(pos))
          at[at.size() - pos.size() + j] += p;
        store(op, th.tid, m, at, x.e[i]);
      }
      return;
    }
    if (auto t = dyn_cast<vector::TransferReadOp>(op)) {
      if (!isa<MemRefType>(t.getBase().getType()))
        fail(op, "a transfer from a tensor");
      Val m = get(th, t.getBase());
      SmallVector<int64_t> base = indices(th, t.getIndices());
      double pad = scalar(th, t.getPadding());
      Val *mask = t.getMask() ? &get(th, t.getMask()) : nullptr;
      ArrayRef<int64_t> shape = t.getVectorType().getShape();
      Val r;
      for (int64_t i = 0; i < t.getVectorType().getNumElements(); ++i) {
        SmallVector<int64_t> at = transferAt(t.getPermutationMap(), base, delinearize(i, shape));
        bool on = !mask || mask->e[i] != 0;
        if (on && !inBounds(m, at) && !t.getInBoundsValues().empty() &&
            llvm::all_of(t.getInBoundsValues(), [](bool b) { return b; }))
          fail(op, "a transfer declared in bounds reads outside its buffer");
        r.e.push_back(on && inBounds(m, at) ? load(op, th.tid, m, at) : pad);
      }
      return set(th, t.getResult(), r);
    }
    if (auto t = dyn_cast<vector::TransferWriteOp>(op)) {
      if (!isa<MemRefType>(t.getBase().getType()))
        fail(op, "a transfer to a tensor");
      Val m = get(th, t.getBase());
      Val x = get(th, t.getVector());
      SmallVector<int64_t> base = indices(th, t.getIndices());
      Val *mask = t.getMask() ? &get(th, t.getMask()) : nullptr;
      ArrayRef<int64_t> shape = t.getVectorType().getShape();
      for (int64_t i = 0; i < t.getVectorType().getNumElements(); ++i) {
        SmallVector<int64_t> at = transferAt(t.getPermutationMap(), base, delinearize(i, shape));
        bool on = !mask || mask->e[i] != 0;
        if (!on)
          continue;
        if (!inBounds(m, at)) {
          if (llvm::all_of(t.getInBoundsValues(), [](bool b) { return b; }))
            fail(op, "a transfer declared in bounds writes outside its buffer");
          continue;
        }
        store(op, th.tid, m, at, x.e[i]);
      }
      return;
    }
    // Vectors.
    if (auto e = dyn_cast<vector::ExtractOp>(op)) {
      auto vt = cast<VectorType>(e.getSource().getType());
      Val &v = get(th, e.getSource());
      SmallVector<int64_t> pos;
      for (OpFoldResult f : e.getMixedPosition())
        pos.push_back(isa<Attribute>(f) ? cast<IntegerAttr>(cast<Attribute>(f)).getInt()
                                        : index(th, cast<Value>(f)));
      int64_t inner = elementsOf(rt);
      SmallVector<int64_t> strides = rowMajorStrides(vt.getShape());
      int64_t at = 0;
      for (auto [d, p] : llvm::enumerate(pos))
        at += p * strides[d];
      Val r;
      r.e.assign(v.e.begin() + at, v.e.begin() + at + inner);
      return set(th, e.getResult(), r);
    }
    if (auto ins = dyn_cast<vector::InsertOp>(op)) {
      auto vt = cast<VectorType>(ins.getDest().getType());
      Val r = get(th, ins.getDest());
      Val &x = get(th, ins.getValueToStore());
      SmallVector<int64_t> pos;
      for (OpFoldResult f : ins.getMixedPosition())
        pos.push_back(isa<Attribute>(f) ? cast<IntegerAttr>(cast<Attribute>(f)).getInt()
                                        : index(th, cast<Value>(f)));
      SmallVector<int64_t> strides = rowMajorStrides(vt.getShape());
      int64_t at = 0;
      for (auto [d, p] : llvm::enumerate(pos))
        at += p * strides[d];
      for (auto [k, y] : llvm::enumerate(x.e))
        r.e[at + k] = y;
      return set(th, ins.getResult(), r);
    }
    if (auto fe = dyn_cast<vector::FromElementsOp>(op)) {
      Val r;
      for (Value v : fe.getElements())
        r.e.push_back(scalar(th, v));
      return set(th, fe.getResult(), r);
    }
    if (auto te = dyn_cast<vector::ToElementsOp>(op)) {
      Val v = get(th, te.getSource());
      for (auto [i, res] : llvm::enumerate(te.getResults()))
        set(th, res, of({v.e[i]}));
      return;
    }
    if (auto b = dyn_cast<vector::BroadcastOp>(op)) {
      Val v = get(th, b.getSource());
      int64_t n = elementsOf(rt);
      Val r;
      for (int64_t i = 0; i < n; ++i)
        r.e.push_back(v.e[i % v.e.size()]);
      return set(th, b.getResult(), r);
    }
    if (isa<vector::StepOp>(op)) {
      Val r;
      for (int64_t i = 0; i < elementsOf(rt); ++i)
        r.e.push_back((double)i);
      return set(th, op->getResult(0), r);
    }
    if (auto s = dyn_cast<vector::ShapeCastOp>(op))
      return set(th, s.getResult(), get(th, s.getSource()));
    if (auto t = dyn_cast<vector::TransposeOp>(op)) {
      auto vt = cast<VectorType>(t.getVector().getType());
      Val v = get(th, t.getVector());
      ArrayRef<int64_t> perm = t.getPermutation();
      ArrayRef<int64_t> outShape = cast<VectorType>(rt).getShape();
      SmallVector<int64_t> inStrides = rowMajorStrides(vt.getShape());
      Val r;
      for (int64_t i = 0; i < (int64_t)v.e.size(); ++i) {
        SmallVector<int64_t> p = delinearize(i, outShape);
        int64_t at = 0;
        for (auto [d, q] : llvm::enumerate(p))
          at += q * inStrides[perm[d]];
        r.e.push_back(v.e[at]);
      }
      return set(th, t.getResult(), r);
    }
    if (auto c = dyn_cast<vector::ContractionOp>(op))
      return set(th, c.getResult(),
                 contract(c, get(th, c.getLhs()), get(th, c.getRhs()), get(th, c.getAcc())));
    if (auto r = dyn_cast<vector::ReductionOp>(op)) {
      Val v = get(th, r.getVector());
      double acc = r.getAcc() ? scalar(th, r.getAcc()) : std::nan("");
      bool first = !r.getAcc();
      for (double x : v.e) {
        if (first) {
          acc = x;
          first = false;
          continue;
        }
        acc = combine(op, r.getKind(), acc, x, re);
      }
      return set(th, r.getResult(), of({acc}));
    }
    if (auto ev = dyn_cast<LLVM::ExtractValueOp>(op)) {
      Val &v = get(th, ev.getContainer());
      return set(th, ev.getResult(), of({v.e[ev.getPosition()[0]]}));
    }
    fail(op, "the simulator does not know this operation");
  }

  Val global(memref::GetGlobalOp g) {
    auto module = g->getParentOfType<gpu::GPUModuleOp>();
    auto decl = module.lookupSymbol<memref::GlobalOp>(g.getName());
    if (!decl)
      fail(g, "no such global");
    auto it = globals.find(decl);
    if (it == globals.end()) {
      Val v = allocate(cast<MemRefType>(g.getType()), Buffer::Private, "global");
      Buffer &b = buffers[v.buffer];
      Attribute init = decl.getInitialValueAttr();
      if (auto dense = dyn_cast_or_null<DenseElementsAttr>(init)) {
        Val c = constant(g, dense, VectorType::get({(int64_t)b.data.size()}, b.element));
        for (size_t i = 0; i < b.data.size(); ++i)
          b.data[i] = c.e[i];
      } else if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(init)) {
        // Its bytes, unless the printer elided them (--dump-ir-dir does
        // for large constants): then zeros, and the summary says so.
        AsmResourceBlob *blob = resource.getRawHandle().getBlob();
        if (!blob || !decodeElements(b.element, blob->getData(), b.data)) {
          std::fill(b.data.begin(), b.data.end(), 0.0);
          ++unknownGlobals;
        }
      } else {
        fail(g, "a global without an initial value");
      }
      std::fill(b.written.begin(), b.written.end(), 1);
      it = globals.emplace(decl, v.buffer).first;
    }
    Val v = allocateView(cast<MemRefType>(g.getType()));
    v.buffer = it->second;
    return v;
  }

  /// A one-dimensional view of all of buffer `b`.
  Val wholeBuffer(int b) {
    Val v;
    v.buffer = b;
    v.sizes = {(int64_t)buffers[b].data.size()};
    v.strides = {1};
    return v;
  }

  static Val allocateView(MemRefType type) {
    Val v;
    SmallVector<int64_t> strides;
    int64_t offset = 0;
    (void)type.getStridesAndOffset(strides, offset);
    v.offset = offset;
    v.sizes.assign(type.getShape().begin(), type.getShape().end());
    v.strides.assign(strides.begin(), strides.end());
    return v;
  }

  /// A warp-wide operation, its 32 lanes all waiting at it.
  void warpOp(Operation *op, MutableArrayRef<Thread> lanes) {
    if (auto sh = dyn_cast<gpu::ShuffleOp>(op)) {
      SmallVector<double> x;
      for (Thread &t : lanes)
        x.push_back(scalar(t, sh.getValue()));
      for (Thread &t : lanes) {
        int64_t lane = t.tid % 32, offset = index(t, sh.getOffset()), width = index(t, sh.getWidth());
        int64_t src = lane;
        switch (sh.getMode()) {
        case gpu::ShuffleMode::XOR: src = lane ^ offset; break;
        case gpu::ShuffleMode::DOWN: src = lane + offset; break;
        case gpu::ShuffleMode::UP: src = lane - offset; break;
        case gpu::ShuffleMode::IDX: src = offset; break;
        }
        int64_t segment = lane / width * width;
        bool valid = src >= segment && src < segment + width;
        set(t, sh.getShuffleResult(), of({valid ? x[src] : x[lane]}));
        set(t, sh.getValid(), of({valid ? 1.0 : 0.0}));
      }
      return;
    }
    if (auto ld = dyn_cast<nvgpu::LdMatrixOp>(op)) {
      auto vt = cast<VectorType>(ld.getRes().getType());
      Type el = vt.getElementType();
      int64_t perRow = 16 / (bitWidth(el) / 8);
      int64_t tiles = ld.getNumTiles();
      // piece[j][r][c]: row r of piece j as lane 8j + r names it.
      std::vector<std::vector<std::vector<double>>> piece(tiles);
      for (int64_t j = 0; j < tiles; ++j)
        for (int64_t r = 0; r < 8; ++r) {
          Thread &t = lanes[8 * j + r];
          Val m = get(t, ld.getSrcMemref());
          SmallVector<int64_t> at = indices(t, ld.getIndices());
          checkAligned(op, t.tid, m.buffer, address(op, m, at), 16, "an ldmatrix row");
          std::vector<double> row;
          for (int64_t c = 0; c < perRow; ++c) {
            SmallVector<int64_t> p(at);
            p.back() += c;
            row.push_back(load(op, t.tid, m, p));
          }
          piece[j].push_back(row);
        }
      for (Thread &t : lanes)
        set(t, ld.getRes(), ldmatrixLane(ld, piece, t.tid % 32));
      return;
    }
    if (auto mma = dyn_cast<NVVM::MmaOp>(op))
      return mmaSync(mma, lanes);
    if (auto l = dyn_cast<gpu::SubgroupMmaLoadMatrixOp>(op)) {
      auto ft = cast<gpu::MMAMatrixType>(l.getRes().getType());
      Thread &t0 = lanes[0];
      Val m = get(t0, l.getSrcMemref());
      SmallVector<int64_t> at = indices(t0, l.getIndices());
      for (Thread &t : lanes)
        if (indices(t, l.getIndices()) != at || get(t, l.getSrcMemref()).offset != m.offset)
          fail(op, "the lanes of a warp load different WMMA fragments");
      int64_t lead = l.getLeadDimension().getSExtValue();
      bool transposed = l.getTranspose().value_or(false);
      ArrayRef<int64_t> shape = ft.getShape();
      // Element (i, j) is lead * i + j (transposed: lead * j + i) past the
      // fragment's first element.
      int64_t start = address(op, m, at);
      checkWmma(op, t0.tid, m.buffer, start, lead);
      Val flat = wholeBuffer(m.buffer);
      Val r;
      for (int64_t i = 0; i < shape[0]; ++i)
        for (int64_t j = 0; j < shape[1]; ++j) {
          int64_t off = transposed ? j * lead + i : i * lead + j;
          r.e.push_back(roundTo(ft.getElementType(), load(op, t0.tid, flat, {start + off})));
        }
      for (Thread &t : lanes)
        set(t, l.getRes(), r);
      return;
    }
    if (auto c = dyn_cast<gpu::SubgroupMmaComputeOp>(op)) {
      auto at = cast<gpu::MMAMatrixType>(c.getOpA().getType());
      auto ct = cast<gpu::MMAMatrixType>(c.getOpC().getType());
      Val a = get(lanes[0], c.getOpA()), b = get(lanes[0], c.getOpB()), acc = get(lanes[0], c.getOpC());
      int64_t m = at.getShape()[0], k = at.getShape()[1], n = ct.getShape()[1];
      Val r = acc;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t q = 0; q < k; ++q)
            s += a.e[i * k + q] * b.e[q * n + j];
          r.e[i * n + j] = roundTo(ct.getElementType(), acc.e[i * n + j] + s);
        }
      for (Thread &t : lanes)
        set(t, c.getRes(), r);
      return;
    }
    if (auto s = dyn_cast<gpu::SubgroupMmaStoreMatrixOp>(op)) {
      auto ft = cast<gpu::MMAMatrixType>(s.getSrc().getType());
      Thread &t0 = lanes[0];
      Val m = get(t0, s.getDstMemref());
      SmallVector<int64_t> at = indices(t0, s.getIndices());
      Val x = get(t0, s.getSrc());
      int64_t lead = s.getLeadDimension().getSExtValue();
      bool transposed = s.getTranspose().value_or(false);
      int64_t start = address(op, m, at);
      checkWmma(op, t0.tid, m.buffer, start, lead);
      Val flat = wholeBuffer(m.buffer);
      ArrayRef<int64_t> shape = ft.getShape();
      for (int64_t i = 0; i < shape[0]; ++i)
        for (int64_t j = 0; j < shape[1]; ++j) {
          int64_t off = transposed ? j * lead + i : i * lead + j;
          // The warp's store, attributed to its lane 0.
          store(op, t0.tid, flat, {start + off}, x.e[i * shape[1] + j]);
        }
      return;
    }
    fail(op, "unsupported warp-wide operation");
  }

  /// A WMMA fragment load or store at element `start` of buffer `b`, rows
  /// `lead` elements apart: PTX's wmma.load and wmma.store need a 32-byte
  /// aligned start and a stride of a multiple of 16 bytes.
  void checkWmma(Operation *op, int tid, int b, int64_t start, int64_t lead) {
    checkAligned(op, tid, b, start, 32, "a WMMA fragment");
    int64_t stride = lead * std::max(1u, bitWidth(buffers[b].element) / 8);
    if (stride % 16 != 0)
      fail(op, who(tid) + ": a WMMA fragment's rows are " + Twine(stride) +
                   " bytes apart, not a multiple of 16");
  }

  /// mma.sync m16n8k16 (f16, bf16) and m16n8k8 (tf32), row.col, f32 sums:
  /// the lanes' registers gathered, the product taken (mmaSyncProduct).
  void mmaSync(NVVM::MmaOp mma, MutableArrayRef<Thread> lanes) {
    SmallVector<SmallVector<uint32_t, 4>> a, b;
    SmallVector<SmallVector<double, 4>> c;
    for (Thread &t : lanes) {
      auto words = [&](ValueRange vs) {
        SmallVector<uint32_t, 4> w;
        for (Value v : vs)
          w.push_back((uint32_t)unsignedOf(scalar(t, v), 32));
        return w;
      };
      a.push_back(words(mma.getOperandA()));
      b.push_back(words(mma.getOperandB()));
      c.emplace_back();
      for (Value v : mma.getOperandC())
        c.back().push_back(scalar(t, v));
    }
    SmallVector<SmallVector<double, 4>> d = mmaSyncProduct(mma, a, b, c);
    for (auto [lane, t] : llvm::enumerate(lanes))
      set(t, mma.getRes(), of(d[lane]));
  }
};

std::optional<std::pair<unsigned, std::string>> parseBinding(StringRef s) {
  auto [n, file] = s.split('=');
  unsigned i;
  if (file.empty() || n.getAsInteger(10, i))
    return std::nullopt;
  return std::make_pair(i, file.str());
}

void readRaw(Buffer &b, const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot read " + path);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!decodeElements(b.element, raw, b.data))
    die(path + ": " + Twine(raw.size()) + " bytes, the argument takes " +
        Twine(b.data.size() * std::max(1u, bitWidth(b.element) / 8)));
  std::fill(b.written.begin(), b.written.end(), 1);
}

void writeRaw(const Buffer &b, const std::string &path) {
  std::ofstream out(path, std::ios::binary);
  std::string raw = encodeElements(b.element, b.data);
  out.write(raw.data(), raw.size());
  if (!out)
    die("cannot write " + path);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "Runs a CUDA kernel's IR (before the NVVM lowering) on the CPU, "
                              "block by block, checking its barriers, races and bounds\n");
  DialectRegistry registry;
  weft::registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(inputFile, &ctx);
  if (!module)
    return 1;
  gpu::GPUFuncOp fn;
  module->walk([&](gpu::GPUFuncOp f) {
    if (f.getName() == kernelName)
      fn = f;
  });
  if (!fn) {
    llvm::errs() << "weft-gpu-sim: no gpu.func named " << kernelName << "\n";
    return 1;
  }
  std::optional<ArrayRef<int32_t>> known = fn.getKnownBlockSize();
  if (!known || (*known)[1] != 1 || (*known)[2] != 1) {
    llvm::errs() << "weft-gpu-sim: " << kernelName << " has no known one-dimensional block size\n";
    return 1;
  }
  int64_t blockSize = (*known)[0];
  if (gridSize == 0) {
    std::optional<ArrayRef<int32_t>> grid = fn.getKnownGridSize();
    if (!grid || (*grid)[1] != 1 || (*grid)[2] != 1)
      die(kernelName + " has no known one-dimensional grid: give --grid");
    gridSize = (*grid)[0];
  }
  Sim sim(fn, blockSize);
  MemoryProfile profile;
  if (profileOpt)
    sim.profile = &profile;
  {
    SmallVector<Val> args;
    std::map<unsigned, std::string> inputs, outputs;
    for (const std::string &s : argFiles) {
      auto b = parseBinding(s);
      if (!b)
        die("--arg takes N=FILE: " + s);
      inputs[b->first] = b->second;
    }
    for (const std::string &s : outFiles) {
      auto b = parseBinding(s);
      if (!b)
        die("--out takes N=FILE: " + s);
      outputs[b->first] = b->second;
    }
    FunctionType type = fn.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      auto m = dyn_cast<MemRefType>(type.getInput(i));
      if (!m)
        die("kernel argument " + Twine(i) + " is not a memref");
      Val v = sim.allocate(m, Buffer::Global, "argument " + std::to_string(i));
      if (inputs.count(i))
        readRaw(sim.buffers[v.buffer], inputs[i]);
      args.push_back(v);
    }
    SmallVector<int64_t> blocks;
    for (const std::string &s : blockList) {
      int64_t b;
      if (StringRef(s).getAsInteger(10, b) || b < 0 || b >= gridSize)
        die("--blocks: no block " + s + " in a grid of " + Twine(gridSize));
      blocks.push_back(b);
    }
    if (blocks.empty())
      for (int64_t b = 0; b < gridSize; ++b)
        blocks.push_back(b);
    for (int64_t b : blocks)
      sim.runBlock(b, gridSize, args);
    for (auto &[i, path] : outputs) {
      if (i >= args.size())
        die("--out: no kernel argument " + Twine(i));
      writeRaw(sim.buffers[args[i].buffer], path);
    }
    llvm::outs() << "weft-gpu-sim: " << kernelName << ": " << blocks.size() << " of " << gridSize
                 << " blocks of " << blockSize << " threads ran, " << sim.barriers
                 << " barriers, no race, no out-of-bounds access";
    if (sim.benignWrites)
      llvm::outs() << " (" << sim.benignWrites << " writes of equal values by several threads)";
    if (sim.unknownGlobals)
      llvm::outs() << "; " << sim.unknownGlobals
                   << " constant globals read as zeros (their contents were elided)";
    llvm::outs() << "\n";
    if (profileOpt)
      profile.report(llvm::outs(), profileTop);
  }
  return 0;
}
