//===- OnnxImporter.cpp - ONNX model -> weft dialect ----------------------===//
//
// The import driver: reads the file (never trusting its bytes), loads
// external tensor data, runs the ONNX checker, upgrades opsets below 11 with
// the ONNX version converter, rejects unsupported operators in one
// diagnostic, then builds one func.func whose arguments are the non-constant
// graph inputs (symbolic dimensions pinned from the options) and whose body
// is the graph, node by node, through the op-family converters.
//
// libonnx reports problems with C++ exceptions; every call into it is
// wrapped so that a bad model becomes a diagnostic, never a crash.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/OnnxImporter.h"
#include "compiler/import/ContribOps.h"
#include "compiler/import/DeviceAnnotations.h"
#include "compiler/import/GuardedShapeInference.h"
#include "compiler/import/ImportContext.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/checker.h>

#include <functional>
#include <map>
#include <onnx/defs/schema.h>
#include <onnx/version_converter/convert.h>

#include <climits>
#include <exception>

using namespace mlir;
using namespace weft;

namespace {

// Opsets below this are upgraded first, so converters only ever see the
// operator versions of opset 11 and later.
constexpr int64_t kMinOpset = 11;
// The newest default-domain opset and IR version whose semantics Weft's
// converters implement (ONNX 1.18). A newer model may use operator versions
// that mean something else, so it is refused rather than guessed at, as
// onnxruntime does.
constexpr int64_t kMaxOpset = 23;
constexpr int64_t kMaxIrVersion = 11;

bool isDefaultDomain(StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

// One table for the whole process would be global mutable state; the table
// is cheap to build per import.
ConverterTable buildConverterTable() {
  ConverterTable table;
  registerMathConverters(table);
  registerUnaryConverters(table);
  registerCastConverters(table);
  registerNNConverters(table);
  registerPoolConverters(table);
  registerReduceConverters(table);
  registerTensorConverters(table);
  registerIndexingConverters(table);
  registerConstantConverters(table);
  registerResizeConverters(table);
  registerRNNConverters(table);
  registerControlFlowConverters(table);
  registerQuantizedConverters(table);
  registerSignalConverters(table);
  registerSamplingConverters(table);
  registerNormConverters(table);
  registerLinalgConverters(table);
  registerRunTimeSizeConverters(table);
  return table;
}

std::string displayName(const onnx::NodeProto &node, int index) {
  if (!node.name().empty())
    return node.name();
  return node.op_type() + "_" + std::to_string(index);
}

class Importer {
public:
  Importer(MLIRContext &context, StringRef path, const ImportOptions &options)
      : context(context), path(path.str()), options(options),
        fileLoc(FileLineColLoc::get(&context, path, 0, 0)) {}

  FailureOr<OwningOpRef<ModuleOp>> run();

private:
  LogicalResult parse();
  LogicalResult loadExternalData();
  LogicalResult loadExternalTensor(onnx::TensorProto &tensor,
                                   StringRef what);
  LogicalResult validateGraph();
  LogicalResult findOpset();
  LogicalResult check();
  LogicalResult upgrade();
  LogicalResult checkUpgradeInputs();
  LogicalResult checkSupported(const ConverterTable &table);
  FailureOr<RankedTensorType> inputType(const onnx::ValueInfoProto &info,
                                        std::string &unpinned);
  LogicalResult loadInputValues();
  LogicalResult checkOutputType(const onnx::ValueInfoProto &info, Value value,
                                ArrayRef<ImportContext::RunTimeDim> runTime = {});
  FailureOr<OwningOpRef<ModuleOp>> build(const ConverterTable &table);

  InFlightDiagnostic error() { return emitError(fileLoc); }

  MLIRContext &context;
  std::string path;
  const ImportOptions &options;
  Location fileLoc;
  onnx::ModelProto model;
  int64_t opset = 0;
  int64_t originalOpset = 0;
  /// The values of --input-value, by input name.
  llvm::StringMap<DenseElementsAttr> inputValues;
  /// ONNX multi-device annotations (null when the model has none).
  DictionaryAttr deviceAnnotations;
};

} // namespace

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

LogicalResult Importer::parse() {
  // Devices, FIFOs and directories have no size to bound a read by
  // (/dev/zero would be read until memory runs out).
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return error() << "cannot open ONNX model '" << path << "': " << ec.message();
  if (!llvm::sys::fs::is_regular_file(st))
    return error() << "cannot open ONNX model '" << path
                   << "': not a regular file";
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return error() << "cannot open ONNX model '" << path
                   << "': " << buffer.getError().message();
  StringRef bytes = (*buffer)->getBuffer();
  if (bytes.empty())
    return error() << "cannot parse ONNX model '" << path
                   << "': file is empty";
  if (bytes.size() > (size_t)INT_MAX)
    return error() << "cannot parse ONNX model '" << path
                   << "': the file is larger than 2 GiB (protobuf's limit); "
                      "store the weights as external data";
  bool parsed = false;
  try {
    parsed = model.ParseFromArray(bytes.data(), (int)bytes.size());
  } catch (const std::exception &e) {
    return error() << "cannot parse ONNX model '" << path << "': " << e.what();
  }
  // Random bytes can happen to decode as a message of unknown fields; a
  // model without a graph or IR version is not a model.
  if (!parsed || !model.has_graph() || model.ir_version() <= 0)
    return error() << "cannot parse ONNX model '" << path
                   << "': not a valid ModelProto";
  if (model.ir_version() > kMaxIrVersion)
    return error() << "ONNX model '" << path << "' has IR version "
                   << model.ir_version() << "; Weft supports IR versions up to "
                   << kMaxIrVersion;
  // "ai.onnx" and "" name the same domain; use one spelling so the checker,
  // the version converter and the converter table agree.
  for (auto &imp : *model.mutable_opset_import())
    if (imp.domain() == "ai.onnx")
      imp.set_domain("");
  for (auto &node : *model.mutable_graph()->mutable_node())
    if (node.domain() == "ai.onnx")
      node.set_domain("");
  // Read before the version converter, which rebuilds nodes without them.
  FailureOr<DictionaryAttr> annotations = readDeviceAnnotations(model, &context, fileLoc);
  if (failed(annotations))
    return failure();
  deviceAnnotations = *annotations;
  return success();
}

// Reads each --input-value file: a serialized TensorProto with its data
// inline (raw_data or typed fields).
LogicalResult Importer::loadInputValues() {
  for (const auto &entry : options.inputValues) {
    StringRef name = entry.getKey();
    const std::string &file = entry.getValue();
    auto fail = [&]() {
      return error() << "--input-value " << name << "=" << file << ": ";
    };
    llvm::sys::fs::file_status st;
    if (std::error_code ec = llvm::sys::fs::status(file, st))
      return fail() << ec.message();
    if (!llvm::sys::fs::is_regular_file(st))
      return fail() << "not a regular file";
    if (st.getSize() > (uint64_t)INT_MAX)
      return fail() << "the file is larger than 2 GiB";
    auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return fail() << buffer.getError().message();
    onnx::TensorProto tensor;
    StringRef bytes = (*buffer)->getBuffer();
    if (!tensor.ParseFromArray(bytes.data(), (int)bytes.size()))
      return fail() << "not a serialized ONNX TensorProto";
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
      return fail() << "the tensor's data must be inline, not external";
    auto attr = convertTensorProto(&context, tensor, fileLoc, "--input-value " + name.str());
    if (failed(attr))
      return failure();
    inputValues[name] = *attr;
  }
  return success();
}

LogicalResult Importer::loadExternalTensor(onnx::TensorProto &tensor,
                                           StringRef what) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : tensor.external_data()) {
    StringRef value = entry.value();
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      if (value.getAsInteger(10, offset) || offset < 0)
        return error() << "external data of " << what << " has invalid offset '"
                       << value << "'";
    } else if (entry.key() == "length") {
      if (value.getAsInteger(10, length) || length < 0)
        return error() << "external data of " << what << " has invalid length '"
                       << value << "'";
    }
  }
  if (location.empty())
    return error() << "external data of " << what << " has no location";
  // External data must live next to the model, as the ONNX spec says.
  if (llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                    llvm::sys::path::end(location)),
                   [](StringRef c) { return c == ".."; }))
    return error() << "external data of " << what << " has location '"
                   << location
                   << "', which is not inside the model's directory";
  SmallString<256> file = llvm::sys::path::parent_path(path);
  llvm::sys::path::append(file, location);
  // Symlinks (of the file or of a folder on its way) must not lead out of
  // the model's folder: compare the resolved paths. Nothing about a target
  // outside (not even its size) is reported.
  SmallString<256> modelDir = llvm::sys::path::parent_path(path), realDir, realFile;
  if (modelDir.empty())
    modelDir = ".";
  if (std::error_code ec = llvm::sys::fs::real_path(modelDir, realDir))
    return error() << "cannot resolve the model's directory '" << modelDir
                   << "': " << ec.message();
  if (std::error_code ec = llvm::sys::fs::real_path(file, realFile))
    return error() << "cannot read external data of " << what << " from '"
                   << file << "': " << ec.message();
  StringRef resolved = realFile;
  if (!resolved.consume_front(realDir) || resolved.empty() ||
      !llvm::sys::path::is_separator(resolved.front()))
    return error() << "external data of " << what << " has location '"
                   << location
                   << "', which resolves outside the model's directory "
                      "(through a symbolic link)";
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(realFile, st))
    return error() << "cannot read external data of " << what << " from '"
                   << file << "': " << ec.message();
  if (!llvm::sys::fs::is_regular_file(st))
    return error() << "cannot read external data of " << what << " from '"
                   << file << "': not a regular file";
  uint64_t size = st.getSize();
  if ((uint64_t)offset > size)
    return error() << "external data of " << what << " starts at offset "
                   << offset << " but '" << file << "' has only " << size
                   << " bytes";
  if (length < 0)
    length = size - offset;
  if ((uint64_t)offset + (uint64_t)length > size)
    return error() << "external data of " << what << " needs bytes ["
                   << offset << ", " << offset + length << ") but '" << file
                   << "' has only " << size << " bytes";
  std::string data;
  if (length > 0) {
    auto slice = llvm::MemoryBuffer::getFileSlice(realFile, length, offset,
                                                  /*IsVolatile=*/false);
    if (!slice)
      return error() << "cannot read external data of " << what << " from '"
                     << file << "': " << slice.getError().message();
    data.assign((*slice)->getBufferStart(), (*slice)->getBufferSize());
  }
  tensor.set_raw_data(std::move(data));
  tensor.clear_external_data();
  tensor.set_data_location(onnx::TensorProto_DataLocation_DEFAULT);
  return success();
}

