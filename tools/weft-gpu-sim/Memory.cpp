//===- Memory.cpp - weft-gpu-sim: buffers, races and async copies ---------===//
//
// The simulator's memory: buffers and views of them, every load and store
// checked against the buffer's bounds and its race bookkeeping (shared and
// global memory, since the last barrier and between blocks), the
// asynchronous copies still to write shared memory, the alignment a GPU
// needs of an address, constant globals, and the accesses --profile counts.
//
//===----------------------------------------------------------------------===//
#include "tools/weft-gpu-sim/Sim.h"

#include "codegen/cuda/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace weft::gpusim {

Val Sim::allocate(MemRefType type, Buffer::Space space, StringRef name) {
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

int64_t Sim::address(Operation *op, const Val &m, ArrayRef<int64_t> at) {
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

std::string Sim::who(int t) { return "thread " + std::to_string(t); }

void Sim::account(Operation *op, int tid, int b, int64_t a, bool isStore) {
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

void Sim::checkAligned(Operation *op, int tid, int b, int64_t a, int64_t bytes, StringRef what) {
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

double Sim::load(Operation *op, int tid, const Val &m, ArrayRef<int64_t> at) {
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

void Sim::store(Operation *op, int tid, const Val &m, ArrayRef<int64_t> at, double x) {
  int64_t a = address(op, m, at);
  account(op, tid, m.buffer, a, true);
  storeElement(op, tid, m.buffer, a, x);
}

void Sim::storeElement(Operation *op, int tid, int buffer, int64_t a, double x) {
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

void Sim::asyncCopy(Thread &th, nvgpu::DeviceAsyncCopyOp c) {
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

Val Sim::global(memref::GetGlobalOp g) {
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

Val Sim::wholeBuffer(int b) {
  Val v;
  v.buffer = b;
  v.sizes = {(int64_t)buffers[b].data.size()};
  v.strides = {1};
  return v;
}

Val Sim::typedView(Operation *op, const Val &bytes, int64_t shift, MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    fail(op, "a view of dynamic shape or with a layout");
  const Buffer &source = buffers[bytes.buffer];
  unsigned width = bitWidth(type.getElementType()) / 8;
  int64_t start = bytes.offset + shift, total = (int64_t)source.data.size();
  if (bitWidth(source.element) != 8 || width == 0)
    fail(op, "a view of a buffer that does not hold bytes");
  if (shift < 0 || start + type.getNumElements() * (int64_t)width > total)
    fail(op, "a view of " + Twine(type.getNumElements() * (int64_t)width) + " bytes at byte " +
                 Twine(start) + " of a buffer of " + Twine(total));
  auto key = std::make_tuple(bytes.buffer, start, type.getElementType().getAsOpaquePointer());
  auto it = typedViews.find(key);
  int id;
  if (it != typedViews.end()) {
    id = it->second;
  } else {
    auto flat = MemRefType::get({(total - start) / (int64_t)width}, type.getElementType());
    id = allocate(flat, source.space, source.name + " (typed view)").buffer;
    typedViews[key] = id;
  }
  Val v = allocateView(type);
  v.buffer = id;
  return v;
}

Val Sim::allocateView(MemRefType type) {
  Val v;
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  (void)type.getStridesAndOffset(strides, offset);
  v.offset = offset;
  v.sizes.assign(type.getShape().begin(), type.getShape().end());
  v.strides.assign(strides.begin(), strides.end());
  return v;
}

} // namespace weft::gpusim
