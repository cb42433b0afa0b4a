//===- WeftNames.cpp - user names that reach C or MLIR text --------------===//
#include "dialects/weft/IR/WeftNames.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Path.h"

using namespace weft;

static bool isCKeyword(llvm::StringRef s) {
  return llvm::StringSwitch<bool>(s)
      .Cases({"auto", "break", "case", "char", "const", "continue", "default", "do"}, true)
      .Cases({"double", "else", "enum", "extern", "float", "for", "goto", "if"}, true)
      .Cases({"inline", "int", "long", "register", "restrict", "return", "short"}, true)
      .Cases({"signed", "sizeof", "static", "struct", "switch", "typedef", "union"}, true)
      .Cases({"unsigned", "void", "volatile", "while", "bool", "true", "false"}, true)
      .Cases({"alignas", "alignof", "asm", "catch", "class", "constexpr", "delete"}, true)
      .Cases({"explicit", "export", "friend", "mutable", "namespace", "new", "nullptr"}, true)
      .Cases({"operator", "private", "protected", "public", "template", "this"}, true)
      .Cases({"throw", "try", "typename", "using", "virtual", "main"}, true)
      .Default(false);
}

std::optional<std::string> weft::checkModelName(llvm::StringRef name) {
  if (name.empty())
    return std::string("the model name is empty");
  if (name.size() > kMaxModelNameLength)
    return "the model name is longer than " + std::to_string(kMaxModelNameLength) +
           " characters";
  if (!llvm::isAlpha(name[0]) && name[0] != '_')
    return std::string("the model name must start with a letter or '_'");
  for (char c : name)
    if (!llvm::isAlnum(c) && c != '_')
      return "the model name may contain only letters, digits and '_' (it "
             "prefixes C symbols), not '" +
             escapeForCComment(llvm::StringRef(&c, 1)) + "'";
  if (name[0] == '_')
    return std::string("names starting with '_' are reserved in C");
  if (name.starts_with_insensitive("weft_") || name.equals_insensitive("weft"))
    return std::string("names starting with 'weft_' belong to the Weft runtime");
  if (isCKeyword(name))
    return std::string("'") + name.str() + "' is a C or C++ keyword";
  return std::nullopt;
}

std::string weft::modelNameFromPath(llvm::StringRef path) {
  std::string stem = llvm::sys::path::stem(path).str();
  std::string out;
  for (char c : stem)
    out += llvm::isAlnum(c) ? c : '_';
  if (out.size() > kMaxModelNameLength - 6)
    out.resize(kMaxModelNameLength - 6);
  if (checkModelName(out))
    out = "model_" + out;
  // "model_" plus a keyword or "weft" cannot clash with anything.
  return out;
}

std::string weft::escapeForCComment(llvm::StringRef text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = text[i];
    bool nextToStar = (i > 0 && text[i - 1] == '*') ||
                      (i + 1 < text.size() && text[i + 1] == '*');
    // Every '/' beside a '*' is escaped, so neither "*/" nor "/*" survives.
    if (c < 0x20 || c > 0x7e || c == '\\' || (c == '/' && nextToStar)) {
      out += "\\x";
      out += llvm::hexdigit(c >> 4, /*LowerCase=*/true);
      out += llvm::hexdigit(c & 15, /*LowerCase=*/true);
    } else {
      out += (char)c;
    }
  }
  return out;
}
