//===- Sim.h - weft-gpu-sim: the simulator of a block's threads -*- C++ -*-===//
//
// The state weft-gpu-sim runs a kernel in (its buffers, with the race
// bookkeeping of shared and global memory, and one block's threads) and
// the simulator that runs it: its memory accesses and asynchronous copies
// (Memory.cpp), a block's scheduling and the warp-wide operations
// (Warp.cpp), and each thread's operations (Interpreter.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_TOOLS_WEFT_GPU_SIM_SIM_H
#define WEFT_TOOLS_WEFT_GPU_SIM_SIM_H

#include "tools/weft-gpu-sim/Profile.h"
#include "tools/weft-gpu-sim/Semantics.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

#include "llvm/ADT/DenseMap.h"

#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace weft::gpusim {

/// A buffer: a kernel argument, a block's shared buffer, a thread's
/// private one, or a constant global. Elements held as doubles (integers
/// exactly up to 2^53, floats at their type's precision).
struct Buffer {
  std::string name;
  mlir::Type element;
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
  mlir::Block::iterator it;
  llvm::DenseMap<mlir::Value, Val> env;
  enum State { Running, AtBarrier, AtWarpOp, Done } state = Running;
  mlir::Operation *waiting = nullptr;
  // With --profile: how often each operation ran, and the current one's
  // count (its execution's place in the warp's requests).
  llvm::DenseMap<mlir::Operation *, int64_t> execs;
  int64_t exec = 0;
  // Asynchronous copies issued and not yet in a group, and the groups not
  // yet waited for, oldest first.
  std::vector<AsyncWrite> ungrouped;
  std::deque<std::vector<AsyncWrite>> groups;
};

/// The simulator: the module, the buffers and one block's threads.
class Sim {
public:
  Sim(mlir::gpu::GPUFuncOp fn, int64_t blockSize) : fn(fn), blockSize(blockSize) {}

  std::vector<Buffer> buffers;
  int64_t phase = 0; ///< grows at every barrier (and at each block's start)
  int64_t benignWrites = 0;
  int64_t barriers = 0; ///< barriers all of a block's threads passed
  int64_t unknownGlobals = 0; ///< constant globals whose contents were elided
  MemoryProfile *profile = nullptr; ///< with --profile

  /// Runs block `block` of `grid`, kernel arguments `args` (Warp.cpp).
  void runBlock(int64_t block, int64_t grid, llvm::ArrayRef<Val> args);

  /// A fresh, unwritten buffer of `type` in `space`, and a view of all of
  /// it (Memory.cpp).
  Val allocate(mlir::MemRefType type, Buffer::Space space, llvm::StringRef name);

private:
  mlir::gpu::GPUFuncOp fn;
  int64_t blockSize, blockId = 0, gridDim = 1;
  std::vector<Thread> threads;
  std::map<mlir::Operation *, int> globals;
  /// Typed views of byte buffers (memref.view): by (byte buffer, byte
  /// offset, element type), the buffer holding their elements.
  std::map<std::tuple<int, int64_t, const void *>, int> typedViews;

  /// memref.view of `bytes` (an i8 buffer) at `shift` bytes as `type`
  /// (Memory.cpp). Views at one offset of one element type share their
  /// elements; views at other offsets do not alias (fine for the
  /// temporaries of one thread that the scratch planner places there).
  Val typedView(mlir::Operation *op, const Val &bytes, int64_t shift, mlir::MemRefType type);

  // A thread's values.

  Val &get(Thread &th, mlir::Value v) {
    auto it = th.env.find(v);
    if (it == th.env.end())
      fail(v.getDefiningOp(),
           "thread " + llvm::Twine(th.tid) + " uses a value it never computed");
    return it->second;
  }

  double scalar(Thread &th, mlir::Value v) { return get(th, v).e[0]; }

  int64_t index(Thread &th, mlir::Value v) { return (int64_t)get(th, v).e[0]; }

