//===- Warp.cpp - weft-gpu-sim: a block's threads and warps ---------------===//
//
// How the simulator runs one block: its threads take turns until all reach
// a barrier, which they then pass together, or a warp's 32 lanes all reach
// a warp-wide operation (shuffles, ldmatrix, mma.sync, WMMA fragments),
// which then runs for the whole warp as the PTX ISA defines it; threads
// that wait for others that never come are a deadlock.
//
//===----------------------------------------------------------------------===//
#include "tools/weft-gpu-sim/Sim.h"

#include <algorithm>

using namespace mlir;

namespace weft::gpusim {

void Sim::runBlock(int64_t block, int64_t grid, ArrayRef<Val> args) {
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

uint32_t Sim::laneMask(int64_t w) {
  int64_t n = std::min<int64_t>(32, blockSize - 32 * w);
  return n == 32 ? 0xFFFFFFFFu : (1u << n) - 1;
}

void Sim::warpOp(Operation *op, MutableArrayRef<Thread> lanes) {
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

void Sim::checkWmma(Operation *op, int tid, int b, int64_t start, int64_t lead) {
  checkAligned(op, tid, b, start, 32, "a WMMA fragment");
  int64_t stride = lead * std::max(1u, bitWidth(buffers[b].element) / 8);
  if (stride % 16 != 0)
    fail(op, who(tid) + ": a WMMA fragment's rows are " + Twine(stride) +
                 " bytes apart, not a multiple of 16");
}

void Sim::mmaSync(NVVM::MmaOp mma, MutableArrayRef<Thread> lanes) {
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

} // namespace weft::gpusim