LogicalResult Importer::loadExternalData() {
  auto *graph = model.mutable_graph();
  for (auto &tensor : *graph->mutable_initializer())
    if (tensor.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
      if (failed(loadExternalTensor(
              tensor, ("initializer '" + tensor.name() + "'"))))
        return failure();
  for (auto &node : *graph->mutable_node())
    for (auto &attr : *node.mutable_attribute())
      if (attr.has_t() && attr.t().data_location() ==
                              onnx::TensorProto_DataLocation_EXTERNAL)
        if (failed(loadExternalTensor(*attr.mutable_t(),
                                      ("attribute '" + attr.name() +
                                       "' of node '" + node.name() + "'"))))
          return failure();
  return success();
}

// The graph must be in SSA form and topologically sorted, as the ONNX spec
// requires. libonnx's version converter crashes on graphs that are not, so
// this runs before it (and gives a clearer message than a later lookup).
LogicalResult Importer::validateGraph() {
  const auto &graph = model.graph();
  llvm::StringSet<> defined;
  for (const auto &in : graph.input())
    defined.insert(in.name());
  for (const auto &init : graph.initializer())
    defined.insert(init.name());
  for (const auto &sparse : graph.sparse_initializer())
    defined.insert(sparse.values().name());
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto &node = graph.node(i);
    for (const auto &name : node.input())
      if (!name.empty() && !defined.count(name))
        return error() << "node '" << displayName(node, i) << "' ("
                       << node.op_type() << ") uses '" << name
                       << "', which no earlier node, initializer or graph "
                          "input defines";
    for (const auto &name : node.output())
      if (!name.empty() && !defined.insert(name).second)
        return error() << "node '" << displayName(node, i) << "' ("
                       << node.op_type() << ") redefines '" << name << "'";
  }
  for (const auto &out : graph.output())
    if (!defined.count(out.name()))
      return error() << "graph output '" << out.name()
                     << "' is not computed by any node";
  return success();
}

