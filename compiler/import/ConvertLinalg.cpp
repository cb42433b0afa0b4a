//===- ConvertLinalg.cpp - ONNX Einsum, Det, AffineGrid -> weft ------------===//
//
// Linear algebra expressed with weft's matmuls, transposes, reductions and
// elementwise products: Einsum as pairwise batched matmuls, Det by cofactor
// expansion, AffineGrid as a constant base grid times theta^T.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/APFloat.h"

#include <cctype>
#include <map>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

// AffineGrid: the sampling grid of an affine transform. The normalized
// base coordinates (x along W, y along H, z along D, then 1) are a
// compile-time constant [1, P, k+1]; the grid is that times theta^T, one
// batched matmul, reshaped to [N, (D,) H, W, k].
LogicalResult convertAffineGrid(ImportContext &ctx, const Node &node, int64_t) {
  auto theta = ctx.input(node, 0);
  if (failed(theta))
    return failure();
  auto size = ctx.constantInts(node, 1, "size");
  if (failed(size))
    return failure();
  auto tt = ImportContext::typeOf(*theta);
  Type elt = tt.getElementType();
  if (!isa<FloatType>(elt))
    return ctx.fail("theta must be a floating-point tensor");
  int64_t k = (int64_t)size->size() - 2;
  if (k != 2 && k != 3)
    return ctx.fail("size must have 4 (N, C, H, W) or 5 (N, C, D, H, W) elements, got " +
                    Twine(size->size()));
  int64_t n = (*size)[0];
  if (tt.getShape() != ArrayRef<int64_t>{n, k, k + 1})
    return ctx.fail("theta must have shape [" + Twine(n) + ", " + Twine(k) + ", " + Twine(k + 1) +
                    "] for this size");
  SmallVector<int64_t> spatial(size->begin() + 2, size->end()); // (D,) H, W
  int64_t points = 1;
  for (int64_t d : spatial) {
    if (d < 0)
      return ctx.fail("size has a negative dimension");
    points *= d;
  }
  if (points > ((int64_t)1 << 22))
    return ctx.fail("the grid is too large to build its base at compile time");
  bool align = ctx.getInt(node, "align_corners", 0) != 0;
  auto coord = [&](int64_t i, int64_t s) -> double {
    // A dimension of size 1 with align_corners has no defined spacing:
    // onnxruntime places its one point at +1 (the ONNX reference at -1).
    if (align)
      return s == 1 ? 1.0 : -1.0 + 2.0 * (double)i / (double)(s - 1);
    return (2.0 * (double)i + 1.0) / (double)s - 1.0;
  };
  SmallVector<APFloat> base;
  auto ft = cast<FloatType>(elt);
  auto push = [&](double v) {
    APFloat f(v);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    base.push_back(f);
  };
  SmallVector<int64_t> idx(spatial.size(), 0);
  for (int64_t p = 0; p < points; ++p) {
    // Components in x, y(, z) order: the last spatial dim first.
    for (int64_t d = (int64_t)spatial.size() - 1; d >= 0; --d)
      push(coord(idx[d], spatial[d]));
    push(1.0);
    for (int64_t d = (int64_t)spatial.size() - 1; d >= 0; --d) {
      if (++idx[d] < spatial[d])
        break;
      idx[d] = 0;
    }
  }
  auto baseType = RankedTensorType::get({1, points, k + 1}, elt);
  Value baseValue = ctx.constant(DenseElementsAttr::get(baseType, base));
  auto thetaT = ctx.createInferred<TransposeOp>(*theta, ArrayRef<int64_t>{0, 2, 1});
  if (failed(thetaT))
    return failure();
  auto grid = ctx.createInferred<MatMulOp>(baseValue, *thetaT);
  if (failed(grid))
    return failure();
  SmallVector<int64_t> shape{n};
  llvm::append_range(shape, spatial);
  shape.push_back(k);
  auto out = ctx.reshape(*grid, shape);
  if (failed(out))
    return failure();
  ctx.setOutput(node, 0, *out);
  return success();
}

