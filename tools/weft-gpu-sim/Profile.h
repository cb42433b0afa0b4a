//===- Profile.h - weft-gpu-sim: memory accesses as a warp issues them -*- C++ -*-===//
//
// What a kernel's memory accesses cost as the GPU's memory system counts
// them, from the addresses the simulated threads use: the accesses of one
// operation's k-th execution by the lanes of one warp form one request,
// made of instructions as the code generator would emit them: where each
// lane's elements are contiguous, one access per lane of their size (4,
// 8 or 16 bytes; larger ones one instruction per 16 bytes), else one
// instruction per element.
//
//   * Global memory: the 32-byte sectors an instruction touches, against
//     the fewest that could hold the bytes it asks for (every kernel
//     argument taken to start on a 256-byte boundary; what the L1 cache
//     would catch of a sector another instruction fetched is not counted).
//   * Shared memory: the wavefronts an instruction takes (a cp.async's
//     write counted as a store of its own). It is served
//     128 bytes at a time: lanes of 4-byte (or narrower) accesses 32 at a
//     time, of 8-byte 16 at a time, of 16-byte 8 at a time (ldmatrix rows
//     too); within such a group the wavefronts are the most distinct
//     4-byte words that fall on one of the 32 banks (lanes reading the
//     same word share it). Every shared buffer is taken to start on bank 0.
//
// WMMA fragment loads and stores (the warp's layout is the hardware's own)
// are not counted.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_TOOLS_WEFT_GPU_SIM_PROFILE_H
#define WEFT_TOOLS_WEFT_GPU_SIM_PROFILE_H

#include "mlir/IR/Operation.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <tuple>
#include <vector>

namespace weft::gpusim {

class MemoryProfile {
public:
  enum Kind { GlobalLoad, GlobalStore, SharedLoad, SharedStore, NumKinds };

  /// Element access of `bytes` at byte `byte` of buffer `buffer` by `lane`
  /// of `warp`, part of that lane's `exec`-th execution of `op`.
  void record(mlir::Operation *op, Kind kind, int warp, int lane, int64_t exec, int buffer,
              int64_t byte, unsigned bytes);
  /// `lane` finished its `exec`-th execution of `op`; the request closes
  /// once every lane of `laneMask` has.
  void finish(mlir::Operation *op, int warp, int lane, int64_t exec, uint32_t laneMask);
  /// Closes every open request (the lanes that did not take part were
  /// inactive: a divergent branch).
  void flush();
  /// Totals per kind and the `top` operations that cost the most beyond
  /// their ideal.
  void report(llvm::raw_ostream &os, int top) const;

private:
  struct Access {
    int lane, buffer;
    int64_t byte;
    unsigned bytes;
  };
  struct Request {
    Kind kind;
    uint32_t lanes = 0;
    std::vector<Access> accesses;
  };
  struct Stats {
    int64_t requests = 0, units = 0, ideal = 0;
  };
  /// An operation's execution by a warp makes one request per kind of
  /// access (a cp.async: a global load and a shared store).
  using Key = std::tuple<mlir::Operation *, int, int64_t, int>;

  void close(mlir::Operation *op, Request &r);

  std::map<Key, Request> open;
  std::map<std::pair<mlir::Operation *, int>, Stats> perOp;
  Stats totals[NumKinds];
};

} // namespace weft::gpusim

#endif // WEFT_TOOLS_WEFT_GPU_SIM_PROFILE_H