LogicalResult Importer::findOpset() {
  for (const auto &imp : model.opset_import())
    if (isDefaultDomain(imp.domain())) {
      opset = imp.version();
      break;
    }
  if (opset > kMaxOpset)
    return error() << "ONNX model '" << path << "' imports default-domain opset "
                   << opset << "; Weft supports opsets up to " << kMaxOpset;
  if (opset > 0)
    return success();
  // A graph of other domains only: the unsupported-operator scan reports it.
  if (llvm::any_of(model.graph().node(), [](const onnx::NodeProto &node) {
        return isDefaultDomain(node.domain());
      }))
    return error() << "ONNX model '" << path
                   << "' uses default-domain (ai.onnx) operators but does not "
                      "import that operator set";
  return success();
}

LogicalResult Importer::check() {
  int maxKnown = 0;
  try {
    const auto &ranges =
        onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto it = ranges.find(onnx::ONNX_DOMAIN);
    if (it != ranges.end())
      maxKnown = it->second.second;
  } catch (const std::exception &) {
  }
  // libonnx's operator tables stop at its release; newer opsets are Weft's
  // own converters' business, so the checker would only reject them.
  if (opset == 0 || opset > maxKnown)
    return success();
  // The checker refuses IR versions newer than its own even when the model
  // uses nothing new; check such models under the newest IR it knows.
  int64_t irVersion = model.ir_version();
  if (irVersion > onnx::Version::IR_VERSION)
    model.set_ir_version(onnx::Version::IR_VERSION);
  // The 1.12 checker wants a shape on every tensor value_info, while later
  // ONNX releases (and onnxruntime) accept a value of unknown rank, such as
  // a graph output declared without one: Weft infers it. Such entries get
  // an empty shape for the check only.
  std::vector<onnx::ValueInfoProto *> unshaped, untyped;
  std::function<void(onnx::GraphProto &)> collect = [&](onnx::GraphProto &g) {
    auto visit = [&](onnx::ValueInfoProto &v) {
      if (v.has_type() && v.type().has_tensor_type() && !v.type().tensor_type().has_shape())
        unshaped.push_back(&v);
    };
    // Outputs declared without any type: typed for the check only.
    for (auto &v : *g.mutable_output())
      if (!v.has_type() || v.type().value_case() == onnx::TypeProto::VALUE_NOT_SET)
        untyped.push_back(&v);
    for (auto &v : *g.mutable_input())
      visit(v);
    for (auto &v : *g.mutable_output())
      visit(v);
    for (auto &v : *g.mutable_value_info())
      visit(v);
    for (auto &n : *g.mutable_node())
      for (auto &a : *n.mutable_attribute()) {
        if (a.has_g())
          collect(*a.mutable_g());
        for (auto &sub : *a.mutable_graphs())
          collect(sub);
      }
  };
  collect(*model.mutable_graph());
  for (onnx::ValueInfoProto *v : unshaped)
    v->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (onnx::ValueInfoProto *v : untyped) {
    auto *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto_DataType_FLOAT);
    t->mutable_shape();
  }
  std::string message;
  try {
    onnx::checker::check_model(model);
  } catch (const onnx::checker::ValidationError &e) {
    message = e.what();
  } catch (const std::exception &e) {
    message = e.what();
    if (message.empty())
      message = "unknown error";
  }
  model.set_ir_version(irVersion);
  for (onnx::ValueInfoProto *v : unshaped)
    v->mutable_type()->mutable_tensor_type()->clear_shape();
  for (onnx::ValueInfoProto *v : untyped)
    v->clear_type();
  if (!message.empty())
    return error() << "ONNX checker rejected model '" << path
                   << "': " << StringRef(message).trim();
  return success();
}

