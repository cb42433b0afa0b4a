//===- Semantics.cpp - weft-gpu-sim: what each operation computes ---------===//
//
// The arithmetic of the operations weft-gpu-sim runs, free of threads and
// memory: integer and float operations at their types' widths,
// comparisons, casts through bits, constants, the index arithmetic of
// vector transfers, and the PTX ISA's mma.sync fragments.
//
//===----------------------------------------------------------------------===//
#include "tools/weft-gpu-sim/Semantics.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace mlir;

namespace weft::gpusim {

/// Something went wrong in the kernel (or the interpreter cannot run it):
/// says so and exits with status 1.
[[noreturn]] void die(const Twine &why) {
  llvm::outs().flush();
  llvm::errs() << "weft-gpu-sim: error: " << why << "\n";
  std::exit(1);
}

/// As die, located at `op` (if any).
[[noreturn]] void fail(Operation *op, const Twine &why) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (op)
    os << op->getLoc() << ": '" << op->getName() << "': ";
  os << why;
  die(s);
}

unsigned bitWidth(Type t) {
  if (t.isIndex())
    return 64;
  return t.getIntOrFloatBitWidth();
}

/// `x` wrapped to a signless integer of `width` bits (kept sign-extended).
double wrap(int64_t x, unsigned width) {
  if (width >= 64)
    return (double)x;
  if (width == 1)
    return (double)(x & 1);
  uint64_t mask = (uint64_t(1) << width) - 1;
  uint64_t u = uint64_t(x) & mask;
  if (u >> (width - 1))
    u |= ~mask;
  return (double)(int64_t)u;
}

uint64_t unsignedOf(double x, unsigned width) {
  uint64_t u = (uint64_t)(int64_t)x;
  return width >= 64 ? u : (width == 1 ? (u & 1) : u & ((uint64_t(1) << width) - 1));
}

const llvm::fltSemantics &semantics(Type t) { return cast<FloatType>(t).getFloatSemantics(); }

/// `x` rounded to float type `t`.
double roundTo(Type t, double x) {
  if (t.isF64())
    return x;
  if (t.isF32())
    return (double)(float)x;
  llvm::APFloat f(x);
  bool lost;
  f.convert(semantics(t), llvm::APFloat::rmNearestTiesToEven, &lost);
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven, &lost);
  return f.convertToDouble();
}

uint64_t floatBits(Type t, double x) {
  llvm::APFloat f(x);
  bool lost;
  f.convert(semantics(t), llvm::APFloat::rmNearestTiesToEven, &lost);
  return f.bitcastToAPInt().getZExtValue();
}

double floatFromBits(Type t, uint64_t bits) {
  llvm::APFloat f(semantics(t), llvm::APInt(bitWidth(t), bits));
  bool lost;
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven, &lost);
  return f.convertToDouble();
}

/// The raw bits of element `x` of type `t`.
uint64_t bitsOf(Type t, double x) {
  return isa<FloatType>(t) ? floatBits(t, x) : unsignedOf(x, bitWidth(t));
}

double fromBits(Type t, uint64_t bits) {
  return isa<FloatType>(t) ? floatFromBits(t, bits) : wrap((int64_t)bits, bitWidth(t));
}

Type elementOf(Type t) {
  if (auto v = dyn_cast<VectorType>(t))
    return v.getElementType();
  if (auto m = dyn_cast<MemRefType>(t))
    return m.getElementType();
  if (auto f = dyn_cast<gpu::MMAMatrixType>(t))
    return f.getElementType();
  return t;
}

int64_t elementsOf(Type t) {
  if (auto v = dyn_cast<VectorType>(t))
    return v.getNumElements();
  return 1;
}

SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int i = (int)shape.size() - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

