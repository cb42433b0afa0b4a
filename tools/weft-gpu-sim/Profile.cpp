//===- Profile.cpp - weft-gpu-sim: memory accesses as a warp issues them ---===//
#include "tools/weft-gpu-sim/Profile.h"

#include "mlir/IR/Location.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/Format.h"

#include <algorithm>

using namespace mlir;

namespace weft::gpusim {

void MemoryProfile::record(Operation *op, Kind kind, int warp, int lane, int64_t exec, int buffer,
                           int64_t byte, unsigned bytes) {
  Request &r = open[Key(op, warp, exec, kind)];
  r.kind = kind;
  r.accesses.push_back({lane, buffer, byte, bytes});
}

void MemoryProfile::finish(Operation *op, int warp, int lane, int64_t exec, uint32_t laneMask) {
  // (None where this lane accessed nothing: a masked transfer.)
  for (int kind = 0; kind < NumKinds; ++kind) {
    auto it = open.find(Key(op, warp, exec, kind));
    if (it == open.end())
      continue;
    it->second.lanes |= 1u << lane;
    if ((it->second.lanes & laneMask) == laneMask) {
      close(op, it->second);
      open.erase(it);
    }
  }
}

void MemoryProfile::flush() {
  for (auto &[key, r] : open)
    close(std::get<0>(key), r);
  open.clear();
}

void MemoryProfile::close(Operation *op, Request &r) {
  if (r.accesses.empty())
    return;
  // Each lane's accesses sorted by address. Where every lane's are
  // contiguous, they are one access of the width w of the lanes' largest
  // (4, 8 or 16 bytes; more is cut into instructions of 16 bytes each);
  // else one instruction per element, as the code generator would emit.
  std::map<int, std::vector<Access>> lanes;
  for (const Access &a : r.accesses)
    lanes[a.lane].push_back(a);
  unsigned width = 4;
  bool contiguous = true;
  for (auto &[lane, list] : lanes) {
    std::sort(list.begin(), list.end(),
              [](const Access &a, const Access &b) { return a.byte < b.byte; });
    unsigned n = 0;
    for (auto [i, a] : llvm::enumerate(list)) {
      n += a.bytes;
      if (i && a.byte != list[i - 1].byte + list[i - 1].bytes)
        contiguous = false;
    }
    while (width < n && width < 16)
      width *= 2;
  }
  if (!contiguous)
    width = 4;
  // Global memory: per instruction, the sectors touched and the fewest
  // that hold its bytes. Shared memory: per instruction and group of
  // 128 / w lanes, the most distinct words on one bank.
  bool global = r.kind == GlobalLoad || r.kind == GlobalStore;
  int perGroup = global ? 32 : 128 / width;
  using Words = llvm::DenseSet<std::pair<int, int64_t>>;
  std::map<std::pair<int, int>, llvm::DenseMap<int64_t, Words>> groups;
  std::map<std::pair<int, int>, Words> bytesOf;
  int instructions = 0;
  for (auto &[lane, list] : lanes) {
    unsigned filled = 0;
    int piece = 0;
    for (auto [i, a] : llvm::enumerate(list)) {
      if (contiguous ? filled + a.bytes > width : i > 0) {
        ++piece;
        filled = 0;
      }
      filled += a.bytes;
      std::pair<int, int> at{piece, lane / perGroup};
      if (global) {
        for (int64_t s = a.byte / 32; s <= (a.byte + a.bytes - 1) / 32; ++s)
          groups[at][0].insert({a.buffer, s});
        for (unsigned k = 0; k < a.bytes; ++k)
          bytesOf[at].insert({a.buffer, a.byte + k});
      } else {
        for (int64_t w = a.byte / 4; w <= (a.byte + a.bytes - 1) / 4; ++w)
          groups[at][w % 32].insert({a.buffer, w});
      }
    }
    instructions = std::max(instructions, piece + 1);
  }
  int64_t units = 0, ideal = 0;
  for (auto &[at, banks] : groups) {
    int64_t most = 1;
    for (auto &[bank, words] : banks)
      most = std::max<int64_t>(most, words.size());
    units += most;
    ideal += global ? std::max<int64_t>(1, ((int64_t)bytesOf[at].size() + 31) / 32) : 1;
  }
  Stats &stats = perOp[{op, (int)r.kind}];
  for (Stats *s : {&stats, &totals[r.kind]}) {
    s->requests += instructions;
    s->units += units;
    s->ideal += ideal;
  }
}

static const char *kindName(MemoryProfile::Kind k) {
  switch (k) {
  case MemoryProfile::GlobalLoad: return "global-load";
  case MemoryProfile::GlobalStore: return "global-store";
  case MemoryProfile::SharedLoad: return "shared-load";
  case MemoryProfile::SharedStore: return "shared-store";
  default: return "?";
  }
}

void MemoryProfile::report(llvm::raw_ostream &os, int top) const {
  for (int k = 0; k < NumKinds; ++k) {
    const Stats &s = totals[k];
    bool global = k == GlobalLoad || k == GlobalStore;
    os << "profile: " << kindName((Kind)k) << " requests=" << s.requests
       << (global ? " sectors=" : " wavefronts=") << s.units << " ideal=" << s.ideal;
    if (s.units)
      os << " efficiency=" << llvm::format("%.3f", (double)s.ideal / s.units);
    os << "\n";
  }
  // The operations with the most excess, ties by location.
  std::vector<std::tuple<int64_t, std::string, Kind, Stats>> rows;
  for (auto &[opKind, s] : perOp) {
    if (s.units <= s.ideal)
      continue;
    std::string loc;
    llvm::raw_string_ostream ls(loc);
    opKind.first->getLoc().print(ls);
    rows.push_back({s.units - s.ideal, loc, (Kind)opKind.second, s});
  }
  std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) > std::get<0>(b)
                                            : std::get<1>(a) < std::get<1>(b);
  });
  for (auto &[excess, loc, kind, s] : llvm::ArrayRef(rows).take_front(top)) {
    bool global = kind == GlobalLoad || kind == GlobalStore;
    os << "profile-op: " << loc << " " << kindName(kind) << " requests=" << s.requests << " "
       << (global ? "sectors" : "wavefronts") << "/request="
       << llvm::format("%.2f", (double)s.units / s.requests)
       << " ideal=" << llvm::format("%.2f", (double)s.ideal / s.requests) << "\n";
  }
}

} // namespace weft::gpusim
