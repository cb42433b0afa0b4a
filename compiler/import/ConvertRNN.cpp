//===- ConvertRNN.cpp - ONNX RNN, GRU and LSTM -> weft ---------------------===//
//
// Recurrent layers are unrolled over their (static) sequence length at
// import up to kMaxUnrolledSteps steps; a longer sequence becomes a
// weft.loop that the host program runs over the steps (the states carried,
// each step gathering its rows of the projection). Per direction, the input projection of every time step is one
// gemm ([S*B, I] x W^T, with the biases folded into its addend); each step
// then adds one gemm of the previous hidden state with R^T and applies the
// gates elementwise, which the dispatch formation fuses into that gemm's
// epilogue. Sequence lengths mask the steps past a batch entry's end: its
// state stops changing and its outputs are zero, which also makes reverse
// directions start at each entry's last valid step; an entry of length 0
// outputs zero states.
//
//===----------------------------------------------------------------------===//
#include "compiler/import/ImportContext.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace weft;

namespace {

using Node = onnx::NodeProto;

/// The longest sequence unrolled at import; longer ones run as a
/// weft.loop over the steps.
constexpr int64_t kMaxUnrolledSteps = 16;

/// One activation of the recurrence with its parameters.
struct Activation {
  std::string name; // lower case
  float alpha = 0, beta = 0;
};

/// Builds the ops of one recurrent node; every helper reports at the node.
class Recurrence {
public:
  Recurrence(ImportContext &ctx, const Node &node) : ctx(ctx), node(node) {}

  FailureOr<Value> slice(Value v, ArrayRef<int64_t> starts, ArrayRef<int64_t> sizes) {
    SmallVector<int64_t> steps(starts.size(), 1);
    return ctx.createInferred<SliceOp>(v, starts, sizes, ArrayRef<int64_t>(steps));
  }
  /// Columns [start, start + n) of a 2-D value.
  FailureOr<Value> columns(Value v, int64_t start, int64_t n) {
    return slice(v, {0, start}, {ImportContext::typeOf(v).getShape()[0], n});
  }
  /// Row `d` of a [D, ...] value, without the leading dimension.
  FailureOr<Value> direction(Value v, int64_t d) {
    auto t = ImportContext::typeOf(v);
    SmallVector<int64_t> starts(t.getRank(), 0), sizes(t.getShape());
    starts[0] = d;
    sizes[0] = 1;
    auto s = slice(v, starts, sizes);
    if (failed(s))
      return failure();
    return ctx.reshape(*s, t.getShape().drop_front());
  }
  template <typename OpTy>
  FailureOr<Value> binary(FailureOr<Value> a, FailureOr<Value> b) {
    if (failed(a) || failed(b))
      return failure();
    return ctx.createInferred<OpTy>(*a, *b);
  }
  /// a x b^T (+ c).
  FailureOr<Value> gemmBT(Value a, Value b, Value c) {
    OpBuilder &bld = ctx.getBuilder();
    return ctx.createInferred<GemmOp>(a, b, c, bld.getF32FloatAttr(1.0f),
                                      bld.getF32FloatAttr(1.0f), bld.getBoolAttr(false),
                                      bld.getBoolAttr(true));
  }
  Value scalar(Type elt, double v) {
    return ctx.splat(RankedTensorType::get({}, elt), v);
  }