// Einsum. Each operand first loses its repeated labels (a diagonal: times
// an identity mask, summed over the second occurrence) and the labels no
// one else uses (summed). Operands then combine left to right, two at a
// time, as one batched matmul: [batch, left, contracted] x [batch,
// contracted, right], labels shared with the output or a later operand
// being batch labels. The result is transposed to the output's order. An
// ellipsis stands for the same leading dimensions in every operand.
struct Labeled {
  Value value;
  std::string labels; // one char per dimension
};

LogicalResult convertEinsum(ImportContext &ctx, const Node &node, int64_t) {
  std::string eq;
  for (char ch : ctx.getString(node, "equation", ""))
    if (ch != ' ')
      eq += ch;
  if (eq.empty())
    return ctx.fail("missing attribute 'equation'");
  std::string lhs = eq, rhs;
  bool explicitOut = false;
  if (size_t arrow = eq.find("->"); arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
    explicitOut = true;
  }
  SmallVector<std::string> terms;
  {
    SmallVector<StringRef> parts;
    StringRef(lhs).split(parts, ',');
    for (StringRef t : parts)
      terms.push_back(t.str());
  }
  if ((int)terms.size() != node.input_size())
    return ctx.fail("the equation has " + Twine(terms.size()) + " operands, the node " +
                    Twine(node.input_size()) + " inputs");
  // Ellipses become the labels 0..9 (not letters), one per dimension.
  SmallVector<Labeled> ops;
  int64_t ellipsisRank = -1;
  Type elt;
  for (auto [i, term] : llvm::enumerate(terms)) {
    auto v = ctx.input(node, i);
    if (failed(v))
      return failure();
    auto t = ImportContext::typeOf(*v);
    if (!elt)
      elt = t.getElementType();
    else if (elt != t.getElementType())
      return ctx.fail("operands must have one element type");
    std::string labels;
    size_t dots = term.find("...");
    int64_t named = (int64_t)term.size() - (dots == std::string::npos ? 0 : 3);
    if (dots != std::string::npos) {
      int64_t e = t.getRank() - named;
      if (e < 0 || (ellipsisRank >= 0 && e != ellipsisRank) || e > 10)
        return ctx.fail("the ellipsis must cover the same number of leading dimensions in "
                        "every operand");
      ellipsisRank = e;
      labels = term.substr(0, dots);
      for (int64_t k = 0; k < e; ++k)
        labels += (char)('0' + k);
      labels += term.substr(dots + 3);
    } else {
      labels = term;
      if ((int64_t)labels.size() != t.getRank())
        return ctx.fail("operand " + Twine(i) + " has rank " + Twine(t.getRank()) + " but '" +
                        term + "' names " + Twine(labels.size()) + " dimensions");
    }
    for (char ch : labels)
      if (!std::isalpha((unsigned char)ch) && !std::isdigit((unsigned char)ch))
        return ctx.fail("invalid label '" + std::string(1, ch) + "' in the equation");
    ops.push_back({*v, labels});
  }
  if (ellipsisRank < 0)
    ellipsisRank = 0;
  std::string out;
  if (explicitOut) {
    size_t dots = rhs.find("...");
    out = dots == std::string::npos ? rhs : rhs.substr(0, dots);
    if (dots != std::string::npos) {
      for (int64_t k = 0; k < ellipsisRank; ++k)
        out += (char)('0' + k);
      out += rhs.substr(dots + 3);
    }
  } else {
    // Implicit output: the ellipsis, then the labels used once, sorted.
    std::map<char, int> count;
    for (auto &o : ops)
      for (char ch : o.labels)
        count[ch]++;
    for (int64_t k = 0; k < ellipsisRank; ++k)
      out += (char)('0' + k);
    for (auto [ch, n] : count)
      if (n == 1 && std::isalpha((unsigned char)ch))
        out += ch;
  }
  // Sizes per label must agree.
  std::map<char, int64_t> size;
  for (auto &o : ops)
    for (auto [k, ch] : llvm::enumerate(o.labels)) {
      int64_t d = ImportContext::typeOf(o.value).getShape()[k];
      auto [it, inserted] = size.try_emplace(ch, d);
      if (!inserted && it->second != d)
        return ctx.fail("label '" + std::string(1, std::isdigit((unsigned char)ch) ? '.' : ch) +
                        "' has sizes " + Twine(it->second) + " and " + Twine(d));
    }
  for (char ch : out)
    if (!size.count(ch))
      return ctx.fail("output label '" + std::string(1, ch) + "' is not in any operand");

  auto transpose = [&](Labeled &o, const std::string &order) -> LogicalResult {
    if (order == o.labels)
      return success();
    SmallVector<int64_t> perm;
    for (char ch : order)
      perm.push_back((int64_t)o.labels.find(ch));
    auto t = ctx.createInferred<TransposeOp>(o.value, ArrayRef<int64_t>(perm));
    if (failed(t))
      return failure();
    o = {*t, order};
    return success();
  };
  auto reduceSum = [&](Labeled &o, const std::string &drop) -> LogicalResult {
    if (drop.empty())
      return success();
    SmallVector<int64_t> axes;
    std::string kept;
    for (auto [k, ch] : llvm::enumerate(o.labels)) {
      if (drop.find(ch) != std::string::npos)
        axes.push_back(k);
      else
        kept += ch;
    }
    auto r = ctx.createInferred<ReduceOp>(ReduceKind::sum, o.value, ArrayRef<int64_t>(axes), false);
    if (failed(r))
      return failure();
    o = {*r, kept};
    return success();
  };
  // Labels still needed after operand i: the output's and later operands'.
  auto neededAfter = [&](size_t i) {
    std::string need = out;
    for (size_t j = i + 1; j < ops.size(); ++j)
      need += ops[j].labels;
    return need;
  };
  // Diagonals, then labels only this operand has.
  for (auto [i, o] : llvm::enumerate(ops)) {
    for (size_t k = 0; k < o.labels.size(); ++k) {
      size_t again = o.labels.find(o.labels[k], k + 1);
      if (again == std::string::npos)
        continue;
      int64_t n = size[o.labels[k]];
      SmallVector<int64_t> maskShape(o.labels.size(), 1);
      maskShape[k] = n;
      maskShape[again] = n;
      SmallVector<Attribute> ones;
      Attribute one, zero;
      if (auto ft = dyn_cast<FloatType>(elt)) {
        one = FloatAttr::get(ft, 1.0);
        zero = FloatAttr::get(ft, 0.0);
      } else if (elt.isInteger(1)) {
        return ctx.fail("a repeated label on a bool operand is not supported");
      } else {
        one = IntegerAttr::get(elt, 1);
        zero = IntegerAttr::get(elt, 0);
      }
      for (int64_t a = 0; a < n; ++a)
        for (int64_t b = 0; b < n; ++b)
          ones.push_back(a == b ? one : zero);
      Value mask = ctx.constant(
          DenseElementsAttr::get(RankedTensorType::get(maskShape, elt), ones));
      auto masked = ctx.createInferred<MulOp>(o.value, mask);
      if (failed(masked))
        return failure();
      auto r = ctx.createInferred<ReduceOp>(ReduceKind::sum, *masked,
                                            ArrayRef<int64_t>{(int64_t)again}, false);
      if (failed(r))
        return failure();
      o.labels.erase(again, 1);
      o.value = *r;
      --k;
    }
    std::string others = out;
    for (size_t j = 0; j < ops.size(); ++j)
      if (j != i)
        others += ops[j].labels;
    std::string drop;
    for (char ch : o.labels)
      if (others.find(ch) == std::string::npos)
        drop += ch;
    if (failed(reduceSum(o, drop)))
      return failure();
  }
  Labeled acc = ops[0];
  for (size_t i = 1; i < ops.size(); ++i) {
    Labeled b = ops[i];
    std::string need = neededAfter(i);
    std::string batch, left, right, contracted;
    for (char ch : acc.labels) {
      bool inB = b.labels.find(ch) != std::string::npos;
      bool kept = need.find(ch) != std::string::npos;
      (inB ? (kept ? batch : contracted) : left) += ch;
    }
    for (char ch : b.labels)
      if (acc.labels.find(ch) == std::string::npos)
        right += ch;
    // A left or right label no longer needed is summed first.
    std::string dropA, dropB;
    for (char ch : left)
      if (need.find(ch) == std::string::npos)
        dropA += ch;
    for (char ch : right)
      if (need.find(ch) == std::string::npos)
        dropB += ch;
    if (failed(reduceSum(acc, dropA)) || failed(reduceSum(b, dropB)))
      return failure();
    auto strip = [](std::string s, const std::string &drop) {
      std::string r;
      for (char ch : s)
        if (drop.find(ch) == std::string::npos)
          r += ch;
      return r;
    };
    left = strip(left, dropA);
    right = strip(right, dropB);
    if (failed(transpose(acc, batch + left + contracted)) ||
        failed(transpose(b, batch + contracted + right)))
      return failure();
    auto prod = [&](const std::string &ls) {
      int64_t p = 1;
      for (char ch : ls)
        p *= size[ch];
      return p;
    };
    int64_t nb = prod(batch), nl = prod(left), nk = prod(contracted), nr = prod(right);
    auto a3 = ctx.reshape(acc.value, {nb, nl, nk});
    auto b3 = ctx.reshape(b.value, {nb, nk, nr});
    if (failed(a3) || failed(b3))
      return failure();
    auto mm = ctx.createInferred<MatMulOp>(*a3, *b3);
    if (failed(mm))
      return failure();
    std::string labels = batch + left + right;
    SmallVector<int64_t> shape;
    for (char ch : labels)
      shape.push_back(size[ch]);
    auto shaped = ctx.reshape(*mm, shape);
    if (failed(shaped))
      return failure();
    acc = {*shaped, labels};
  }
  // Labels the output drops (a single operand's sum over them).
  std::string drop;
  for (char ch : acc.labels)
    if (out.find(ch) == std::string::npos)
      drop += ch;
  if (failed(reduceSum(acc, drop)))
    return failure();
  if (acc.labels.size() != out.size())
    return ctx.fail("the output repeats a label");
  if (failed(transpose(acc, out)))
    return failure();
  ctx.setOutput(node, 0, acc.value);
  return success();
}