/// libonnx's Gemm 6 -> 7 adapter indexes its inputs' shapes as 2-D without
/// checking their rank (a rank-0 A read out of bounds and crashed). Gemm
/// takes 2-D A and B; one of another known rank is refused here, naming it.
LogicalResult Importer::checkUpgradeInputs() {
  std::map<std::string, int> ranks;
  // False after reporting the first Gemm input of a known rank other than 2.
  std::function<bool(const onnx::GraphProto &)> visit = [&](const onnx::GraphProto &g) {
    auto note = [&](const onnx::ValueInfoProto &v) {
      if (v.type().has_tensor_type() && v.type().tensor_type().has_shape())
        ranks[v.name()] = v.type().tensor_type().shape().dim_size();
    };
    for (const auto &v : g.input())
      note(v);
    for (const auto &v : g.value_info())
      note(v);
    for (const auto &v : g.output())
      note(v);
    for (const auto &t : g.initializer())
      ranks[t.name()] = t.dims_size();
    for (int i = 0; i < g.node_size(); ++i) {
      const auto &node = g.node(i);
      for (const auto &a : node.attribute()) {
        if (a.has_g() && !visit(a.g()))
          return false;
        for (const auto &sub : a.graphs())
          if (!visit(sub))
            return false;
      }
      if (node.op_type() != "Gemm" || !isDefaultDomain(node.domain()))
        continue;
      for (int in = 0; in < std::min(node.input_size(), 2); ++in) {
        auto it = ranks.find(node.input(in));
        if (it != ranks.end() && it->second != 2) {
          error() << "node '" << displayName(node, i) << "' (Gemm) takes a 2-D "
                  << (in == 0 ? "A" : "B") << "; '" << node.input(in) << "' has rank "
                  << it->second;
          return false;
        }
      }
    }
    return true;
  };
  return success(visit(model.graph()));
}

/// Undoes what libonnx's Scan 8 -> 9 adapter did to `model` (upgraded
/// from `original`): it drops the first axis of every input and output of
/// a Scan, the graph's own inputs and outputs included, and ignores
/// sequence_lens. The Scan nodes and the graph's input and output types
/// are put back as they were; the Scan converter reads opset 8's batched
/// form itself. (Nested graphs are not upgraded.)
static void restoreScans(onnx::ModelProto &model, const onnx::GraphProto &original) {
  std::map<std::string, const onnx::NodeProto *> scans;
  for (const auto &node : original.node())
    if (node.op_type() == "Scan" && isDefaultDomain(node.domain()) && node.output_size())
      scans[node.output(0)] = &node;
  if (scans.empty())
    return;
  std::map<std::string, const onnx::TypeProto *> types;
  for (const auto &v : original.input())
    types[v.name()] = &v.type();
  for (const auto &v : original.output())
    types[v.name()] = &v.type();
  onnx::GraphProto &graph = *model.mutable_graph();
  for (auto &node : *graph.mutable_node())
    if (node.op_type() == "Scan" && node.output_size())
      if (auto it = scans.find(node.output(0)); it != scans.end())
        node.CopyFrom(*it->second);
  auto restore = [&](onnx::ValueInfoProto &v) {
    if (auto it = types.find(v.name()); it != types.end())
      v.mutable_type()->CopyFrom(*it->second);
  };
  for (auto &v : *graph.mutable_input())
    restore(v);
  for (auto &v : *graph.mutable_output())
    restore(v);
  graph.clear_value_info();
}