double intOp(Operation *op, double a, double b, unsigned w) {
  int64_t x = (int64_t)a, y = (int64_t)b;
  uint64_t ux = unsignedOf(a, w), uy = unsignedOf(b, w);
  auto nonzero = [&] {
    if (y == 0)
      fail(op, "division by zero");
  };
  if (isa<arith::AddIOp>(op))
    return wrap((int64_t)(uint64_t(x) + uint64_t(y)), w);
  if (isa<arith::SubIOp>(op))
    return wrap((int64_t)(uint64_t(x) - uint64_t(y)), w);
  if (isa<arith::MulIOp>(op))
    return wrap((int64_t)(uint64_t(x) * uint64_t(y)), w);
  if (isa<arith::DivSIOp>(op)) {
    nonzero();
    return wrap(x / y, w);
  }
  if (isa<arith::DivUIOp>(op)) {
    nonzero();
    return wrap((int64_t)(ux / uy), w);
  }
  if (isa<arith::RemSIOp>(op)) {
    nonzero();
    return wrap(x % y, w);
  }
  if (isa<arith::RemUIOp>(op)) {
    nonzero();
    return wrap((int64_t)(ux % uy), w);
  }
  if (isa<arith::FloorDivSIOp>(op)) {
    nonzero();
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) != (y < 0)))
      --q;
    return wrap(q, w);
  }
  if (isa<arith::CeilDivSIOp>(op)) {
    nonzero();
    int64_t q = x / y;
    if ((x % y != 0) && ((x < 0) == (y < 0)))
      ++q;
    return wrap(q, w);
  }
  if (isa<arith::MinSIOp>(op))
    return (double)std::min(x, y);
  if (isa<arith::MaxSIOp>(op))
    return (double)std::max(x, y);
  if (isa<arith::MinUIOp>(op))
    return wrap((int64_t)std::min(ux, uy), w);
  if (isa<arith::MaxUIOp>(op))
    return wrap((int64_t)std::max(ux, uy), w);
  if (isa<arith::AndIOp>(op))
    return wrap(x & y, w);
  if (isa<arith::OrIOp>(op))
    return wrap(x | y, w);
  if (isa<arith::XOrIOp>(op))
    return wrap(x ^ y, w);
  if (isa<arith::ShLIOp>(op))
    return uy >= w ? 0 : wrap((int64_t)(ux << uy), w);
  if (isa<arith::ShRUIOp>(op))
    return uy >= w ? 0 : wrap((int64_t)(ux >> uy), w);
  if (isa<arith::ShRSIOp>(op))
    return wrap(x >> std::min<uint64_t>(uy, 63), w);
  fail(op, "unsupported integer operation");
}

double floatOp(Operation *op, ArrayRef<double> a, Type t) {
  double r;
  if (isa<arith::AddFOp>(op))
    r = a[0] + a[1];
  else if (isa<arith::SubFOp>(op))
    r = a[0] - a[1];
  else if (isa<arith::MulFOp>(op))
    r = a[0] * a[1];
  else if (isa<arith::DivFOp>(op))
    r = a[0] / a[1];
  else if (isa<arith::RemFOp>(op))
    r = std::fmod(a[0], a[1]);
  else if (isa<arith::MaximumFOp>(op))
    r = std::isnan(a[0]) || std::isnan(a[1]) ? std::nan("") : std::max(a[0], a[1]);
  else if (isa<arith::MinimumFOp>(op))
    r = std::isnan(a[0]) || std::isnan(a[1]) ? std::nan("") : std::min(a[0], a[1]);
  else if (isa<arith::MaxNumFOp>(op))
    r = std::fmax(a[0], a[1]);
  else if (isa<arith::MinNumFOp>(op))
    r = std::fmin(a[0], a[1]);
  else if (isa<arith::NegFOp>(op))
    r = -a[0];
  else if (isa<math::AbsFOp>(op))
    r = std::fabs(a[0]);
  else if (isa<math::SqrtOp>(op))
    r = std::sqrt(a[0]);
  else if (isa<math::RsqrtOp>(op))
    r = 1 / std::sqrt(a[0]);
  else if (isa<math::ExpOp>(op))
    r = std::exp(a[0]);
  else if (isa<math::Exp2Op>(op))
    r = std::exp2(a[0]);
  else if (isa<math::ExpM1Op>(op))
    r = std::expm1(a[0]);
  else if (isa<math::LogOp>(op))
    r = std::log(a[0]);
  else if (isa<math::Log2Op>(op))
    r = std::log2(a[0]);
  else if (isa<math::Log1pOp>(op))
    r = std::log1p(a[0]);
  else if (isa<math::TanhOp>(op))
    r = std::tanh(a[0]);
  else if (isa<math::ErfOp>(op))
    r = std::erf(a[0]);
  else if (isa<math::SinOp>(op))
    r = std::sin(a[0]);
  else if (isa<math::CosOp>(op))
    r = std::cos(a[0]);
  else if (isa<math::FloorOp>(op))
    r = std::floor(a[0]);
  else if (isa<math::CeilOp>(op))
    r = std::ceil(a[0]);
  else if (isa<math::RoundOp>(op))
    r = std::round(a[0]);
  else if (isa<math::RoundEvenOp>(op))
    r = std::nearbyint(a[0]);
  else if (isa<math::TruncOp>(op))
    r = std::trunc(a[0]);
  else if (isa<math::PowFOp>(op))
    r = std::pow(a[0], a[1]);
  else if (isa<math::FmaOp, vector::FMAOp>(op))
    r = std::fma(a[0], a[1], a[2]);
  else if (isa<math::TanOp>(op))
    r = std::tan(a[0]);
  else if (isa<math::SinhOp>(op))
    r = std::sinh(a[0]);
  else if (isa<math::CoshOp>(op))
    r = std::cosh(a[0]);
  else if (isa<math::AsinOp>(op))
    r = std::asin(a[0]);
  else if (isa<math::AcosOp>(op))
    r = std::acos(a[0]);
  else if (isa<math::AtanOp>(op))
    r = std::atan(a[0]);
  else if (isa<math::Atan2Op>(op))
    r = std::atan2(a[0], a[1]);
  else if (isa<math::AsinhOp>(op))
    r = std::asinh(a[0]);
  else if (isa<math::AcoshOp>(op))
    r = std::acosh(a[0]);
  else if (isa<math::AtanhOp>(op))
    r = std::atanh(a[0]);
  else if (isa<math::CopySignOp>(op))
    r = std::copysign(a[0], a[1]);
  else if (isa<math::ErfcOp>(op))
    r = std::erfc(a[0]);
  else if (isa<math::CbrtOp>(op))
    r = std::cbrt(a[0]);
  else
    fail(op, "unsupported float operation");
  return roundTo(t, r);
}

