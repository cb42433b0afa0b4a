//===- CostModel.cpp - the parallel plans' cost model ---------------------===//
#include "passes/CostModel.h"
#include "passes/Passes.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace weft;

namespace {
ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }
int64_t bytesOf(Type type) {
  auto t = cast<RankedTensorType>(type);
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}
} // namespace

ConvAxes weft::convAxes(ConvOp c) {
  if (!c.getChannelsLast())
    return {1, 1, 0, 1}; // NCHW, FCHW
  // NHWC, blocked [F/B, KH, KW, C, B] (integer: [F/B, KH, KW, C/4, B, 4]),
  // output [N, OH, OW, F/B, B].
  if (cast<RankedTensorType>(c.getFilter().getType()).getRank() >= 5)
    return {3, 3, 0, 3};
  return {3, 3, 3, 2};   // NHWC, HWCF
}

int64_t CostModel::flops(Operation *op) {
  auto elems = [](Value v) { return cast<RankedTensorType>(v.getType()).getNumElements(); };
  if (op->getNumResults() == 0 || isa<ConstantOp, ReshapeOp>(op) ||
      op->getDialect()->getNamespace() == "shard")
    return 0;
  int64_t out = elems(op->getResult(0));
  if (auto mm = dyn_cast<MatMulOp>(op))
    return 2 * out * shapeOf(mm.getLhs()).back();
  if (auto g = dyn_cast<GemmOp>(op))
    return 2 * out * shapeOf(g.getA())[g.getTransA() ? 0 : 1];
  if (auto c = dyn_cast<ConvOp>(op)) {
    ConvAxes ax = convAxes(c);
    ArrayRef<int64_t> f = shapeOf(c.getFilter());
    int64_t taps = 1;
    for (auto [d, n] : llvm::enumerate(f))
      if ((int64_t)d != ax.filterF && !(f.size() >= 5 && d == 4))
        taps *= n;
    return 2 * out * taps;
  }
  int64_t in = 0;
  for (Value v : op->getOperands())
    in = std::max(in, elems(v));
  return std::max(in, out);
}

int64_t CostModel::rows(Operation *op) {
  auto out = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t channels = out.getShape().back();
  if (auto c = dyn_cast<ConvOp>(op)) {
    ConvAxes ax = convAxes(c);
    channels = out.getDimSize(ax.outF) * (out.getRank() == 5 ? out.getDimSize(4) : 1);
  }
  return std::max<int64_t>(1, out.getNumElements() / std::max<int64_t>(1, channels));
}

double CostModel::gflopsAt(int64_t rowCount) const {
  const double points[5] = {gflopsRows[0], gflopsRows[1], gflopsRows[2], gflopsRows[3], gflops};
  double x = std::log2((double)std::max<int64_t>(rowCount, 1)) / 2; // 0..4 at 1..256 rows
  if (x >= 4)
    return points[4];
  int i = (int)x;
  return points[i] + (points[i + 1] - points[i]) * (x - i);
}

double CostModel::opTime(Operation *op) const {
  if (op->getNumResults() == 0 || isa<ConstantOp, ReshapeOp>(op) ||
      op->getDialect()->getNamespace() == "shard")
    return 0;
  int64_t bytes = 0;
  for (Value v : op->getOperands())
    bytes += bytesOf(v.getType());
  for (Value v : op->getResults())
    bytes += bytesOf(v.getType());
  // A matmul or convolution computes while it streams its operands: the
  // slower of the two (the rates were measured with both going on).
  if (isa<MatMulOp, GemmOp, ConvOp>(op))
    return opUs + std::max((double)flops(op) / (gflopsAt(rows(op)) * 1e3),
                           (double)bytes / (streamGBps * 1e3));
  return opUs + (double)bytes / (gbps * 1e3);
}

double CostModel::collective(int64_t bytes, bool mpi) const {
  return mpi ? mpiCollectiveUs + (double)bytes / (mpiCollectiveGBps * 1e3)
             : collectiveUs + (double)bytes / (collectiveGBps * 1e3);
}

double CostModel::transfer(int64_t bytes, bool mpi) const {
  return mpi ? mpiTransferUs + (double)bytes / (mpiTransferGBps * 1e3)
             : transferUs + (double)bytes / (transferGBps * 1e3);
}