LogicalResult Importer::upgrade() {
  if (opset == 0 || opset >= kMinOpset)
    return success();
  // Some adapters (e.g. the broadcasting ones of opset 7) need the shapes of
  // their inputs; shape inference records them as value_info. Its own
  // failures are not the user's problem here.
  inferShapesGuarded(model);
  if (failed(checkUpgradeInputs()))
    return failure();
  std::optional<onnx::GraphProto> beforeScan9;
  if (opset < 9)
    beforeScan9 = model.graph();
  std::string message;
  try {
    model = onnx::version_conversion::ConvertVersion(model, kMinOpset);
  } catch (const std::exception &e) {
    message = e.what();
    if (message.empty())
      message = "unknown error";
  }
  if (!message.empty())
    return error() << "cannot upgrade opset " << opset << " to " << kMinOpset
                   << ": " << StringRef(message).trim();
  if (beforeScan9)
    restoreScans(model, *beforeScan9);
  int64_t before = opset;
  opset = 0;
  if (failed(findOpset()) || opset < kMinOpset)
    return error() << "cannot upgrade opset " << before << " to " << kMinOpset
                   << ": the converted model imports opset " << opset;
  return success();
}

LogicalResult Importer::checkSupported(const ConverterTable &table) {
  // Op type -> node names, in order of first appearance.
  std::vector<std::pair<std::string, SmallVector<std::string>>> unsupported;
  llvm::StringMap<size_t> position;
  // Subgraphs (If branches) count too; their nodes are named by path.
  std::function<void(const onnx::GraphProto &, const std::string &)> scan =
      [&](const onnx::GraphProto &graph, const std::string &prefix) {
        for (int i = 0; i < graph.node_size(); ++i) {
          const auto &node = graph.node(i);
          std::string name = prefix + displayName(node, i);
          for (const auto &attr : node.attribute()) {
            if (attr.has_g())
              scan(attr.g(), name + "/" + attr.name() + "/");
            for (const auto &g : attr.graphs())
              scan(g, name + "/" + attr.name() + "/");
          }
          bool known = isDefaultDomain(node.domain()) && table.count(node.op_type());
          if (known)
            continue;
          std::string key = isDefaultDomain(node.domain())
                                ? node.op_type()
                                : node.domain() + "." + node.op_type();
          auto [it, inserted] = position.try_emplace(key, unsupported.size());
          if (inserted)
            unsupported.emplace_back(key, SmallVector<std::string>());
          unsupported[it->second].second.push_back(name);
        }
      };
  scan(model.graph(), "");
  if (unsupported.empty())
    return success();
  // Keep the line readable for models with hundreds of such nodes.
  constexpr size_t kMaxNames = 8;
  std::string list;
  for (auto [i, entry] : llvm::enumerate(unsupported)) {
    if (i)
      list += "; ";
    list += entry.first + " (nodes: ";
    const auto &names = entry.second;
    for (size_t j = 0; j < std::min(names.size(), kMaxNames); ++j)
      list += (j ? ", " : "") + names[j];
    if (names.size() > kMaxNames)
      list += ", and " + std::to_string(names.size() - kMaxNames) + " more";
    list += ")";
  }
  auto diag = error() << "unsupported ONNX operators: " << list;
  if (originalOpset != opset)
    diag << " (in the model upgraded from opset " << originalOpset << " to "
         << opset << ")";
  return diag;
}