  FailureOr<Value> apply(const Activation &act, FailureOr<Value> x) {
    if (failed(x))
      return failure();
    Type elt = ImportContext::typeOf(*x).getElementType();
    OpBuilder &b = ctx.getBuilder();
    auto param = [&](ActivationKind kind, float alpha, float beta) -> Value {
      return ctx.create<ActivationOp>(*x, ActivationKindAttr::get(ctx.getContext(), kind),
                                      b.getF32FloatAttr(alpha), b.getF32FloatAttr(beta));
    };
    const std::string &n = act.name;
    if (n == "sigmoid")
      return ctx.create<SigmoidOp>(*x);
    if (n == "tanh")
      return ctx.create<TanhOp>(*x);
    if (n == "relu")
      return ctx.create<ReluOp>(*x);
    if (n == "softsign")
      return ctx.create<SoftsignOp>(*x);
    if (n == "softplus")
      return ctx.create<SoftplusOp>(*x);
    if (n == "leakyrelu")
      return param(ActivationKind::leaky_relu, act.alpha, 0);
    if (n == "thresholdedrelu")
      return param(ActivationKind::thresholded_relu, act.alpha, 0);
    if (n == "hardsigmoid")
      return param(ActivationKind::hard_sigmoid, act.alpha, act.beta);
    if (n == "elu")
      return param(ActivationKind::elu, act.alpha, 0);
    if (n == "affine")
      return binary<AddOp>(binary<MulOp>(*x, scalar(elt, act.alpha)), scalar(elt, act.beta));
    if (n == "scaledtanh") {
      auto inner = binary<MulOp>(*x, scalar(elt, act.beta));
      if (failed(inner))
        return failure();
      return binary<MulOp>(ctx.create<TanhOp>(*inner), scalar(elt, act.alpha));
    }
    (void)ctx.fail("activation '" + n + "' is not an RNN activation ONNX defines");
    return failure();
  }

  /// The `perDirection` activations of each of `dirs` directions: the
  /// attribute's list (one set per direction; a single set serves both
  /// directions) or the defaults. activation_alpha/beta are consumed in
  /// order by the activations that take parameters, as onnxruntime does;
  /// missing ones take the ONNX op's default.
  FailureOr<SmallVector<Activation>> activations(int64_t dirs, ArrayRef<StringRef> defaults) {
    SmallVector<Activation> acts;
    const auto *attr = ImportContext::findAttr(node, "activations");
    int64_t per = defaults.size();
    if (attr && attr->strings_size() > 0) {
      if (attr->strings_size() != per && attr->strings_size() != per * dirs) {
        (void)ctx.fail("'activations' needs " + Twine(per) + " names per direction, got " +
                       Twine(attr->strings_size()));
        return failure();
      }
      for (const std::string &s : attr->strings())
        acts.push_back({llvm::StringRef(s).lower()});
    } else {
      for (StringRef s : defaults)
        acts.push_back({s.lower()});
    }
    SmallVector<float> alphas = ctx.getFloats(node, "activation_alpha", {});
    SmallVector<float> betas = ctx.getFloats(node, "activation_beta", {});
    size_t ai = 0, bi = 0;
    for (Activation &a : acts) {
      const std::string &n = a.name;
      float da = 0, db = 0;
      bool takesAlpha = true, takesBeta = false;
      if (n == "leakyrelu")
        da = 0.01f;
      else if (n == "thresholdedrelu" || n == "elu")
        da = 1.0f;
      else if (n == "hardsigmoid") {
        da = 0.2f, db = 0.5f;
        takesBeta = true;
      } else if (n == "affine" || n == "scaledtanh") {
        da = 1.0f, db = 0.0f;
        takesBeta = true;
      } else
        takesAlpha = false;
      a.alpha = takesAlpha && ai < alphas.size() ? alphas[ai++] : da;
      a.beta = takesBeta && bi < betas.size() ? betas[bi++] : db;
    }
    if (acts.size() == (size_t)per && dirs == 2)
      acts.append(SmallVector<Activation>(acts));
    return acts;
  }

  /// Clamps a gate's pre-activation to [-clip, clip] when `clip` is set.
  FailureOr<Value> clipped(FailureOr<Value> x) {
    if (failed(x) || !clip)
      return x;
    Type elt = ImportContext::typeOf(*x).getElementType();
    OpBuilder &b = ctx.getBuilder();
    return ctx.create<ClipOp>(*x, cast<TypedAttr>(b.getFloatAttr(elt, -*clip)),
                              cast<TypedAttr>(b.getFloatAttr(elt, *clip)));
  }

