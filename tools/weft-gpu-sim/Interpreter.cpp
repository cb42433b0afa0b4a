//===- Interpreter.cpp - weft-gpu-sim: what one thread runs ---------------===//
//
// The operations a thread runs by itself, one at a time: control flow,
// arithmetic (its semantics in Semantics.cpp), GPU indices, memory
// accesses, asynchronous copies and their groups, and vectors; it stops at
// barriers and at warp-wide operations, which Warp.cpp runs.
//
//===----------------------------------------------------------------------===//
#include "tools/weft-gpu-sim/Sim.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace weft::gpusim {

void Sim::run(Thread &th, int64_t budget) {
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

void Sim::jump(Thread &th, Block *dest, ValueRange operands) {
  SmallVector<Val> vals;
  for (Value v : operands)
    vals.push_back(get(th, v));
  for (auto [arg, v] : llvm::zip(dest->getArguments(), vals))
    th.env[arg] = v;
  th.it = dest->begin();
}

Val Sim::map(Thread &th, Operation *op, function_ref<double(ArrayRef<double>)> f) {
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

void Sim::step(Thread &th, Operation *op) {
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
          math::RoundEvenOp, math::TruncOp, math::PowFOp, math::FmaOp, vector::FMAOp,
          math::TanOp, math::SinhOp, math::CoshOp, math::AsinOp, math::AcosOp, math::AtanOp,
          math::Atan2Op, math::AsinhOp, math::AcoshOp, math::AtanhOp, math::CopySignOp,
          math::ErfcOp, math::CbrtOp>(op))
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
  if (auto v = dyn_cast<memref::ViewOp>(op))
    return set(th, v.getResult(), typedView(op, get(th, v.getSource()), index(th, v.getByteShift()),
                                            v.getType()));
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

} // namespace weft::gpusim
