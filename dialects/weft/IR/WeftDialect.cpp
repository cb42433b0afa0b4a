//===- WeftDialect.cpp - weft dialect registration ------------------------===//
//
// Registers the ops and materializes folded constants as weft.constant.
//
//===----------------------------------------------------------------------===//
#include "dialects/weft/IR/WeftDialect.h"

using namespace mlir;
using namespace weft;

#include "dialects/weft/IR/WeftDialect.cpp.inc"
#include "dialects/weft/IR/WeftEnums.cpp.inc"

void WeftDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/weft/IR/WeftOps.cpp.inc"
      >();
}

Operation *WeftDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}