/// Largest matrix Det factors (n - 1 elimination steps, unrolled).
constexpr int64_t kMaxDetSize = 64;

// Det of [B, n, n] matrices (n >= 2) by Gaussian elimination with partial
// pivoting, unrolled over the n - 1 columns: each step brings the row with
// the largest magnitude in the column up (a run-time row permutation per
// matrix, which flips the sign when it moves a row) and subtracts its
// multiples from the rows below. A zero pivot makes the step's factors 0,
// so a singular matrix's determinant is 0, not NaN. The result is the sign
// times the product of the diagonal.
FailureOr<Value> detByElimination(ImportContext &ctx, Value m) {
  auto type = ImportContext::typeOf(m);
  Type elt = type.getElementType();
  int64_t b = type.getShape()[0], n = type.getShape()[1];
  Type i64 = IntegerType::get(ctx.getContext(), 64), i1 = IntegerType::get(ctx.getContext(), 1);
  auto scalar = [&](double v) { return ctx.splat(RankedTensorType::get({}, elt), v); };
  auto index = [&](double v) { return ctx.splat(RankedTensorType::get({}, i64), v); };
  SmallVector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i)
    rows.push_back(i);
  Value iota = ctx.constant(
      DenseElementsAttr::get(RankedTensorType::get({1, n}, i64), ArrayRef<int64_t>(rows)));
  Value columns = ctx.splat(RankedTensorType::get({1, 1, n}, i64), 0.0);
  Value sign = ctx.splat(RankedTensorType::get({b, 1, 1}, elt), 1.0);
  auto slice3 = [&](Value v, ArrayRef<int64_t> starts, ArrayRef<int64_t> sizes) {
    return ctx.createInferred<SliceOp>(v, starts, sizes, ArrayRef<int64_t>{1, 1, 1});
  };
  for (int64_t k = 0; k + 1 < n; ++k) {
    // The pivot row r >= k: the first largest magnitude in column k.
    WEFT_TRY(column, slice3(m, {0, k, k}, {b, n - k, 1}));
    WEFT_TRY(flat, ctx.reshape(column, {b, n - k}));
    WEFT_TRY(best, ctx.createInferred<ArgMaxOp>(ctx.create<AbsOp>(flat), (int64_t)1, false));
    WEFT_TRY(shifted, ctx.createInferred<AddOp>(best, index((double)k)));
    WEFT_TRY(pivotRow, ctx.reshape(shifted, {b, 1}));
    // Row i of the permuted matrix reads row perm(i): k <-> r.
    SmallVector<bool> isK(n, false);
    isK[k] = true;
    Value atK = ctx.constant(
        DenseElementsAttr::get(RankedTensorType::get({1, n}, i1), ArrayRef<bool>(isK)));
    WEFT_TRY(atR, ctx.createInferred<CompareOp>(CompareKind::eq, iota, pivotRow));
    WEFT_TRY(otherwise, ctx.createInferred<WhereOp>(atR, index((double)k), iota));
    WEFT_TRY(perm, ctx.createInferred<WhereOp>(atK, pivotRow, otherwise));
    WEFT_TRY(permRows, ctx.reshape(perm, {b, n, 1}));
    WEFT_TRY(permIndex, ctx.createInferred<AddOp>(permRows, columns));
    WEFT_TRY(swapped, ctx.createInferred<GatherElementsOp>(m, permIndex, (int64_t)1));
    WEFT_TRY(stays, ctx.createInferred<CompareOp>(CompareKind::eq, pivotRow, index((double)k)));
    WEFT_TRY(staysView, ctx.reshape(stays, {b, 1, 1}));
    WEFT_TRY(flipped, ctx.createInferred<MulOp>(sign, scalar(-1.0)));
    WEFT_TRY(newSign, ctx.createInferred<WhereOp>(staysView, sign, flipped));
    sign = newSign;
    // Eliminate below the pivot.
    WEFT_TRY(pivot, slice3(swapped, {0, k, k}, {b, 1, 1}));
    WEFT_TRY(pivotRowValues, slice3(swapped, {0, k, 0}, {b, 1, n}));
    WEFT_TRY(below, slice3(swapped, {0, 0, k}, {b, n, 1}));
    WEFT_TRY(ratio, ctx.createInferred<DivOp>(below, pivot));
    WEFT_TRY(zeroPivot, ctx.createInferred<CompareOp>(CompareKind::eq, pivot, scalar(0.0)));
    WEFT_TRY(safeRatio, ctx.createInferred<WhereOp>(zeroPivot, scalar(0.0), ratio));
    SmallVector<Attribute> lower;
    for (int64_t i = 0; i < n; ++i)
      lower.push_back(FloatAttr::get(elt, i > k ? 1.0 : 0.0));
    Value lowerMask = ctx.constant(DenseElementsAttr::get(RankedTensorType::get({1, n, 1}, elt),
                                                          lower));
    WEFT_TRY(factor, ctx.createInferred<MulOp>(safeRatio, lowerMask));
    WEFT_TRY(update, ctx.createInferred<MulOp>(factor, pivotRowValues));
    WEFT_TRY(reduced, ctx.createInferred<SubOp>(swapped, update));
    m = reduced;
  }
  // The diagonal: entries where row == column, summed along the rows.
  SmallVector<Attribute> eye;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      eye.push_back(FloatAttr::get(elt, i == j ? 1.0 : 0.0));
  Value identity =
      ctx.constant(DenseElementsAttr::get(RankedTensorType::get({1, n, n}, elt), eye));
  WEFT_TRY(masked, ctx.createInferred<MulOp>(m, identity));
  WEFT_TRY(diagonal, ctx.createInferred<ReduceOp>(ReduceKind::sum, masked,
                                                  ArrayRef<int64_t>{2}, false));
  WEFT_TRY(product, ctx.createInferred<ReduceOp>(ReduceKind::prod, diagonal,
                                                 ArrayRef<int64_t>{1}, false));
  WEFT_TRY(signs, ctx.reshape(sign, {b}));
  return ctx.createInferred<MulOp>(product, signs);
}