  void set(Thread &th, mlir::Value v, Val x) { th.env[v] = std::move(x); }

  static Val of(llvm::ArrayRef<double> e) {
    Val v;
    v.e.assign(e.begin(), e.end());
    return v;
  }

  llvm::SmallVector<int64_t> indices(Thread &th, mlir::ValueRange vs) {
    llvm::SmallVector<int64_t> r;
    for (mlir::Value v : vs)
      r.push_back(index(th, v));
    return r;
  }

  // Memory (Memory.cpp).

  /// The flat element index of `at` in view `m`, checked against its sizes.
  int64_t address(mlir::Operation *op, const Val &m, llvm::ArrayRef<int64_t> at);

  std::string who(int t);

  /// With --profile: thread `tid`'s access of element `a` of buffer `b`
  /// (global or shared) in its current execution of `op`.
  void account(mlir::Operation *op, int tid, int b, int64_t a, bool isStore);

  /// Fails unless element `a` of buffer `b` starts a multiple of `bytes`
  /// bytes into memory, as `what` needs on a GPU (which stops the kernel
  /// with a misaligned-address error otherwise): the buffer's own start is
  /// only known to be a multiple of kBufferAlignment (global memory) or
  /// kSharedAlignment (shared) bytes.
  void checkAligned(mlir::Operation *op, int tid, int b, int64_t a, int64_t bytes,
                    llvm::StringRef what);

  double load(mlir::Operation *op, int tid, const Val &m, llvm::ArrayRef<int64_t> at);

  void store(mlir::Operation *op, int tid, const Val &m, llvm::ArrayRef<int64_t> at, double x);

  /// Writes `x` to element `a` of buffer `buffer`, checked for races.
  void storeElement(mlir::Operation *op, int tid, int buffer, int64_t a, double x);

  /// cp.async: reads its source now (global memory; zeros past
  /// `srcElements`) and writes its destination (shared memory) when a wait
  /// completes its group: until then no thread may touch those elements.
  /// Both addresses must be aligned to the copy's size.
  void asyncCopy(Thread &th, mlir::nvgpu::DeviceAsyncCopyOp c);

  Val global(mlir::memref::GetGlobalOp g);

  /// A one-dimensional view of all of buffer `b`.
  Val wholeBuffer(int b);

  static Val allocateView(mlir::MemRefType type);

  // A thread's operations (Interpreter.cpp).

  /// Runs `th` until it returns, reaches a barrier or a warp-wide
  /// operation, or has run `budget` operations.
  void run(Thread &th, int64_t budget);

  void jump(Thread &th, mlir::Block *dest, mlir::ValueRange operands);

  /// Elementwise application over the operands' elements (scalars
  /// broadcast).
  Val map(Thread &th, mlir::Operation *op,
          llvm::function_ref<double(llvm::ArrayRef<double>)> f);

  void step(Thread &th, mlir::Operation *op);

  // Warps (Warp.cpp).

  /// The lanes of warp `w` (all 32 but in a last, partial warp).
  uint32_t laneMask(int64_t w);

  /// A warp-wide operation, its 32 lanes all waiting at it.
  void warpOp(mlir::Operation *op, llvm::MutableArrayRef<Thread> lanes);

  /// A WMMA fragment load or store at element `start` of buffer `b`, rows
  /// `lead` elements apart: PTX's wmma.load and wmma.store need a 32-byte
  /// aligned start and a stride of a multiple of 16 bytes.
  void checkWmma(mlir::Operation *op, int tid, int b, int64_t start, int64_t lead);

  /// mma.sync m16n8k16 (f16, bf16) and m16n8k8 (tf32), row.col, f32 sums:
  /// the lanes' registers gathered, the product taken (mmaSyncProduct).
  void mmaSync(mlir::NVVM::MmaOp mma, llvm::MutableArrayRef<Thread> lanes);
};

} // namespace weft::gpusim

#endif // WEFT_TOOLS_WEFT_GPU_SIM_SIM_H
