//===- WeftDialect.td - the weft dialect -------------------*- tablegen -*-===//
//
// The weft dialect holds an ONNX model as graph ops on ranked tensors, with
// every ONNX default made explicit, plus the structural ops later stages use:
// dispatch regions (one future kernel each) and their terminator.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_DIALECT_TD
#define WEFT_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Weft_Dialect : Dialect {
  let name = "weft";
  let cppNamespace = "::weft";
  let summary = "Graph-level ops of the Weft compiler";
  let description = [{
    Ops mirror ONNX operators on ranked, statically shaped tensors. Import
    makes every implicit ONNX attribute explicit, so passes never consult ONNX
    defaults. Structural ops (`weft.dispatch`, `weft.yield`) carry the result
    of dispatch formation and memory planning.
  }];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 0;
}

class Weft_Op<string mnemonic, list<Trait> traits = []>
    : Op<Weft_Dialect, mnemonic, traits>;

#endif // WEFT_DIALECT_TD