// Det of [*, n, n] matrices: n <= 3 by cofactor expansion over elementwise
// products of the entries (each a slice of the batch), larger ones by
// elimination (above).
LogicalResult convertDet(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  if (failed(x))
    return failure();
  auto type = ImportContext::typeOf(*x);
  int64_t rank = type.getRank();
  if (rank < 2 || !isa<FloatType>(type.getElementType()))
    return ctx.fail("expects floating-point [*, n, n] matrices");
  int64_t n = type.getShape()[rank - 1];
  if (type.getShape()[rank - 2] != n)
    return ctx.fail("expects square matrices, got " + Twine(type.getShape()[rank - 2]) + " x " +
                    Twine(n));
  if (n < 1 || n > kMaxDetSize)
    return ctx.fail("matrices from 1x1 to " + Twine(kMaxDetSize) + "x" + Twine(kMaxDetSize) +
                    " are supported, got " + Twine(n) + "x" + Twine(n));
  SmallVector<int64_t> batch(type.getShape().drop_back(2));
  if (n > 3) {
    int64_t count = 1;
    for (int64_t d : batch)
      count *= d;
    WEFT_TRY(matrices, ctx.reshape(*x, {count, n, n}));
    WEFT_TRY(det, detByElimination(ctx, matrices));
    WEFT_TRY(shaped, ctx.reshape(det, batch));
    ctx.setOutput(node, 0, shaped);
    return success();
  }
  // Entry (i, j) of every matrix, shaped like the batch.
  auto entry = [&](int64_t i, int64_t j) -> FailureOr<Value> {
    SmallVector<int64_t> starts(rank, 0), sizes(type.getShape()), steps(rank, 1);
    starts[rank - 2] = i;
    starts[rank - 1] = j;
    sizes[rank - 2] = sizes[rank - 1] = 1;
    auto e = ctx.createInferred<SliceOp>(*x, ArrayRef<int64_t>(starts), ArrayRef<int64_t>(sizes),
                                         ArrayRef<int64_t>(steps));
    if (failed(e))
      return failure();
    return ctx.reshape(*e, batch);
  };
  using FV = FailureOr<Value>;
  auto mul = [&](FV a, FV b) -> FV {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<MulOp>(*a, *b);
  };
  auto sub = [&](FV a, FV b) -> FV {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<SubOp>(*a, *b);
  };
  auto add = [&](FV a, FV b) -> FV {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<AddOp>(*a, *b);
  };
  auto minor = [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    return sub(mul(entry(r0, c0), entry(r1, c1)), mul(entry(r0, c1), entry(r1, c0)));
  };
  FV det = failure();
  if (n == 1)
    det = entry(0, 0);
  else if (n == 2)
    det = minor(0, 1, 0, 1);
  else
    det = add(sub(mul(entry(0, 0), minor(1, 2, 1, 2)), mul(entry(0, 1), minor(1, 2, 0, 2))),
              mul(entry(0, 2), minor(1, 2, 0, 1)));
  if (failed(det))
    return failure();
  ctx.setOutput(node, 0, *det);
  return success();
}

} // namespace

void weft::registerLinalgConverters(ConverterTable &t) {
  t["AffineGrid"] = convertAffineGrid;
  t["Einsum"] = convertEinsum;
  t["Det"] = convertDet;
}