  ImportContext &ctx;
  const Node &node;
  std::optional<double> clip;
};

enum class Cell { rnn, gru, lstm };

LogicalResult convertRecurrent(ImportContext &ctx, const Node &node, Cell cell) {
  Recurrence r(ctx, node);
  int64_t gates = cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1;
  auto x = ctx.input(node, 0);
  auto w = ctx.input(node, 1);
  auto rw = ctx.input(node, 2);
  if (failed(x) || failed(w) || failed(rw))
    return failure();
  auto bias = ctx.optionalInput(node, 3);
  auto lens = ctx.optionalInput(node, 4);
  auto h0 = ctx.optionalInput(node, 5);
  FailureOr<Value> c0 = Value(), peep = Value();
  if (cell == Cell::lstm) {
    c0 = ctx.optionalInput(node, 6);
    peep = ctx.optionalInput(node, 7);
  }
  if (failed(bias) || failed(lens) || failed(h0) || failed(c0) || failed(peep))
    return failure();

  std::string dirName = ctx.getString(node, "direction", "forward");
  int64_t dirs = dirName == "bidirectional" ? 2 : 1;
  if (dirName != "forward" && dirName != "reverse" && dirName != "bidirectional")
    return ctx.fail("direction '" + dirName + "' is not forward, reverse or bidirectional");
  int64_t layout = ctx.getInt(node, "layout", 0);
  if (layout != 0 && layout != 1)
    return ctx.fail("layout must be 0 or 1, got " + Twine(layout));
  if (cell == Cell::lstm && ctx.getInt(node, "input_forget", 0) != 0)
    return ctx.fail("input_forget=1 (coupled input and forget gates) is not supported");
  if (ImportContext::hasAttr(node, "clip")) {
    r.clip = ctx.getFloat(node, "clip", 0);
    if (!(*r.clip > 0))
      return ctx.fail("clip must be positive");
  }
  bool linearBeforeReset = cell == Cell::gru && ctx.getInt(node, "linear_before_reset", 0) != 0;

  auto xt = ImportContext::typeOf(*x);
  Type elt = xt.getElementType();
  if (!isa<FloatType>(elt))
    return ctx.fail("needs a floating-point input");
  if (xt.getRank() != 3)
    return ctx.fail("X must have rank 3, got rank " + Twine(xt.getRank()));
  Value input = *x;
  if (layout == 1) {
    auto t = ctx.createInferred<TransposeOp>(input, ArrayRef<int64_t>{1, 0, 2});
    if (failed(t))
      return failure();
    input = *t;
  }
  auto it = ImportContext::typeOf(input);
  int64_t seq = it.getShape()[0], batch = it.getShape()[1], inSize = it.getShape()[2];
  auto wt = ImportContext::typeOf(*w), rt = ImportContext::typeOf(*rw);
  if (wt.getRank() != 3 || wt.getShape()[0] != dirs || wt.getShape()[2] != inSize ||
      wt.getShape()[1] % gates != 0)
    return ctx.fail("W must have shape [" + Twine(dirs) + ", " + Twine(gates) + "*hidden, " +
                    Twine(inSize) + "]");
  int64_t hidden = wt.getShape()[1] / gates;
  if (ImportContext::hasAttr(node, "hidden_size") &&
      ctx.getInt(node, "hidden_size", 0) != hidden)
    return ctx.fail("hidden_size " + Twine(ctx.getInt(node, "hidden_size", 0)) +
                    " does not match W's " + Twine(hidden));
  if (rt.getShape() != ArrayRef<int64_t>{dirs, gates * hidden, hidden})
    return ctx.fail("R must have shape [" + Twine(dirs) + ", " + Twine(gates * hidden) + ", " +
                    Twine(hidden) + "]");
  if (*bias && ImportContext::typeOf(*bias).getShape() !=
                   ArrayRef<int64_t>{dirs, 2 * gates * hidden})
    return ctx.fail("B must have shape [" + Twine(dirs) + ", " + Twine(2 * gates * hidden) + "]");
  auto stateShape = SmallVector<int64_t>{dirs, batch, hidden};
  for (auto [v, what] : {std::pair{*h0, "initial_h"}, std::pair{*c0, "initial_c"}})
    if (v && ImportContext::typeOf(v).getShape() != ArrayRef<int64_t>(stateShape))
      return ctx.fail(Twine(what) + " must have shape [" + Twine(dirs) + ", " + Twine(batch) +
                      ", " + Twine(hidden) + "]");
  if (*peep && ImportContext::typeOf(*peep).getShape() != ArrayRef<int64_t>{dirs, 3 * hidden})
    return ctx.fail("P must have shape [" + Twine(dirs) + ", " + Twine(3 * hidden) + "]");
  if (batch == 0 || hidden == 0)
    return ctx.fail("an empty batch or hidden size is not supported");

  // Sequence lengths: a [B, 1] bool mask per step (t < length), none when
  // every length is the full sequence.
  Value lengths;
  if (*lens) {
    auto lt = ImportContext::typeOf(*lens);
    if (lt.getShape() != ArrayRef<int64_t>{batch} || !lt.getElementType().isInteger(32))
      return ctx.fail("sequence_lens must be int32 of shape [" + Twine(batch) + "]");
    bool full = false;
    if (auto attr = ImportContext::getConstantValue(*lens)) {
      full = true;
      for (int64_t v : ImportContext::toInts(attr)) {
        if (v < 0 || v > seq)
          return ctx.fail("sequence length " + Twine(v) + " is outside [0, " + Twine(seq) + "]");
        full &= v == seq;
      }
    }
    if (!full) {
      auto l2 = ctx.reshape(*lens, {batch, 1});
      if (failed(l2))
        return failure();
      lengths = *l2;
    }
  }
  auto stepMask = [&](int64_t t) -> FailureOr<Value> {
    Value tv = ctx.splat(RankedTensorType::get({}, IntegerType::get(ctx.getContext(), 32)),
                         (double)t);
    return ctx.createInferred<CompareOp>(CompareKind::gt, lengths, tv);
  };

  SmallVector<StringRef> defaults;
  if (cell == Cell::lstm)
    defaults = {"Sigmoid", "Tanh", "Tanh"};
  else if (cell == Cell::gru)
    defaults = {"Sigmoid", "Tanh"};
  else
    defaults = {"Tanh"};
  auto acts = r.activations(dirs, defaults);
  if (failed(acts))
    return failure();
  int64_t per = defaults.size();

  auto flatX = ctx.reshape(input, {seq * batch, inSize});
  if (failed(flatX))
    return failure();
  Value zeros = ctx.splat(RankedTensorType::get({batch, hidden}, elt), 0.0);

  // Per direction: Y's [S][B, H] steps and the final states.
  SmallVector<SmallVector<Value>> ys(dirs);
  // Per direction, Y's steps as one [S, B, H] value when the steps ran in a
  // loop.
  SmallVector<Value> yRun;
  SmallVector<Value> finalH, finalC;
  for (int64_t d = 0; d < dirs; ++d) {
    bool reverse = dirName == "reverse" || d == 1;
    const Activation *f = &(*acts)[d * per];
    auto wd = r.direction(*w, d);
    auto rd = r.direction(*rw, d);
    if (failed(wd) || failed(rd))
      return failure();
    // The input projection's addend: Wb + Rb, except GRU's hidden-gate Rb,
    // which is added after the reset gate.
    Value addend;
    Value rbh;
    if (*bias) {
      auto bd = r.direction(*bias, d);
      if (failed(bd))
        return failure();
      auto wb = r.slice(*bd, {0}, {gates * hidden});
      auto rb = r.slice(*bd, {gates * hidden}, {gates * hidden});
      if (failed(wb) || failed(rb))
        return failure();
      if (cell == Cell::gru) {
        auto rbzr = r.slice(*rb, {0}, {2 * hidden});
        auto rbhv = r.slice(*rb, {2 * hidden}, {hidden});
        if (failed(rbzr) || failed(rbhv))
          return failure();
        rbh = *rbhv;
        auto padded = ctx.createInferred<ConcatOp>(
            ValueRange{*rbzr, ctx.splat(RankedTensorType::get({hidden}, elt), 0.0)}, (int64_t)0);
        auto sum = r.binary<AddOp>(*wb, padded);
        if (failed(sum))
          return failure();
        addend = *sum;
      } else {
        auto sum = r.binary<AddOp>(*wb, *rb);
        if (failed(sum))
          return failure();
        addend = *sum;
      }
    }
    auto projected = r.gemmBT(*flatX, *wd, addend);
    if (failed(projected))
      return failure();
    // GRU's recurrent weights split: [z, r] rows and the hidden gate's.
    Value rzr, rh;
    if (cell == Cell::gru) {
      auto a = r.slice(*rd, {0, 0}, {2 * hidden, hidden});
      auto b = r.slice(*rd, {2 * hidden, 0}, {hidden, hidden});
      if (failed(a) || failed(b))
        return failure();
      rzr = *a;
      rh = *b;
    }
    Value pi, po, pf;
    if (*peep) {
      auto pd = r.direction(*peep, d);
      if (failed(pd))
        return failure();
      auto a = r.slice(*pd, {0}, {hidden});
      auto b = r.slice(*pd, {hidden}, {hidden});
      auto c = r.slice(*pd, {2 * hidden}, {hidden});
      if (failed(a) || failed(b) || failed(c))
        return failure();
      pi = *a, po = *b, pf = *c;
    }
    Value h = zeros, c = zeros;
    if (*h0) {
      auto v = r.direction(*h0, d);
      if (failed(v))
        return failure();
      h = *v;
    }
    if (*c0) {
      auto v = r.direction(*c0, d);
      if (failed(v))
        return failure();
      c = *v;
    }
    // One step: the new hidden (and cell) state from the previous ones,
    // `xw` (this step's input projection) and `mask` (the batch entries
    // still running at this step; null when all are). Returns the new
    // states and the step's output.
    struct Step {
      Value h, c, out;
    };
    auto step = [&](Value h, Value c, Value xw, Value mask) -> FailureOr<Step> {
      FailureOr<Value> newH = failure(), newC = Value();
      if (cell == Cell::rnn) {
        newH = r.apply(f[0], r.clipped(r.gemmBT(h, *rd, xw)));
      } else if (cell == Cell::lstm) {
        auto g = r.gemmBT(h, *rd, xw);
        if (failed(g))
          return failure();
        // ONNX's gate order: input, output, forget, cell.
        auto gi = r.columns(*g, 0, hidden), go = r.columns(*g, hidden, hidden);
        auto gf = r.columns(*g, 2 * hidden, hidden), gc = r.columns(*g, 3 * hidden, hidden);
        if (pi) {
          gi = r.binary<AddOp>(gi, r.binary<MulOp>(c, pi));
          gf = r.binary<AddOp>(gf, r.binary<MulOp>(c, pf));
        }
        auto i = r.apply(f[0], r.clipped(gi));
        auto fg = r.apply(f[0], r.clipped(gf));
        auto cc = r.apply(f[1], r.clipped(gc));
        newC = r.binary<AddOp>(r.binary<MulOp>(fg, c), r.binary<MulOp>(i, cc));
        if (failed(newC))
          return failure();
        if (po)
          go = r.binary<AddOp>(go, r.binary<MulOp>(*newC, po));
        auto o = r.apply(f[0], r.clipped(go));
        newH = r.binary<MulOp>(o, r.apply(f[2], *newC));
      } else {
        auto gzr = r.gemmBT(h, rzr, Value());
        auto xzr = r.columns(xw, 0, 2 * hidden);
        auto pre = r.binary<AddOp>(xzr, gzr);
        if (failed(pre))
          return failure();
        auto z = r.apply(f[0], r.clipped(r.columns(*pre, 0, hidden)));
        auto rg = r.apply(f[0], r.clipped(r.columns(*pre, hidden, hidden)));
        auto xh = r.columns(xw, 2 * hidden, hidden);
        FailureOr<Value> hh = failure();
        if (linearBeforeReset) {
          auto hr = r.gemmBT(h, rh, rbh);
          hh = r.binary<AddOp>(xh, r.binary<MulOp>(rg, hr));
        } else {
          auto rhm = r.binary<MulOp>(rg, h);
          if (failed(rhm))
            return failure();
          hh = r.binary<AddOp>(xh, r.gemmBT(*rhm, rh, rbh));
        }
        auto cand = r.apply(f[1], r.clipped(hh));
        auto oneMinusZ = r.binary<SubOp>(r.scalar(elt, 1.0), z);
        newH = r.binary<AddOp>(r.binary<MulOp>(oneMinusZ, cand), r.binary<MulOp>(z, h));
      }
      if (failed(newH))
        return failure();
      if (!mask)
        return Step{*newH, cell == Cell::lstm ? *newC : c, *newH};
      auto keptH = ctx.createInferred<WhereOp>(mask, *newH, h);
      auto masked = ctx.createInferred<WhereOp>(mask, *newH, zeros);
      if (failed(keptH) || failed(masked))
        return failure();
      Value keptC = c;
      if (cell == Cell::lstm) {
        auto kept = ctx.createInferred<WhereOp>(mask, *newC, c);
        if (failed(kept))
          return failure();
        keptC = *kept;
      }
      return Step{*keptH, keptC, *masked};
    };
    if (seq <= kMaxUnrolledSteps) {
      ys[d].resize(seq);
      for (int64_t s = 0; s < seq; ++s) {
        int64_t t = reverse ? seq - 1 - s : s;
        auto xw = r.slice(*projected, {t * batch, 0}, {batch, gates * hidden});
        if (failed(xw))
          return failure();
        Value mask;
        if (lengths) {
          auto m = stepMask(t);
          if (failed(m))
            return failure();
          mask = *m;
        }
        auto next = step(h, c, *xw, mask);
        if (failed(next))
          return failure();
        h = next->h;
        c = next->c;
        ys[d][t] = next->out;
      }
    } else {
      // A long sequence runs as a weft.loop over the steps: the states are
      // carried, each step gathers its rows of the projection, and the
      // outputs stack in step order (reversed afterwards for a reverse
      // direction).
      OpBuilder &b = ctx.getBuilder();
      Location loc = ctx.getLoc();
      auto i64Scalar = [&](int64_t v) {
        return ctx.constant(DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                                   b.getI64IntegerAttr(v)));
      };
      auto proj3 = ctx.reshape(*projected, {seq, batch, gates * hidden});
      if (failed(proj3))
        return failure();
      Value yes = ctx.constant(
          DenseElementsAttr::get(RankedTensorType::get({}, b.getI1Type()), true));
      SmallVector<Value> inits = {h};
      if (cell == Cell::lstm)
        inits.push_back(c);
      SmallVector<Type> types;
      for (Value v : inits)
        types.push_back(v.getType());
      types.push_back(RankedTensorType::get({seq, batch, hidden}, elt));
      auto loop = LoopOp::create(b, loc, types, i64Scalar(seq), yes, inits);
      Block *body = addLoopBody(loop);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(body);
        Value t = body->getArgument(0);
        if (reverse) {
          auto rt = ctx.createInferred<SubOp>(i64Scalar(seq - 1), t);
          if (failed(rt))
            return failure();
          t = *rt;
        }
        auto xw = ctx.createInferred<GatherOp>(*proj3, t, (int64_t)0);
        if (failed(xw))
          return failure();
        Value mask;
        if (lengths) {
          Value t32 = ctx.create<CastOp>(RankedTensorType::get({}, b.getI32Type()), t);
          auto m = ctx.createInferred<CompareOp>(CompareKind::gt, lengths, t32);
          if (failed(m))
            return failure();
          mask = *m;
        }
        auto next = step(body->getArgument(2),
                         cell == Cell::lstm ? Value(body->getArgument(3)) : zeros, *xw, mask);
        if (failed(next))
          return failure();
        SmallVector<Value> yielded = {body->getArgument(1), next->h};
        if (cell == Cell::lstm)
          yielded.push_back(next->c);
        yielded.push_back(next->out);
        YieldOp::create(b, loc, yielded);
      }
      h = loop.getResult(0);
      if (cell == Cell::lstm)
        c = loop.getResult(1);
      Value stacked = loop.getResults().back();
      if (reverse) {
        auto flipped = ctx.createInferred<SliceOp>(
            stacked, ArrayRef<int64_t>{seq - 1, 0, 0}, ArrayRef<int64_t>{seq, batch, hidden},
            ArrayRef<int64_t>{-1, 1, 1});
        if (failed(flipped))
          return failure();
        stacked = *flipped;
      }
      yRun.push_back(stacked);
    }
    // An entry of length 0 ends with zero states (onnxruntime's behaviour),
    // not with its initial ones.
    if (lengths) {
      auto some = ctx.createInferred<CompareOp>(CompareKind::gt, lengths,
                                                ctx.splat(RankedTensorType::get(
                                                              {}, IntegerType::get(ctx.getContext(), 32)),
                                                          0.0));
      if (failed(some))
        return failure();
      auto hz = ctx.createInferred<WhereOp>(*some, h, zeros);
      auto cz = ctx.createInferred<WhereOp>(*some, c, zeros);
      if (failed(hz) || failed(cz))
        return failure();
      h = *hz;
      c = *cz;
    }
    finalH.push_back(h);
    finalC.push_back(c);
  }

  // Y: [S, D, B, H] (layout 0) or [B, S, D, H]; Y_h, Y_c: [D, B, H] or [B, D, H].
  auto stack = [&](ArrayRef<Value> parts, ArrayRef<int64_t> unitShape,
                   int64_t axis) -> FailureOr<Value> {
    SmallVector<Value> shaped;
    for (Value v : parts) {
      auto s = ctx.reshape(v, unitShape);
      if (failed(s))
        return failure();
      shaped.push_back(*s);
    }
    if (shaped.size() == 1)
      return shaped[0];
    return ctx.createInferred<ConcatOp>(ValueRange(shaped), axis);
  };
  if (ImportContext::hasOutput(node, 0)) {
    FailureOr<Value> y = failure();
    if (!yRun.empty()) {
      y = stack(yRun, {seq, 1, batch, hidden}, 1);
    } else {
      SmallVector<Value> steps;
      for (int64_t t = 0; t < seq; ++t) {
        SmallVector<Value> perDir;
        for (int64_t d = 0; d < dirs; ++d)
          perDir.push_back(ys[d][t]);
        auto st = stack(perDir, {1, 1, batch, hidden}, 1);
        if (failed(st))
          return failure();
        steps.push_back(*st);
      }
      y = steps.size() == 1 ? FailureOr<Value>(steps[0])
                            : ctx.createInferred<ConcatOp>(ValueRange(steps), (int64_t)0);
    }
    if (failed(y))
      return failure();
    if (layout == 1)
      y = ctx.createInferred<TransposeOp>(*y, ArrayRef<int64_t>{2, 0, 1, 3});
    if (failed(y))
      return failure();
    ctx.setOutput(node, 0, *y);
  }
  for (int k = 1; k <= (cell == Cell::lstm ? 2 : 1); ++k) {
    if (!ImportContext::hasOutput(node, k))
      continue;
    auto st = stack(k == 1 ? finalH : finalC, {1, batch, hidden}, 0);
    if (failed(st))
      return failure();
    if (layout == 1)
      st = ctx.createInferred<TransposeOp>(*st, ArrayRef<int64_t>{1, 0, 2});
    if (failed(st))
      return failure();
    ctx.setOutput(node, k, *st);
  }
  return success();
}