std::string CostModel::describe() const {
  return llvm::formatv("{0}: matmuls and convolutions {1:F1} GFLOP/s ({9:F1}, {10:F1}, {11:F1}, "
                       "{12:F1} at 1, 4, 16, 64 rows) or their bytes at {2:F1} GB/s if slower, the "
                       "rest {3:F1} GB/s, {4:F2} us per op; in one process a collective "
                       "{5:F1} us + {6:F1} GB/s, a transfer {7:F2} us + {8:F1} GB/s, waking a "
                       "sleeping rank {13:F1} us; under MPI a collective {14:F1} us + "
                       "{15:F1} GB/s, a transfer {16:F1} us + {17:F1} GB/s",
                       source.empty()
                           ? std::string("default rates (calibrated on the development machine)")
                           : "rates from " + source,
                       gflops, streamGBps, gbps, opUs, collectiveUs, collectiveGBps, transferUs,
                       transferGBps, gflopsRows[0], gflopsRows[1], gflopsRows[2], gflopsRows[3],
                       wakeUs, mpiCollectiveUs, mpiCollectiveGBps, mpiTransferUs,
                       mpiTransferGBps)
      .str();
}

void CostModel::toOptions(PartitionOptions &o) const {
  pairRates(*this, o, [](const auto &rate, auto &option) { option = rate; });
}


namespace {
struct CostKey {
  const char *name;
  double weft::CostModel::*field; ///< null: gflopsRows[row]
  int row = 0;
  double &of(weft::CostModel &m) const { return field ? m.*field : m.gflopsRows[row]; }
};
const CostKey kCostKeys[] = {
    {"gflops", &weft::CostModel::gflops},
    {"gflops_rows_1", nullptr, 0},
    {"gflops_rows_4", nullptr, 1},
    {"gflops_rows_16", nullptr, 2},
    {"gflops_rows_64", nullptr, 3},
    {"stream_gbps", &weft::CostModel::streamGBps},
    {"gbps", &weft::CostModel::gbps},
    {"op_us", &weft::CostModel::opUs},
    {"collective_us", &weft::CostModel::collectiveUs},
    {"collective_gbps", &weft::CostModel::collectiveGBps},
    {"transfer_us", &weft::CostModel::transferUs},
    {"transfer_gbps", &weft::CostModel::transferGBps},
    {"wake_us", &weft::CostModel::wakeUs},
    {"mpi_collective_us", &weft::CostModel::mpiCollectiveUs},
    {"mpi_collective_gbps", &weft::CostModel::mpiCollectiveGBps},
    {"mpi_transfer_us", &weft::CostModel::mpiTransferUs},
    {"mpi_transfer_gbps", &weft::CostModel::mpiTransferGBps},
};
} // namespace

LogicalResult weft::readCostModel(llvm::StringRef path, CostModel &model, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = "cannot read the cost model '" + path.str() + "': " + buffer.getError().message();
    return failure();
  }
  SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (auto [i, raw] : llvm::enumerate(lines)) {
    StringRef line = raw.split('#').first.trim();
    if (line.empty())
      continue;
    auto [key, rest] = line.split(' ');
    double value = 0;
    const CostKey *known = nullptr;
    for (const CostKey &k : kCostKeys)
      if (key == k.name)
        known = &k;
    std::string where = path.str() + ":" + std::to_string(i + 1) + ": ";
    if (!known) {
      error = where + "unknown cost model key '" + key.str() + "'";
      return failure();
    }
    if (rest.trim().getAsDouble(value) || !(value > 0) || value > 1e9) {
      error = where + "'" + key.str() + "' needs a positive number, not '" + rest.trim().str() + "'";
      return failure();
    }
    known->of(model) = value;
  }
  model.source = path.str();
  return success();
}

std::string weft::renderCostModel(const CostModel &model) {
  std::string out = "# Weft cost model: one thread of one CPU device (weftc --calibrate)\n";
  CostModel copy = model;
  for (const CostKey &k : kCostKeys)
    out += llvm::formatv("{0} {1:F3}\n", k.name, k.of(copy)).str();
  return out;
}

