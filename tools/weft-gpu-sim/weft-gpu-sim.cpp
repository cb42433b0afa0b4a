//===- weft-gpu-sim.cpp - run a CUDA kernel's IR on the CPU, block by block ===//
//
// An interpreter for the kernels of Weft's CUDA backend as they stand just
// before the NVVM lowering (a gpu.module dumped by `weftc --target=cuda
// --dump-ir-dir`, stage `*_canonicalize` after `convert-scf-to-cf`): every
// thread of a block runs the gpu.func's control-flow graph by itself, each
// `gpu.barrier` waits for all of the block's threads, and the warp-wide
// operations (ldmatrix, mma.sync, shuffles, WMMA fragments) wait for the
// warp's 32 lanes and then run as the PTX ISA defines them. No GPU is
// needed; what it shows is what a GPU-less run of the kernels (the CPU
// backend's loops under --target=cuda-on-cpu) cannot: the kernels'
// barriers, thread and lane indices, shared-memory layouts, software
// pipelining and tensor-core fragments, as the GPU would run them.
//
// Checked while running, each a located error:
//   * data races in shared memory: a thread reading what another wrote, or
//     writing what another read or wrote, with no barrier in between (two
//     writes of the same value are counted apart, as benign);
//   * reads of shared memory no thread wrote, and of private memory never
//     written;
//   * accesses of shared memory that an asynchronous copy (cp.async,
//     nvgpu.device_async_copy) may still be writing: its source is read
//     when it is issued, its destination written when a wait completes
//     its group (and counted for races then);
//   * accesses outside a buffer;
//   * data races between the blocks run: a block reading an element of
//     global memory that another block wrote, or writing another value
//     where another block wrote (blocks run in no set order on a GPU);
//   * barriers that not all of a block's threads reach (a deadlock), and
//     warp-wide operations that not all of a warp's lanes reach together;
//   * WMMA fragment operations whose lanes disagree on their operands;
//   * addresses a GPU would stop the kernel for as misaligned: an ldmatrix
//     row not 16-byte aligned, a WMMA fragment not 32-byte aligned or with
//     rows not a multiple of 16 bytes apart, a cp.async whose addresses
//     are not aligned to its size (a buffer's own start counts
//     as kBufferAlignment or kSharedAlignment bytes aligned).
//
// Buffers are raw little-endian files of the kernel arguments' element
// types (numpy's tofile); the arguments given by --out are written back
// after the run. Only the blocks named by --blocks run (all by default).
// This file is the command line; the simulator is Sim.h's.
//
//===----------------------------------------------------------------------===//
#include "tools/weft-gpu-sim/Profile.h"
#include "tools/weft-gpu-sim/Semantics.h"
#include "tools/weft-gpu-sim/Sim.h"

#include "compiler/InitAll.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>

using namespace mlir;
using namespace weft::gpusim;

namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<gpu module .mlir>"),
                                      cl::Required);
static cl::opt<std::string> kernelName("kernel", cl::desc("the gpu.func to run"),
                                       cl::Required);
static cl::opt<int64_t> gridSize("grid",
                                 cl::desc("blocks in the grid (default: the kernel's "
                                          "known_grid_size)"),
                                 cl::init(0));
static cl::list<std::string> blockList("blocks", cl::desc("blocks to run (default: all)"),
                                       cl::CommaSeparated);
static cl::list<std::string> argFiles("arg", cl::desc("N=FILE: kernel argument N's contents"));
static cl::list<std::string> outFiles("out",
                                      cl::desc("N=FILE: write kernel argument N after the run"));
static cl::opt<bool> profileOpt("profile",
                                cl::desc("count the global sectors and shared-memory wavefronts "
                                         "of every warp's requests (Profile.h)"));
static cl::opt<int> profileTop("profile-top",
                               cl::desc("operations listed by --profile (the costliest "
                                        "beyond their ideal)"),
                               cl::init(8));