//===----------------------------------------------------------------------===//
// Building the function
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType>
Importer::inputType(const onnx::ValueInfoProto &info, std::string &unpinned) {
  const std::string &name = info.name();
  if (!info.type().has_tensor_type())
    return error() << "input '" << name
                   << "' is not a tensor (sequence, map and optional inputs "
                      "are not supported)";
  const auto &tt = info.type().tensor_type();
  Type elt = convertElementType(&context, tt.elem_type());
  if (!elt)
    return error() << "input '" << name << "' has element type "
                   << onnxTypeName(tt.elem_type())
                   << ", which Weft does not support";
  // A pinned shape: from --input-value (the value's) or --input-shape.
  std::optional<SmallVector<int64_t>> pin;
  const char *pinFlag = "--input-shape";
  if (auto it = inputValues.find(name); it != inputValues.end()) {
    auto valueType = it->second.getType();
    if (valueType.getElementType() != elt)
      return error() << "--input-value " << name << ": the value has element type "
                     << valueType.getElementType() << " but the input is "
                     << onnxTypeName(tt.elem_type());
    pin = SmallVector<int64_t>(valueType.getShape());
    pinFlag = "--input-value";
  } else if (auto it = options.inputShapes.find(name); it != options.inputShapes.end()) {
    pin = it->second;
  }
  auto pinText = [&] {
    std::string t;
    for (auto [i, d] : llvm::enumerate(*pin))
      t += (i ? "x" : "") + std::to_string(d);
    return t.empty() ? std::string("(scalar)") : t;
  };
  if (!tt.has_shape()) {
    if (pin)
      return RankedTensorType::get(*pin, elt);
    unpinned = "unknown rank";
    return failure();
  }
  int rank = tt.shape().dim_size();
  if (pin && (int64_t)pin->size() != rank)
    return error() << pinFlag << " gives input '" << name << "' the shape " << pinText()
                   << " of rank " << pin->size() << ", but the model declares rank "
                   << rank;
  SmallVector<int64_t> shape;
  bool ok = true;
  std::string missing;
  for (int i = 0; i < rank; ++i) {
    const auto &dim = tt.shape().dim(i);
    // -1 is how some exporters (older Paddle2ONNX) write a dynamic
    // dimension: onnxruntime reads it as unknown, and so does Weft.
    if (dim.has_dim_value() && dim.dim_value() != -1) {
      if (dim.dim_value() < 0) {
        error() << "input '" << name << "' has negative dimension "
                << dim.dim_value();
        ok = false;
      }
      if (pin && (*pin)[i] != dim.dim_value()) {
        error() << pinFlag << " gives input '" << name << "' the shape " << pinText()
                << ", but the model declares dimension #" << i << " as "
                << dim.dim_value();
        ok = false;
      }
      shape.push_back(dim.dim_value());
      missing += (i ? "x" : "") + std::to_string(dim.dim_value());
      continue;
    }
    std::string param = dim.has_dim_param() ? dim.dim_param() : "";
    if (pin) {
      shape.push_back((*pin)[i]);
      continue;
    }
    if (!param.empty()) {
      auto it = options.dims.find(param);
      if (it != options.dims.end()) {
        if (it->second < 0) {
          error() << "dimension '" << param << "' is pinned to a negative size " << it->second;
          ok = false;
        }
        shape.push_back(it->second);
        missing += (i ? "x" : "") + std::to_string(it->second);
        continue;
      }
    }
    missing += std::string(i ? "x" : "") + "<" + (param.empty() ? "?" : param) + ">";
    unpinned = "unpinned";
    shape.push_back(0);
  }
  if (!unpinned.empty()) {
    unpinned = "shape " + missing;
    return failure();
  }
  if (!ok)
    return failure();
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d && total > (int64_t(1) << 40) / d)
      return error() << "input '" << name << "' has more than 2^40 elements";
    total *= d;
  }
  return RankedTensorType::get(shape, elt);
}

LogicalResult Importer::checkOutputType(const onnx::ValueInfoProto &info,
                                        Value value,
                                        ArrayRef<ImportContext::RunTimeDim> runTime) {
  // An output declared without a type takes the computed one, as in
  // onnxruntime and newer ONNX releases.
  if (!info.has_type() || info.type().value_case() == onnx::TypeProto::VALUE_NOT_SET)
    return success();
  if (!info.type().has_tensor_type())
    return error() << "graph output '" << info.name() << "' is not a tensor";
  auto actual = cast<RankedTensorType>(value.getType());
  if (actual.getElementType().isInteger(4))
    return error() << "graph output '" << info.name()
                   << "' holds 4-bit integers, which Weft takes only as constants "
                      "inside the model";
  const auto &tt = info.type().tensor_type();
  if (Type elt = convertElementType(&context, tt.elem_type()))
    if (elt != actual.getElementType())
      return error() << "graph output '" << info.name()
                     << "' is declared with element type "
                     << onnxTypeName(tt.elem_type())
                     << " but the graph computes " << actual;
  if (!tt.has_shape())
    return success();
  SmallVector<int64_t> declared;
  for (const auto &dim : tt.shape().dim()) {
    // Not fully static (a named dim, or -1 as older exporters write a
    // dynamic one, with the other dims often those of the export's sample):
    // nothing to compare.
    if (!dim.has_dim_value() || dim.dim_value() == -1)
      return success();
    declared.push_back(dim.dim_value());
  }
  // A dim the run sizes may be declared with any size up to its bound (an
  // exporter writes the size its sample run gave).
  SmallVector<int64_t> computed(actual.getShape());
  for (const auto &d : runTime)
    if (d.dim < (int64_t)declared.size() && declared[d.dim] <= computed[d.dim])
      computed[d.dim] = declared[d.dim];
  if (ArrayRef<int64_t>(declared) != ArrayRef<int64_t>(computed)) {
    std::string decl;
    llvm::raw_string_ostream os(decl);
    os << "[";
    llvm::interleaveComma(declared, os);
    os << "]";
    return error() << "graph output '" << info.name()
                   << "' is declared with shape " << decl
                   << " but the graph computes " << actual;
  }
  return success();
}