bool compareInt(arith::CmpIPredicate p, double a, double b, unsigned w) {
  int64_t x = (int64_t)a, y = (int64_t)b;
  uint64_t ux = unsignedOf(a, w), uy = unsignedOf(b, w);
  switch (p) {
  case arith::CmpIPredicate::eq: return x == y;
  case arith::CmpIPredicate::ne: return x != y;
  case arith::CmpIPredicate::slt: return x < y;
  case arith::CmpIPredicate::sle: return x <= y;
  case arith::CmpIPredicate::sgt: return x > y;
  case arith::CmpIPredicate::sge: return x >= y;
  case arith::CmpIPredicate::ult: return ux < uy;
  case arith::CmpIPredicate::ule: return ux <= uy;
  case arith::CmpIPredicate::ugt: return ux > uy;
  case arith::CmpIPredicate::uge: return ux >= uy;
  }
  return false;
}

bool compareFloat(arith::CmpFPredicate p, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  switch (p) {
  case arith::CmpFPredicate::AlwaysFalse: return false;
  case arith::CmpFPredicate::AlwaysTrue: return true;
  case arith::CmpFPredicate::OEQ: return !unordered && a == b;
  case arith::CmpFPredicate::OGT: return !unordered && a > b;
  case arith::CmpFPredicate::OGE: return !unordered && a >= b;
  case arith::CmpFPredicate::OLT: return !unordered && a < b;
  case arith::CmpFPredicate::OLE: return !unordered && a <= b;
  case arith::CmpFPredicate::ONE: return !unordered && a != b;
  case arith::CmpFPredicate::ORD: return !unordered;
  case arith::CmpFPredicate::UEQ: return unordered || a == b;
  case arith::CmpFPredicate::UGT: return unordered || a > b;
  case arith::CmpFPredicate::UGE: return unordered || a >= b;
  case arith::CmpFPredicate::ULT: return unordered || a < b;
  case arith::CmpFPredicate::ULE: return unordered || a <= b;
  case arith::CmpFPredicate::UNE: return unordered || a != b;
  case arith::CmpFPredicate::UNO: return unordered;
  }
  return false;
}

Val constant(Operation *op, Attribute attr, Type type) {
  Val r;
  Type el = elementOf(type);
  int64_t n = elementsOf(type);
  auto one = [&](Attribute a) -> double {
    if (auto i = dyn_cast<IntegerAttr>(a))
      return el.isIndex() ? (double)i.getInt() : wrap(i.getValue().getSExtValue(), bitWidth(el));
    if (auto f = dyn_cast<FloatAttr>(a))
      return f.getValueAsDouble();
    fail(op, "unsupported constant");
  };
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat()) {
      double x = one(dense.getSplatValue<Attribute>());
      r.e.assign(n, x);
    } else {
      for (Attribute a : dense.getValues<Attribute>())
        r.e.push_back(one(a));
    }
    return r;
  }
  r.e.assign(n, one(attr));
  return r;
}