namespace {

std::optional<std::pair<unsigned, std::string>> parseBinding(StringRef s) {
  auto [n, file] = s.split('=');
  unsigned i;
  if (file.empty() || n.getAsInteger(10, i))
    return std::nullopt;
  return std::make_pair(i, file.str());
}

void readRaw(Buffer &b, const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot read " + path);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!decodeElements(b.element, raw, b.data))
    die(path + ": " + Twine(raw.size()) + " bytes, the argument takes " +
        Twine(b.data.size() * std::max(1u, bitWidth(b.element) / 8)));
  std::fill(b.written.begin(), b.written.end(), 1);
}

void writeRaw(const Buffer &b, const std::string &path) {
  std::ofstream out(path, std::ios::binary);
  std::string raw = encodeElements(b.element, b.data);
  out.write(raw.data(), raw.size());
  if (!out)
    die("cannot write " + path);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "Runs a CUDA kernel's IR (before the NVVM lowering) on the CPU, "
                              "block by block, checking its barriers, races and bounds\n");
  DialectRegistry registry;
  weft::registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(inputFile, &ctx);
  if (!module)
    return 1;
  gpu::GPUFuncOp fn;
  module->walk([&](gpu::GPUFuncOp f) {
    if (f.getName() == kernelName)
      fn = f;
  });
  if (!fn) {
    llvm::errs() << "weft-gpu-sim: no gpu.func named " << kernelName << "\n";
    return 1;
  }
  std::optional<ArrayRef<int32_t>> known = fn.getKnownBlockSize();
  if (!known || (*known)[1] != 1 || (*known)[2] != 1) {
    llvm::errs() << "weft-gpu-sim: " << kernelName << " has no known one-dimensional block size\n";
    return 1;
  }
  int64_t blockSize = (*known)[0];
  if (gridSize == 0) {
    std::optional<ArrayRef<int32_t>> grid = fn.getKnownGridSize();
    if (!grid || (*grid)[1] != 1 || (*grid)[2] != 1)
      die(kernelName + " has no known one-dimensional grid: give --grid");
    gridSize = (*grid)[0];
  }
  Sim sim(fn, blockSize);
  MemoryProfile profile;
  if (profileOpt)
    sim.profile = &profile;
  {
    SmallVector<Val> args;
    std::map<unsigned, std::string> inputs, outputs;
    for (const std::string &s : argFiles) {
      auto b = parseBinding(s);
      if (!b)
        die("--arg takes N=FILE: " + s);
      inputs[b->first] = b->second;
    }
    for (const std::string &s : outFiles) {
      auto b = parseBinding(s);
      if (!b)
        die("--out takes N=FILE: " + s);
      outputs[b->first] = b->second;
    }
    FunctionType type = fn.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      auto m = dyn_cast<MemRefType>(type.getInput(i));
      if (!m)
        die("kernel argument " + Twine(i) + " is not a memref");
      Val v = sim.allocate(m, Buffer::Global, "argument " + std::to_string(i));
      if (inputs.count(i))
        readRaw(sim.buffers[v.buffer], inputs[i]);
      args.push_back(v);
    }
    SmallVector<int64_t> blocks;
    for (const std::string &s : blockList) {
      int64_t b;
      if (StringRef(s).getAsInteger(10, b) || b < 0 || b >= gridSize)
        die("--blocks: no block " + s + " in a grid of " + Twine(gridSize));
      blocks.push_back(b);
    }
    if (blocks.empty())
      for (int64_t b = 0; b < gridSize; ++b)
        blocks.push_back(b);
    for (int64_t b : blocks)
      sim.runBlock(b, gridSize, args);
    for (auto &[i, path] : outputs) {
      if (i >= args.size())
        die("--out: no kernel argument " + Twine(i));
      writeRaw(sim.buffers[args[i].buffer], path);
    }
    llvm::outs() << "weft-gpu-sim: " << kernelName << ": " << blocks.size() << " of " << gridSize
                 << " blocks of " << blockSize << " threads ran, " << sim.barriers
                 << " barriers, no race, no out-of-bounds access";
    if (sim.benignWrites)
      llvm::outs() << " (" << sim.benignWrites << " writes of equal values by several threads)";
    if (sim.unknownGlobals)
      llvm::outs() << "; " << sim.unknownGlobals
                   << " constant globals read as zeros (their contents were elided)";
    llvm::outs() << "\n";
    if (profileOpt)
      profile.report(llvm::outs(), profileTop);
  }
  return 0;
}
