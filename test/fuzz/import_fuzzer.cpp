//===- import_fuzzer.cpp - libFuzzer target for the ONNX importer ---------===//
//
// Treats each input as the bytes of a model.onnx file and runs what weftc
// runs before codegen: weft::importOnnxFile, mlir::verify, then the "1-graph"
// stage (canonicalize, weft-decompose, canonicalize, cse,
// weft-form-dispatches, weft-plan-memory). A bad model may only ever produce
// diagnostics; a crash, a sanitizer report, a leak, a hang, or a pass that
// reports success yet leaves invalid IR behind is a finding.
//
// The importer takes a path (it resolves external data next to the model),
// so every input is written to the same file in a directory private to this
// process. That directory also holds `weights.bin`, so inputs whose tensors
// point at external data can load some (the seed corpus refers to it).
//
// Uniqued attributes and types live as long as their MLIRContext. One
// context serves many inputs, as the compiler would, but it is replaced
// every WEFT_FUZZ_CONTEXT_RUNS inputs (default 4096) so that millions of
// runs do not accumulate every constant ever imported into the RSS limit.
//
//===----------------------------------------------------------------------===//
#include "compiler/InitAll.h"
#include "compiler/import/OnnxImporter.h"
#include "passes/Passes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

using namespace mlir;

namespace {

struct FuzzState {
  DialectRegistry registry;
  std::unique_ptr<MLIRContext> context;
  unsigned contextRuns = 0;
  unsigned contextLimit = 4096;
  std::string dir;
  std::string modelPath;
  std::string weightsPath;
};

FuzzState *state = nullptr;

void removeScratch() {
  if (!state)
    return;
  llvm::sys::fs::remove(state->modelPath);
  llvm::sys::fs::remove(state->weightsPath);
  llvm::sys::fs::remove(state->dir);
}

void newContext() {
  state->context.reset();
  state->context = std::make_unique<MLIRContext>(
      state->registry, MLIRContext::Threading::DISABLED);
  // The same set weftc loads, so folders and interfaces behave alike.
  state->context->loadAllAvailableDialects();
  state->contextRuns = 0;
}

bool writeFile(const std::string &path, const uint8_t *data, size_t size) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return false;
  bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

[[noreturn]] void die(const char *what) {
  std::fprintf(stderr, "import_fuzzer: %s\n", what);
  std::abort();
}

// Runs one pass with the pass manager's own verifier off, then verifies
// here: a pass that fails has said why (a diagnostic, not a finding), but a
// pass that succeeds must leave valid IR.
bool runPass(ModuleOp module, const char *name,
             const std::function<void(PassManager &)> &add) {
  PassManager pm(module.getContext());
  pm.enableVerifier(false);
  add(pm);
  if (failed(pm.run(module)))
    return false;
  std::string diagnostics;
  bool valid;
  {
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler collect(module.getContext(), [&](Diagnostic &d) {
      os << d << "\n";
      return success();
    });
    valid = succeeded(mlir::verify(module));
  }
  if (!valid) {
    std::fprintf(stderr, "import_fuzzer: '%s' succeeded but left invalid IR:\n%s",
                 name, diagnostics.c_str());
    std::abort();
  }
  return true;
}

} // namespace

// Running the fuzzer on one saved input should print the whole report, stack
// included, without having to remember UBSAN_OPTIONS.
extern "C" const char *__ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  state = new FuzzState();
  if (const char *env = std::getenv("WEFT_FUZZ_CONTEXT_RUNS"))
    state->contextLimit = std::max(1, std::atoi(env));
  weft::registerAllDialects(state->registry);

  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("weft-import-fuzz", dir))
    die("cannot create a scratch directory");
  state->dir = std::string(dir);
  llvm::SmallString<128> path(dir);
  llvm::sys::path::append(path, "model.onnx");
  state->modelPath = std::string(path);
  path = dir;
  llvm::sys::path::append(path, "weights.bin");
  state->weightsPath = std::string(path);
  // 4 KiB whose float32 and int64 readings are all finite and small.
  std::string weights(4096, '\0');
  for (size_t i = 0; i + 4 <= weights.size(); i += 4) {
    float v = float((i / 4) % 17) * 0.25f - 2.0f;
    std::memcpy(&weights[i], &v, sizeof v);
  }
  if (!writeFile(state->weightsPath,
                 reinterpret_cast<const uint8_t *>(weights.data()),
                 weights.size()))
    die("cannot write weights.bin");
  std::atexit(removeScratch);
  newContext();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!writeFile(state->modelPath, data, size))
    die("cannot write the model file");
  if (++state->contextRuns > state->contextLimit)
    newContext();
  MLIRContext &context = *state->context;
  // Diagnostics are the expected outcome for almost every input; printing
  // them would dominate the run time.
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });

  weft::ImportOptions options;
  // Common symbolic dimension names, so inputs that use them get past the
  // shape check and into the converters.
  options.dims["batch"] = 1;
  options.dims["N"] = 2;
  options.dims["seq"] = 3;
  auto imported = weft::importOnnxFile(context, state->modelPath, options);
  if (failed(imported))
    return 0;
  ModuleOp module = imported->get();
  if (failed(mlir::verify(module))) {
    std::fprintf(stderr, "import_fuzzer: the importer succeeded but its "
                         "module does not verify\n");
    std::abort();
  }

  using PM = PassManager;
  runPass(module, "canonicalize",
          [](PM &pm) { pm.addPass(createCanonicalizerPass()); }) &&
      runPass(module, "weft-decompose",
              [](PM &pm) {
                pm.addNestedPass<func::FuncOp>(weft::createDecompose());
              }) &&
      runPass(module, "canonicalize",
              [](PM &pm) { pm.addPass(createCanonicalizerPass()); }) &&
      runPass(module, "cse", [](PM &pm) { pm.addPass(createCSEPass()); }) &&
      runPass(module, "weft-form-dispatches",
              [](PM &pm) {
                pm.addNestedPass<func::FuncOp>(weft::createFormDispatches());
              }) &&
      runPass(module, "weft-plan-memory", [](PM &pm) {
        pm.addNestedPass<func::FuncOp>(weft::createPlanMemory());
      });
  return 0;
}
