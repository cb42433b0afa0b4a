//===- CostModel.h - the parallel plans' cost model --------------*- C++ -*-===//
//
// What weft-partition predicts a plan costs: an op's time from its
// arithmetic and bytes at rates for one thread of one device, and the
// collectives' and transfers' time from a fixed cost and a bandwidth, in
// one process and under MPI. The rates are the pass's options; weftc reads
// them from a file that weftc --calibrate writes.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_PASSES_COSTMODEL_H
#define WEFT_PASSES_COSTMODEL_H

#include "dialects/weft/IR/WeftDialect.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace weft {

struct PartitionOptions;

/// Where a convolution keeps its channels: the input's and output's
/// channel axes and the filter's output- and input-channel axes.
struct ConvAxes {
  int64_t inC, outF, filterF, filterC;
};
ConvAxes convAxes(ConvOp c);

/// The rates, for one thread of one device (the defaults: weftc
/// --calibrate on the development machine, one Zen 3 vCPU with AVX2; the
/// MPI ones fitted by hand), and the times they predict.
struct CostModel {
  double gflops = 85;     ///< matmuls and convolutions of 256+ rows
  /// ... of 1, 4, 16 and 64 rows (the rate between two of these is
  /// interpolated on the rows' logarithm).
  double gflopsRows[4] = {23, 79, 86, 87};
  double streamGBps = 45; ///< the bytes those read and write
  double gbps = 42;       ///< the other ops' bytes
  double opUs = 0.14;     ///< per op
  double collectiveUs = 1.6, collectiveGBps = 4.1; ///< an in-process all-reduce
  double transferUs = 0.25, transferGBps = 35;     ///< an in-process send/recv
  double wakeUs = 25; ///< a message to a rank that slept waiting for it
  /// Under MPI (mpirun -np 2 weftc --calibrate measures them).
  double mpiCollectiveUs = 40, mpiCollectiveGBps = 4;
  double mpiTransferUs = 40, mpiTransferGBps = 4;
  std::string source; ///< the file read, empty for the defaults

  /// Starting a run on the devices and waiting for them.
  static constexpr double kRunUs = 10;
  /// How long a waiting rank of one process polls before it sleeps (the
  /// runtime's WEFT_SPIN_US).
  static constexpr double kPollUs = 150;

  /// Multiply-adds count two: the arithmetic an op does, roughly.
  static int64_t flops(mlir::Operation *op);
  /// The rows a matmul or convolution's kernel runs over: the output
  /// positions that each take a dot product per output channel.
  static int64_t rows(mlir::Operation *op);
  /// GFLOP/s at `rows`: the calibrated points (1, 4, 16, 64, 256 rows),
  /// interpolated on log2(rows).
  double gflopsAt(int64_t rows) const;
  /// One device's time for `op` (its local types), in microseconds: for a
  /// matmul or convolution the slower of its arithmetic and its bytes (it
  /// computes while it streams, and the calibration measured both at once),
  /// for another op its bytes, each with the per-op cost.
  double opTime(mlir::Operation *op) const;
  /// A collective, or a pipeline transfer of one micro-batch's value.
  double collective(int64_t bytes, bool mpi) const;
  double transfer(int64_t bytes, bool mpi) const;
  /// The rates and where they came from, for --explain-parallel.
  std::string describe() const;

  /// The pass's options from these rates, and back.
  void toOptions(PartitionOptions &options) const;
  template <typename Options>
  static CostModel fromOptions(const Options &options) {
    CostModel m;
    pairRates(m, options, [](auto &rate, const auto &option) { rate = option; });
    return m;
  }

  /// Calls f(rate, option) for every rate and the option that holds it (of
  /// PartitionOptions or of the pass itself, whose options have the same
  /// names).
  template <typename Model, typename Options, typename F>
  static void pairRates(Model &m, Options &o, F f) {
    f(m.gflops, o.gflops);
    f(m.gflopsRows[0], o.gflopsRows1);
    f(m.gflopsRows[1], o.gflopsRows4);
    f(m.gflopsRows[2], o.gflopsRows16);
    f(m.gflopsRows[3], o.gflopsRows64);
    f(m.streamGBps, o.streamGBps);
    f(m.gbps, o.gbps);
    f(m.opUs, o.opOverheadUs);
    f(m.collectiveUs, o.collectiveLatencyUs);
    f(m.collectiveGBps, o.collectiveGBps);
    f(m.transferUs, o.transferLatencyUs);
    f(m.transferGBps, o.transferGBps);
    f(m.wakeUs, o.wakeUs);
    f(m.mpiCollectiveUs, o.mpiCollectiveUs);
    f(m.mpiCollectiveGBps, o.mpiCollectiveGBps);
    f(m.mpiTransferUs, o.mpiTransferUs);
    f(m.mpiTransferGBps, o.mpiTransferGBps);
    f(m.source, o.calibration);
  }
};

/// Reads a cost model file (`key value` lines, `#` comments) into
/// `model`; an unknown key, a value that is not a positive number or an
/// unreadable file is an error naming the line.
mlir::LogicalResult readCostModel(llvm::StringRef path, CostModel &model, std::string &error);

/// Writes `model` in the form readCostModel reads.
std::string renderCostModel(const CostModel &model);

} // namespace weft

#endif // WEFT_PASSES_COSTMODEL_H