/// Bitcast of `in` (type `from`) to type `to`, through the bits of all
/// elements (the first element in the lowest bits).
Val bitcast(const Val &in, Type from, Type to) {
  Type fe = elementOf(from), te = elementOf(to);
  unsigned fw = bitWidth(fe), tw = bitWidth(te);
  std::vector<bool> bits;
  for (double x : in.e) {
    uint64_t b = bitsOf(fe, x);
    for (unsigned i = 0; i < fw; ++i)
      bits.push_back((b >> i) & 1);
  }
  Val r;
  for (size_t at = 0; at + tw <= bits.size(); at += tw) {
    uint64_t b = 0;
    for (unsigned i = 0; i < tw; ++i)
      b |= uint64_t(bits[at + i]) << i;
    r.e.push_back(fromBits(te, b));
  }
  return r;
}

/// The memref position of vector position `pos` of a transfer at
/// `base` with `map` (results: memref dims or constant 0).
SmallVector<int64_t> transferAt(AffineMap map, ArrayRef<int64_t> base, ArrayRef<int64_t> pos) {
  SmallVector<int64_t> at(base);
  for (auto [j, e] : llvm::enumerate(map.getResults()))
    if (auto d = dyn_cast<AffineDimExpr>(e))
      at[d.getPosition()] += pos[j];
  return at;
}

SmallVector<int64_t> delinearize(int64_t i, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> p(shape.size());
  for (int d = (int)shape.size() - 1; d >= 0; --d) {
    p[d] = i % shape[d];
    i /= shape[d];
  }
  return p;
}

bool inBounds(const Val &m, ArrayRef<int64_t> at) {
  for (auto [d, i] : llvm::enumerate(at))
    if (i < 0 || i >= m.sizes[d])
      return false;
  return true;
}

double combine(Operation *op, vector::CombiningKind kind, double a, double b, Type t) {
  switch (kind) {
  case vector::CombiningKind::ADD:
    return isa<FloatType>(t) ? roundTo(t, a + b) : wrap((int64_t)a + (int64_t)b, bitWidth(t));
  case vector::CombiningKind::MUL:
    return isa<FloatType>(t) ? roundTo(t, a * b) : wrap((int64_t)a * (int64_t)b, bitWidth(t));
  case vector::CombiningKind::MAXNUMF:
    return std::fmax(a, b);
  case vector::CombiningKind::MINNUMF:
    return std::fmin(a, b);
  case vector::CombiningKind::MAXIMUMF:
    return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b);
  case vector::CombiningKind::MINIMUMF:
    return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b);
  case vector::CombiningKind::MAXSI:
    return std::max(a, b);
  case vector::CombiningKind::MINSI:
    return std::min(a, b);
  default:
    fail(op, "unsupported combining kind");
  }
}

Val ldmatrixLane(nvgpu::LdMatrixOp ld, ArrayRef<std::vector<std::vector<double>>> pieces,
                 int64_t lane) {
  Type el = cast<VectorType>(ld.getRes().getType()).getElementType();
  int64_t bytes = bitWidth(el) / 8, perWord = 4 / bytes, g = lane / 4, q = lane % 4;
  if (ld.getTranspose() && bytes != 2)
    fail(ld, "ldmatrix .trans of elements other than 16-bit");
  Val r;
  for (const std::vector<std::vector<double>> &piece : pieces)
    for (int64_t e = 0; e < perWord; ++e)
      r.e.push_back(ld.getTranspose() ? piece[2 * q + e][g] : piece[g][q * perWord + e]);
  return r;
}