// ReverseSequence: along time_axis, the first sequence_lens[b] elements of
// batch b reversed, the rest kept. A GatherElements whose time index is
// lens[b] - 1 - t where t < lens[b], else t (lengths read at run time;
// lengths beyond the time axis are clamped like any gather index).
LogicalResult convertReverseSequence(ImportContext &ctx, const Node &node, int64_t) {
  auto x = ctx.input(node, 0);
  auto lens = ctx.input(node, 1);
  if (failed(x) || failed(lens))
    return failure();
  auto xt = ImportContext::typeOf(*x);
  auto lt = ImportContext::typeOf(*lens);
  if (xt.getRank() < 2)
    return ctx.fail("the input must have rank 2 or more");
  int64_t timeAxis = ctx.getInt(node, "time_axis", 0), batchAxis = ctx.getInt(node, "batch_axis", 1);
  if (!((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0)))
    return ctx.fail("time_axis and batch_axis must be 0 and 1, in either order");
  int64_t steps = xt.getShape()[timeAxis], batch = xt.getShape()[batchAxis];
  if (lt.getRank() != 1 || lt.getShape()[0] != batch || !lt.getElementType().isInteger(64))
    return ctx.fail("sequence_lens must be int64 of shape [" + Twine(batch) + "]");
  Type i64 = ctx.getBuilder().getI64Type();
  int64_t rank = xt.getRank();
  SmallVector<int64_t> tShape(rank, 1), bShape(rank, 1);
  tShape[timeAxis] = steps;
  bShape[batchAxis] = batch;
  SmallVector<APInt> iota;
  for (int64_t t = 0; t < steps; ++t)
    iota.push_back(APInt(64, t));
  Value t = ctx.constant(DenseElementsAttr::get(RankedTensorType::get(tShape, i64), iota));
  auto l = ctx.reshape(*lens, bShape);
  if (failed(l))
    return failure();
  Value one = ctx.splat(RankedTensorType::get({}, i64), 1.0);
  auto last = ctx.createInferred<SubOp>(*l, one);
  if (failed(last))
    return failure();
  auto reversed = ctx.createInferred<SubOp>(*last, t);
  auto inside = ctx.createInferred<CompareOp>(CompareKind::lt, t, *l);
  if (failed(reversed) || failed(inside))
    return failure();
  auto index = ctx.createInferred<WhereOp>(*inside, *reversed, t);
  if (failed(index))
    return failure();
  // Broadcast to X's shape: GatherElements takes indices of the output's.
  Value zeros = ctx.splat(RankedTensorType::get(xt.getShape(), i64), 0.0);
  auto full = ctx.createInferred<AddOp>(*index, zeros);
  if (failed(full))
    return failure();
  auto r = ctx.createInferred<GatherElementsOp>(*x, *full, timeAxis);
  if (failed(r))
    return failure();
  ctx.setOutput(node, 0, *r);
  return success();
}

} // namespace

void weft::registerRNNConverters(ConverterTable &t) {
  t["ReverseSequence"] = convertReverseSequence;
  t["RNN"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertRecurrent(ctx, node, Cell::rnn);
  };
  t["GRU"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertRecurrent(ctx, node, Cell::gru);
  };
  t["LSTM"] = [](ImportContext &ctx, const Node &node, int64_t) {
    return convertRecurrent(ctx, node, Cell::lstm);
  };
}
