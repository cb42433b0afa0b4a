//===- PartitionCollectives.cpp - the ops a split plan inserts -----------===//
//
// The ops the Partitioner adds to the entry function for its rules'
// decisions: a weight's parts, stacked on a new leading axis and read
// through shard.all_slice so that each device reads only its own; a value
// gathered whole from the devices' parts (shard.all_gather); and the sum
// of the devices' partial results (shard.all_reduce). Each collective is
// recorded with its bytes for the cost model.
//
//===----------------------------------------------------------------------===//
#include "passes/PartitionDetail.h"

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;
using namespace weft;

namespace weft::detail {

bool Partitioner::setPart(Operation *op, unsigned i, ConstantOp c, int64_t axis) {
  auto key = std::make_pair(c.getOperation(), axis);
  if (Value part = parts.lookup(key)) {
    op->setOperand(i, part);
    return true;
  }
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  auto type = cast<RankedTensorType>(c.getType());
  unsigned bits = type.getElementTypeBitWidth();
  if (!dense || bits % 8 != 0 || (axis >= 0 && type.getShape()[axis] % devices != 0))
    return false;
  size_t elem = bits / 8;
  SmallVector<int64_t> local(type.getShape());
  if (axis >= 0)
    local[axis] /= devices;
  SmallVector<int64_t> stackedShape = {devices};
  stackedShape.append(local);
  auto stackedType = RankedTensorType::get(stackedShape, type.getElementType());
  DenseElementsAttr stacked;
  if (dense.isSplat() && axis >= 0) {
    stacked = dense.resizeSplat(stackedType);
  } else {
    // Part r of every block of the whole constant, parts one after the other.
    ArrayRef<char> raw = dense.getRawData();
    size_t count = (size_t)type.getNumElements();
    std::vector<char> whole(count * elem);
    for (size_t e = 0; e < count; ++e)
      std::memcpy(&whole[e * elem], &raw[dense.isSplat() ? 0 : e * elem], elem);
    std::vector<char> bytes((size_t)devices * count * elem / (axis >= 0 ? devices : 1), 0);
    if (axis < 0) {
      std::memcpy(bytes.data(), whole.data(), whole.size());
    } else {
      size_t outer = 1, inner = elem;
      for (int64_t d = 0; d < axis; ++d)
        outer *= type.getShape()[d];
      for (int64_t d = axis + 1; d < type.getRank(); ++d)
        inner *= type.getShape()[d];
      size_t block = inner * local[axis], stride = inner * type.getShape()[axis];
      for (int64_t r = 0; r < devices; ++r)
        for (size_t o = 0; o < outer; ++o)
          std::memcpy(&bytes[(r * outer + o) * block], &whole[o * stride + r * block], block);
    }
    stacked = DenseElementsAttr::getFromRawBuffer(stackedType, ArrayRef<char>(bytes));
  }
  b.setInsertionPoint(op);
  Location loc = c.getLoc();
  auto s = ConstantOp::create(b, loc, stackedType, stacked);
  auto slice = shard::AllSliceOp::create(b, loc, stackedType, "devices", ArrayRef<int16_t>{gridAxis},
                                         s, APInt(64, 0));
  auto part = ReshapeOp::create(b, loc, type, slice);
  split[slice] = 0;
  split[part] = axis;
  partedWeightBytes += bytesOf(stackedType);
  parts[key] = part;
  op->setOperand(i, part);
  return true;
}

Value Partitioner::gatherWhole(Value v, Operation *before) {
  if (Value g = gathered.lookup(v))
    return g;
  int64_t a = splitOf(v);
  auto type = cast<RankedTensorType>(v.getType());
  ArrayRef<int64_t> shape = type.getShape();
  b.setInsertionPoint(before);
  Location loc = before->getLoc();
  Value whole;
  if (llvm::all_of(shape.take_front(a), [](int64_t d) { return d == 1; })) {
    // The parts are contiguous: gather straight into place.
    whole = shard::AllGatherOp::create(b, loc, type, "devices", ArrayRef<int16_t>{gridAxis}, v,
                                       APInt(64, a));
  } else {
    // Gather the parts one after the other, then move them into place.
    SmallVector<int64_t> local(shape);
    local[a] /= devices;
    SmallVector<int64_t> stackedShape = {devices};
    stackedShape.append(local);
    auto stackedType = type.clone(stackedShape);
    auto lifted = ReshapeOp::create(b, loc, stackedType, v);
    split[lifted] = 0;
    auto all = shard::AllGatherOp::create(b, loc, stackedType, "devices",
                                          ArrayRef<int16_t>{gridAxis}, lifted, APInt(64, 0));
    SmallVector<int64_t> perm;
    for (int64_t d = 1; d <= a; ++d)
      perm.push_back(d);
    perm.push_back(0);
    for (int64_t d = a + 1; d <= (int64_t)shape.size(); ++d)
      perm.push_back(d);
    SmallVector<int64_t> moved;
    for (int64_t p : perm)
      moved.push_back(stackedShape[p]);
    auto t = TransposeOp::create(b, loc, type.clone(moved), all, b.getDenseI64ArrayAttr(perm));
    whole = ReshapeOp::create(b, loc, type, t);
  }
  collectives.push_back({"all-gather of " + nodeOf(before) + "'s operand " +
                             llvm::formatv("{0}", type).str(),
                         bytesOf(type)});
  gathered[v] = whole;
  return whole;
}

void Partitioner::reduceAfter(Operation *op, Value partial) {
  b.setInsertionPointAfter(op);
  auto sum = shard::AllReduceOp::create(b, op->getLoc(), partial.getType(), "devices",
                                        ArrayRef<int16_t>{gridAxis}, partial,
                                        shard::ReductionKind::Sum);
  partial.replaceAllUsesExcept(sum, sum.getOperation());
  collectives.push_back({"all-reduce (sum) after " + nodeOf(op) + " " +
                             llvm::formatv("{0}", partial.getType()).str(),
                         bytesOf(partial.getType())});
}

} // namespace weft::detail