SmallVector<SmallVector<double, 4>> mmaSyncProduct(NVVM::MmaOp mma,
                                                   ArrayRef<SmallVector<uint32_t, 4>> aWords,
                                                   ArrayRef<SmallVector<uint32_t, 4>> bWords,
                                                   ArrayRef<SmallVector<double, 4>> cValues) {
  auto shape = mma.getShape();
  int64_t M = shape.getM(), N = shape.getN(), K = shape.getK();
  std::optional<NVVM::MMATypes> ta = mma.getMultiplicandAPtxType();
  if (M != 16 || N != 8 || !ta)
    fail(mma, "unsupported mma.sync shape");
  bool tf32 = *ta == NVVM::MMATypes::tf32;
  bool bf16 = *ta == NVVM::MMATypes::bf16;
  if (!(tf32 && K == 8) && !((bf16 || *ta == NVVM::MMATypes::f16) && K == 16))
    fail(mma, "unsupported mma.sync type and shape");
  Type half = bf16 ? (Type)BFloat16Type::get(mma.getContext())
                   : (Type)Float16Type::get(mma.getContext());
  Type f32 = Float32Type::get(mma.getContext());
  std::vector<std::vector<double>> a(16, std::vector<double>(K)), b(K, std::vector<double>(8)),
      c(16, std::vector<double>(8));
  for (int64_t lane = 0; lane < 32; ++lane) {
    int64_t g = lane / 4, q = lane % 4;
    for (auto [r, w] : llvm::enumerate(aWords[lane])) {
      if (tf32) {
        a[g + 8 * (r % 2)][q + 4 * (r / 2)] = floatFromBits(f32, w & 0xFFFFE000u);
      } else {
        int64_t row = g + 8 * (r % 2), col = 2 * q + 8 * (r / 2);
        a[row][col] = floatFromBits(half, w & 0xFFFF);
        a[row][col + 1] = floatFromBits(half, w >> 16);
      }
    }
    for (auto [r, w] : llvm::enumerate(bWords[lane])) {
      if (tf32) {
        b[q + 4 * r][g] = floatFromBits(f32, w & 0xFFFFE000u);
      } else {
        b[2 * q + 8 * r][g] = floatFromBits(half, w & 0xFFFF);
        b[2 * q + 8 * r + 1][g] = floatFromBits(half, w >> 16);
      }
    }
    for (unsigned r = 0; r < 4; ++r)
      c[g + 8 * (r / 2)][2 * q + r % 2] = cValues[lane][r];
  }
  SmallVector<SmallVector<double, 4>> d(32);
  for (int64_t lane = 0; lane < 32; ++lane) {
    int64_t g = lane / 4, q = lane % 4;
    for (unsigned e = 0; e < 4; ++e) {
      int64_t row = g + 8 * (e / 2), col = 2 * q + e % 2;
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += a[row][k] * b[k][col];
      d[lane].push_back(roundTo(f32, c[row][col] + s));
    }
  }
  return d;
}

Val contract(vector::ContractionOp c, const Val &lhs, const Val &rhs, const Val &acc) {
  if (c.getKind() != vector::CombiningKind::ADD)
    fail(c, "unsupported contraction kind");
  SmallVector<AffineMap> maps = c.getIndexingMapsArray();
  auto shapeOf = [](Type t) {
    auto v = dyn_cast<VectorType>(t);
    return v ? SmallVector<int64_t>(v.getShape()) : SmallVector<int64_t>();
  };
  SmallVector<int64_t> shapes[3] = {shapeOf(c.getLhs().getType()), shapeOf(c.getRhs().getType()),
                                    shapeOf(c.getAcc().getType())};
  // The iteration space, from the operands' shapes.
  SmallVector<int64_t> range(maps[0].getNumDims(), 1);
  for (int k = 0; k < 3; ++k)
    for (auto [i, e] : llvm::enumerate(maps[k].getResults()))
      range[cast<AffineDimExpr>(e).getPosition()] = shapes[k][i];
  auto flat = [&](int k, ArrayRef<int64_t> p) {
    int64_t at = 0;
    for (auto [i, e] : llvm::enumerate(maps[k].getResults()))
      at = at * shapes[k][i] + p[cast<AffineDimExpr>(e).getPosition()];
    return at;
  };
  Type et = elementOf(c.getAcc().getType());
  Val r = acc;
  int64_t total = 1;
  for (int64_t s : range)
    total *= s;
  for (int64_t i = 0; i < total; ++i) {
    SmallVector<int64_t> p = delinearize(i, range);
    double x = lhs.e[flat(0, p)], y = rhs.e[flat(1, p)];
    double &sum = r.e[flat(2, p)];
    sum = isa<FloatType>(et) ? roundTo(et, std::fma(x, y, sum))
                             : wrap((int64_t)sum + (int64_t)x * (int64_t)y, bitWidth(et));
  }
  return r;
}

bool decodeElements(Type element, ArrayRef<char> raw, MutableArrayRef<double> out) {
  unsigned bytes = std::max(1u, bitWidth(element) / 8);
  if (raw.size() != out.size() * bytes)
    return false;
  for (size_t i = 0; i < out.size(); ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, raw.data() + i * bytes, bytes);
    out[i] = fromBits(element, bits);
  }
  return true;
}

std::string encodeElements(Type element, ArrayRef<double> elements) {
  unsigned bytes = std::max(1u, bitWidth(element) / 8);
  std::string raw;
  for (double x : elements) {
    uint64_t bits = bitsOf(element, x);
    raw.append(reinterpret_cast<const char *>(&bits), bytes);
  }
  return raw;
}

} // namespace weft::gpusim
