//===- WeftNames.h - user names that reach C or MLIR text --------*- C++ -*-===//
//
// The one place that decides which user-given names may become C symbols
// (the model name, from --name or the output file) and how names that only
// appear as text (tensor names in the generated header's comments) are
// escaped. Every emitter of C text goes through these functions, and no
// user name is ever pasted into a textual MLIR pass pipeline.
//
//===----------------------------------------------------------------------===//
#ifndef WEFT_DIALECTS_WEFT_IR_WEFTNAMES_H
#define WEFT_DIALECTS_WEFT_IR_WEFTNAMES_H

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace weft {

/// The longest model name accepted (symbols are <name>_entry, <name>_info...).
constexpr size_t kMaxModelNameLength = 64;

/// Why `name` cannot be a model name (the prefix of every C symbol and macro
/// of a compiled model), or nullopt when it can: it must be a C identifier
/// ([A-Za-z_][A-Za-z0-9_]*, at most kMaxModelNameLength characters), not a
/// C/C++ keyword, not reserved to the implementation (a leading underscore),
/// and not in the runtime's own namespace (weft_..., WEFT_...).
std::optional<std::string> checkModelName(llvm::StringRef name);

/// A model name derived from a file path's stem ("my-model.o" -> "my_model";
/// "9lives.o" -> "model_9lives"); always passes checkModelName.
std::string modelNameFromPath(llvm::StringRef path);

/// `text` made safe inside a C block comment and on one line: bytes outside
/// printable ASCII and the backslash become \xNN escapes, and "*/" and "/*"
/// are broken up, so a name can neither end the comment nor open a new one.
std::string escapeForCComment(llvm::StringRef text);

} // namespace weft

#endif // WEFT_DIALECTS_WEFT_IR_WEFTNAMES_H