FailureOr<OwningOpRef<ModuleOp>>
Importer::build(const ConverterTable &table) {
  const auto &graph = model.graph();
  if (graph.sparse_initializer_size() > 0)
    return error() << "sparse initializers (such as '"
                   << graph.sparse_initializer(0).values().name()
                   << "') are not supported";
  llvm::StringMap<const onnx::TensorProto *> initializers;
  for (const auto &init : graph.initializer())
    initializers[init.name()] = &init;

  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  bool inputsOk = true;
  // Inputs whose shape is not known: one message lists every input and the
  // flag that pins it.
  SmallVector<std::pair<std::string, std::string>> unpinned;
  llvm::StringSet<> graphInputs;
  for (const auto &in : graph.input()) {
    graphInputs.insert(in.name());
    if (initializers.count(in.name()))
      continue; // An input with a default value is a constant to Weft.
    std::string why;
    auto type = inputType(in, why);
    if (failed(type)) {
      inputsOk = false;
      if (!why.empty())
        unpinned.push_back({in.name(), why});
      continue;
    }
    argTypes.push_back(*type);
    argNames.push_back(in.name());
  }
  for (const auto &entry : options.inputShapes)
    if (!graphInputs.contains(entry.getKey()))
      return error() << "--input-shape names '" << entry.getKey()
                     << "', which is not an input of the model";
  for (const auto &entry : options.inputValues)
    if (!graphInputs.contains(entry.getKey()) || initializers.count(entry.getKey()))
      return error() << "--input-value names '" << entry.getKey()
                     << "', which is not an input of the model";
  if (!unpinned.empty()) {
    auto diag = error();
    diag << (unpinned.size() == 1 ? "an input has a shape" : "some inputs have shapes")
         << " not known at compile time; pin each with --input-shape NAME=D0xD1x... "
            "(or its named dimensions with --dim NAME=N):";
    for (const auto &[name, why] : unpinned)
      diag << "\n  input '" << name << "': " << why << "  ->  --input-shape '" << name
           << "=" << (StringRef(why).starts_with("shape ") ? StringRef(why).drop_front(6) : "D0xD1x...")
           << "'";
    diag << "\n(replace each <...> with its size)";
  }
  if (!inputsOk)
    return failure();
  if (graph.output_size() == 0)
    return error() << "ONNX model '" << path << "' has no graph outputs";

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  if (deviceAnnotations)
    (*module)->setAttr("weft.device_annotations", deviceAnnotations);
  OpBuilder builder(&context);
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, options.entryName,
                                   builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  builder.setInsertionPointToEnd(body);

  ImportContext ctx(builder, opset);
  ctx.setIntegerConvolutions(options.integerConvolutions);
  ctx.setOriginalOpset(originalOpset);
  ctx.setConverters(&table);
  SmallVector<Attribute> specialized;
  for (auto [i, name] : llvm::enumerate(argNames)) {
    body->getArgument(i).setLoc(NameLoc::get(builder.getStringAttr(name)));
    // A specialized input is a constant to the graph; the argument stays so
    // that the runtime can check the caller passes that value.
    auto value = inputValues.find(name);
    if (value != inputValues.end()) {
      ctx.define(name, ctx.constant(value->second));
      specialized.push_back(value->second);
    } else {
      ctx.define(name, body->getArgument(i));
      specialized.push_back(builder.getUnitAttr());
    }
  }
  for (const auto &init : graph.initializer())
    if (!ctx.isDefined(init.name()))
      ctx.addLazyInitializer(init.name(), &init);

  for (int i = 0; i < graph.node_size(); ++i) {
    const auto &node = graph.node(i);
    std::string name = displayName(node, i);
    ctx.beginNode(node, name);
    ConvertFn convert = table.lookup(node.op_type());
    if (failed(convert(ctx, node, opset)) || ctx.hadAttributeError() ||
        failed(propagateRunTimeDims(ctx, node)))
      return failure();
    for (int j = 0; j < node.output_size(); ++j)
      if (!node.output(j).empty() && !ctx.isDefined(node.output(j)))
        ctx.markUnproduced(node.output(j),
                           "output #" + std::to_string(j) + " of node '" +
                               name + "' (" + node.op_type() + ")");
  }

  // Graph outputs are looked up as uses of a final pseudo-node.
  SmallVector<Value> results;
  SmallVector<Attribute> outputNames;
  for (const auto &out : graph.output()) {
    if (auto producer = ctx.unproducedBy(out.name()))
      return error() << "graph output '" << out.name() << "' is " << *producer
                     << ", which Weft does not support";
    if (!ctx.isDefined(out.name()))
      return error() << "graph output '" << out.name()
                     << "' is not computed by any node";
    auto value = ctx.lookup(out.name());
    if (failed(value) || failed(checkOutputType(out, *value, ctx.runTimeDims(out.name()))))
      return failure();
    results.push_back(*value);
    outputNames.push_back(builder.getStringAttr(out.name()));
  }
  // Outputs sized at run time: each is packed in its run-time shape's
  // row-major order (unless its padding already trails its elements), and
  // the sizes follow the outputs as i64 scalars, which the runtime reads
  // ("weft.output_extents" says which dim of which output each one sizes).
  SmallVector<Value> extents;
  SmallVector<Attribute> outputExtents;
  for (auto [i, out] : llvm::enumerate(graph.output())) {
    auto type = cast<RankedTensorType>(results[i].getType());
    SmallVector<int64_t> slots(type.getRank(), -1);
    SmallVector<ImportContext::RunTimeDim> dims(ctx.runTimeDims(out.name()));
    llvm::sort(dims, [](const auto &a, const auto &b) { return a.dim < b.dim; });
    SmallVector<Value> sizes;
    SmallVector<int64_t> at;
    for (const auto &d : dims) {
      auto it = llvm::find(extents, d.extent);
      slots[d.dim] = it - extents.begin();
      if (it == extents.end())
        extents.push_back(d.extent);
      sizes.push_back(d.extent);
      at.push_back(d.dim);
    }
    int64_t before = 1;
    for (int64_t d = 0; !dims.empty() && d < dims[0].dim; ++d)
      before *= type.getShape()[d];
    if (!dims.empty() && (dims.size() > 1 || before != 1))
      results[i] = CompactOp::create(builder, NameLoc::get(builder.getStringAttr(out.name())),
                                     type, results[i], sizes, at);
    outputExtents.push_back(builder.getDenseI64ArrayAttr(slots));
  }
  if (!extents.empty()) {
    func->setAttr("weft.output_extents", builder.getArrayAttr(outputExtents));
    func->setAttr("weft.num_extents", builder.getI64IntegerAttr(extents.size()));
    llvm::append_range(results, extents);
  }
  func::ReturnOp::create(builder, fileLoc, results);
  // Shape inputs, folded shape arithmetic and attribute-like initializers
  // leave constants nobody reads; drop them so the IR shows the graph.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*body)))
    if (isa<ConstantOp>(op) && op.use_empty())
      op.erase();
  func.setType(builder.getFunctionType(argTypes, ValueRange(results).getTypes()));

  SmallVector<Attribute> inputNames;
  for (const auto &name : argNames)
    inputNames.push_back(builder.getStringAttr(name));
  func->setAttr("weft.input_names", builder.getArrayAttr(inputNames));
  func->setAttr("weft.output_names", builder.getArrayAttr(outputNames));
  if (!inputValues.empty())
    func->setAttr("weft.input_values", builder.getArrayAttr(specialized));

  // 4-bit integers exist only as constants (quantized weights): kernels
  // would store them a byte each but load vectors of them packed.
  bool narrow = false;
  func.walk([&](Operation *op) {
    if (narrow || isa<ConstantOp>(op))
      return;
    auto types = llvm::concat<const Type>(op->getOperandTypes(), op->getResultTypes());
    for (Type t : types)
      if (auto tt = dyn_cast<RankedTensorType>(t))
        if (tt.getElementType().isInteger(4)) {
          std::string node, type;
          llvm::raw_string_ostream(type) << tt;
          if (auto name = dyn_cast<NameLoc>(op->getLoc())) {
            node = "node '" + name.getName().str() + "'";
            if (auto kind = dyn_cast<NameLoc>(name.getChildLoc()))
              node += " (" + kind.getName().str() + ")";
            node += ": ";
          }
          op->emitError() << node << "computes on 4-bit integers (" << type
                          << ") at run time; Weft takes INT4/UINT4 only as constants "
                             "(quantized weights that DequantizeLinear turns into floats "
                             "at compile time, with an f32 scale)";
          narrow = true;
          return;
        }
  });
  if (narrow)
    return failure();
  if (failed(mlir::verify(*module)))
    return failure();
  return module;
}

FailureOr<OwningOpRef<ModuleOp>> Importer::run() {
  context.loadDialect<WeftDialect, func::FuncDialect>();
  if (failed(parse()) || failed(validateGraph()) || failed(loadExternalData()) ||
      failed(findOpset()))
    return failure();
  originalOpset = opset;
  if (failed(check()) || failed(upgrade()) || failed(loadInputValues()))
    return failure();
  if (auto why = expandQuantizedContribOps(model))
    return error() << *why;
  ConverterTable table = buildConverterTable();
  if (failed(checkSupported(table)))
    return failure();
  return build(table);
}

FailureOr<OwningOpRef<ModuleOp>>
weft::importOnnxFile(MLIRContext &context, StringRef path,
                     const ImportOptions &options) {
  Importer importer(context, path, options);
  try {
    return importer.run();
  } catch (const std::exception &e) {
    // Converters do not throw; this guards protobuf/libonnx surprises.
    emitError(FileLineColLoc::get(&context, path, 0, 0))
        << "cannot import ONNX model '" << path << "': " << e.what();
    return failure();
  }
}
