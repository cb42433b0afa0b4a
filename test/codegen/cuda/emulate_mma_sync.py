#!/usr/bin/env python3
"""Runs weft-cuda-distribute-lanes' mma.sync tensor-core code for one warp
in an emulator of the PTX ISA's warp-level ldmatrix and mma.sync.

No GPU is needed: for each kind of product (bf16; TF32 of inputs already
rounded to TF32, as a block stages them; 3xTF32 of plain f32 inputs,
which the warp splits itself) and each of the four layouts of A and B
(each stored with the reduction contiguous or not) this writes a warp's
matmul (rows x cols x depth, marked weft.mma, its operands in workgroup
memory), lowers it with weft-opt, and interprets the straight-line code it
becomes for all 32 lanes at once: affine index arithmetic, the lanes' own
loads of operand elements and loads and stores of their f32 sums, the
TF32 conversion (cvt.rna.tf32.f32: to nearest, ties away from zero), and
the two warp-wide operations as the PTX ISA defines them
(g = lane / 4, t = lane % 4):

  ldmatrix.sync.aligned.m8n8.x4[.trans].b16: lanes 8j .. 8j + 7 name the
    rows of 8 x 8 piece j (16 bytes each: 8 bf16 or 4 f32); lane i
    receives in register j the 32-bit word (g, t) of piece j (of its
    transpose with .trans): bf16 elements (g, 2t) and (g, 2t + 1), or f32
    element (g, t).
  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: A's register r
    holds (g + 8 (r % 2), 2t + 8 (r / 2)) and the element after it in its
    row; B's register r holds (k = 2t + 8r, n = g) and (2t + 8r + 1, g).
  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32: A's register r
    holds (g + 8 (r % 2), t + 4 (r / 2)); B's register r (k = t + 4r,
    n = g); the tensor cores read a register's upper 19 bits (the low 13
    are dropped, not rounded).
  Both: C's and D's element r is (g + 8 (r / 2), 2t + r % 2).

For bf16 and TF32 the result must equal the float64 product of the
operands plus C (within f32 rounding); for 3xTF32, the float64 sum of the
three products of the split operands (small(A) big(B), big(A) small(B),
big(A) big(B)) plus C, and the line reports the error against the exact
product. Each layout runs twice: with A's and B's rows as far apart as in a
block's shared buffers without padding (32 or 64 elements: the reduction
step's or the block's width) and with them padded as
weft-cuda-tile-threads allocates them (16 bytes; 32 for TF32 rows that run
across the reduction, which the lanes read element by element). For each
ldmatrix the emulator counts shared-memory bank conflicts (each of its
four 8 x 8 pieces is one request of 8 rows of 16 bytes), and for each
lane load the 32 lanes' request; each 4-byte bank serves one distinct
address per request, and the most addresses on one bank is the request's
"ways". Prints one PASS or FAIL line per kind and layout with the most
ways seen and a summary; exits non-zero on a failure.
"""

import argparse
import itertools
import re
import subprocess
import sys

import numpy as np

ROWS, COLS, DEPTH = 32, 32, 32


def source(kind, a_kmajor, b_kmajor, a_lead, b_lead):
    """The warp's matmul of `kind` ("bf16", "tf32" or "3xtf32"): A stored
    [m, k] or, with a_kmajor, [k, m]; B stored [k, n] or, with b_kmajor,
    [n, k] (the reduction contiguous); their rows a_lead and b_lead
    elements apart."""
    element = "bf16" if kind == "bf16" else "f32"
    a_shape = f"{DEPTH}x{ROWS}" if a_kmajor else f"{ROWS}x{DEPTH}"
    b_shape = f"{COLS}x{DEPTH}" if b_kmajor else f"{DEPTH}x{COLS}"
    a_shape += f"x{element}, strided<[{a_lead}, 1]>"
    b_shape += f"x{element}, strided<[{b_lead}, 1]>"
    a_map = "(k, m)" if a_kmajor else "(m, k)"
    b_map = "(n, k)" if b_kmajor else "(k, n)"
    ws = "#gpu.address_space<workgroup>"
    if kind == "bf16":
        product = """%xw = arith.extf %x : bf16 to f32
      %yw = arith.extf %y : bf16 to f32
      %p = arith.mulf %xw, %yw : f32"""
    else:
        product = "%p = arith.mulf %x, %y : f32"
    return f"""
func.func private @warp(%a: memref<{a_shape}, {ws}>, %b: memref<{b_shape}, {ws}>,
                        %c: memref<{ROWS}x{COLS}xf32, {ws}>)
    attributes {{weft.dispatch_fn, weft.lanes = 256 : i64}} {{
  scf.forall (%w) in (1) {{
    linalg.generic {{indexing_maps = [affine_map<(m, n, k) -> {a_map}>,
                                      affine_map<(m, n, k) -> {b_map}>,
                                      affine_map<(m, n, k) -> (m, n)>],
                    iterator_types = ["parallel", "parallel", "reduction"]}}
        ins(%a, %b : memref<{a_shape}, {ws}>, memref<{b_shape}, {ws}>)
        outs(%c : memref<{ROWS}x{COLS}xf32, {ws}>) attrs = {{weft.mma = "{kind}"}} {{
    ^bb0(%x: {element}, %y: {element}, %o: f32):
      {product}
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }}
  }} {{mapping = [#gpu.warp<linear_dim_0>]}}
  return
}}
"""


def to_tf32(x):
    """cvt.rna.tf32.f32: the low 13 bits of the magnitude rounded away
    (ties away from zero)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x1000) >> 13) << 13
    return bits.astype(np.uint32).view(np.float32)


def tf32_truncated(x):
    """What a tensor core reads of an f32 register for TF32: its upper 19
    bits."""
    bits = np.float32(x).view(np.uint32) & np.uint32(0xFFFFE000)
    return float(bits.view(np.float32))


def to_bf16(x):
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


class Emulator:
    """Interprets the lowered warp, every SSA value a list of 32 (one per
    lane)."""

    def __init__(self, text, buffers, leads, element_bytes):
        self.maps = {}
        self.leads = dict(leads)  # buffer -> elements between its rows
        self.element_bytes = element_bytes
        self.ways = 0  # the most rows of an ldmatrix piece on one bank
        self.load_ways = 0  # the most lanes' addresses on one bank (lane loads)
        for name, expr in re.findall(r"^#(\w+) = affine_map<\(d0\) -> \((.*)\)>$", text, re.M):
            self.maps[name] = expr.replace("floordiv", "//").replace("mod", "%")
        self.values = dict(buffers)  # %argN -> numpy buffer, shared by all lanes
        self.text = text

    def lanes(self, fn):
        return [fn(lane) for lane in range(32)]

    def index(self, operands):
        names = [o.strip() for o in operands.split(",")]
        return self.lanes(lambda lane: tuple(self.values[n][lane] for n in names))

    def run(self):
        # The body of the scf.if that runs the warp loop's one iteration.
        body = self.text[self.text.index("scf.if"):]
        body = body[body.index("\n") + 1:body.index("\n    }")]
        for line in body.splitlines():
            self.step(line.strip())

    def step(self, line):
        v = self.values
        if m := re.fullmatch(r"(%\w+) = memref\.subview (%\w+)\[0, 0\] .*", line):
            v[m[1]] = v[m[2]]
            if m[2] in self.leads:
                self.leads[m[1]] = self.leads[m[2]]
        elif m := re.fullmatch(r"(%\w+) = gpu\.lane_id upper_bound 32", line):
            v[m[1]] = list(range(32))
        elif m := re.fullmatch(r"(%\w+) = affine\.apply #(\w+)\((%\w+)\)", line):
            expr = self.maps[m[2]]
            v[m[1]] = self.lanes(lambda lane: eval(expr, {"d0": v[m[3]][lane]}))
        elif m := re.fullmatch(r"(%\w+) = vector\.load (%\w+)\[(.*?)\] : .*, vector<2xf32>", line):
            buf = v[m[2]]
            v[m[1]] = [tuple(buf[i, j:j + 2]) for i, j in self.index(m[3])]
        elif m := re.fullmatch(r"vector\.store (%\w+), (%\w+)\[(.*?)\] : .*, vector<2xf32>", line):
            buf = v[m[2]]
            for (i, j), pair in zip(self.index(m[3]), v[m[1]]):
                buf[i, j:j + 2] = pair
        elif m := re.fullmatch(r"(%\w+) = memref\.load (%\w+)\[(.*?)\] : .*", line):
            buf, lead = v[m[2]], self.leads[m[2]]
            addresses = self.index(m[3])
            on_bank = [set() for _ in range(32)]
            for i, j in addresses:
                on_bank[(i * lead + j) % 32].add(i * lead + j)
            self.load_ways = max(self.load_ways, max(len(s) for s in on_bank))
            v[m[1]] = [float(buf[i, j]) for i, j in addresses]
        elif m := re.fullmatch(r"(%\w+) = arith\.bitcast (%\w+) : (f32 to i32|i32 to f32)", line):
            v[m[1]] = v[m[2]]  # registers hold their f32 values
        elif m := re.fullmatch(r"(%\w+) = nvvm\.convert\.float\.to\.tf32 (%\w+) "
                               r"\{rnd = #nvvm\.fp_rnd_mode<rna>\}", line):
            v[m[1]] = [float(to_tf32(np.array([x], np.float32))[0]) for x in v[m[2]]]
        elif m := re.fullmatch(r"(%\w+) = arith\.subf (%\w+), (%\w+) : f32", line):
            v[m[1]] = [float(np.float32(x) - np.float32(y)) for x, y in zip(v[m[2]], v[m[3]])]
        elif m := re.fullmatch(r"(%\w+) = vector\.extract (%\w+)\[(\d+)\] : .*", line):
            v[m[1]] = [x[int(m[3])] for x in v[m[2]]]
        elif m := re.fullmatch(r"(%\w+) = vector\.bitcast (%\w+) : vector<2xbf16> to "
                               r"vector<1xi32>", line):
            v[m[1]] = [(pair,) for pair in v[m[2]]]  # one 32-bit register: the pair
        elif m := re.fullmatch(r"(%\w+) = vector\.bitcast (%\w+) : vector<1xf32> to "
                               r"vector<1xi32>", line):
            v[m[1]] = v[m[2]]  # one 32-bit register: the f32
        elif m := re.fullmatch(r"(%\w+) = vector\.from_elements (%\w+), (%\w+) : vector<2xf32>",
                               line):
            v[m[1]] = list(zip(v[m[2]], v[m[3]]))
        elif m := re.fullmatch(r"(%\w+) = llvm\.extractvalue (%\w+)\[(\d+)\] : .*", line):
            v[m[1]] = [x[int(m[3])] for x in v[m[2]]]
        elif m := re.fullmatch(r"(%\w+) = nvgpu\.ldmatrix (%\w+)\[(.*?)\] \{numTiles = 4 : i32, "
                               r"transpose = (true|false)\} : .*", line):
            v[m[1]] = self.ldmatrix(v[m[2]], self.index(m[3]), m[4] == "true",
                                    self.leads[m[2]])
        elif m := re.fullmatch(r"(%\w+) = nvvm\.mma\.sync A\[(.*?)\]\s+B\[(.*?)\]\s+C\[(.*?)\]\s+"
                               r"\{(.*)\} : .*", line):
            bf16 = "multiplicandAPtxType = #nvvm.mma_type<bf16>" in m[5]
            shape = "m = 16, n = 8, k = 16" if bf16 else "m = 16, n = 8, k = 8"
            if ((not bf16 and "multiplicandAPtxType = #nvvm.mma_type<tf32>" not in m[5]) or
                    f"shape = #nvvm.shape<{shape}>" not in m[5] or
                    "layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>" not in m[5]):
                raise SystemExit("emulate_mma_sync: not a bf16 m16n8k16 or tf32 m16n8k8 "
                                 f"row.col mma: {line}")
            regs = [[v[n.strip()] for n in group.split(",")] for group in (m[2], m[3], m[4])]
            v[m[1]] = self.mma_bf16(*regs) if bf16 else self.mma_tf32(*regs)
        else:
            raise SystemExit(f"emulate_mma_sync: cannot interpret: {line}")

    def ldmatrix(self, buf, addresses, transpose, lead):
        regs = [[None] * 4 for _ in range(32)]
        size = self.element_bytes
        width = 16 // size  # elements per row of a piece
        for j in range(4):
            rows = addresses[8 * j:8 * j + 8]
            # Each row: 16 bytes from byte size (i lead + c), on four banks.
            on_bank = [set() for _ in range(32)]
            for i, c in rows:
                start = size * (i * lead + c)
                for word in range(4):
                    on_bank[(start // 4 + word) % 32].add(start)
            self.ways = max(self.ways, max(len(s) for s in on_bank))
            piece = np.array([buf[i, c:c + width] for i, c in rows])
            if transpose:
                if size != 2:
                    raise SystemExit("emulate_mma_sync: ldmatrix.trans of 32-bit elements")
                piece = piece.T
            for lane in range(32):
                g, t = lane // 4, lane % 4
                regs[lane][j] = ((piece[g, 2 * t], piece[g, 2 * t + 1]) if size == 2 else
                                 (float(piece[g, t]),))
        return [tuple(r) for r in regs]

    @staticmethod
    def sums(c_vals):
        c = np.zeros((16, 8))
        for lane in range(32):
            g, t = lane // 4, lane % 4
            for r in range(4):
                c[g + 8 * (r // 2), 2 * t + r % 2] = c_vals[r][lane]
        return c

    @staticmethod
    def lanes_of(d):
        return [tuple(d[lane // 4 + 8 * (r // 2), 2 * (lane % 4) + r % 2] for r in range(4))
                for lane in range(32)]

    def mma_bf16(self, a_regs, b_regs, c_vals):
        a, b = np.zeros((16, 16)), np.zeros((16, 8))
        for lane in range(32):
            g, t = lane // 4, lane % 4
            for r in range(4):
                x0, x1 = a_regs[r][lane]
                row, col = g + 8 * (r % 2), 2 * t + 8 * (r // 2)
                a[row, col], a[row, col + 1] = x0, x1
            for r in range(2):
                y0, y1 = b_regs[r][lane]
                b[2 * t + 8 * r, g], b[2 * t + 8 * r + 1, g] = y0, y1
        return self.lanes_of(a @ b + self.sums(c_vals))

    def mma_tf32(self, a_regs, b_regs, c_vals):
        a, b = np.zeros((16, 8)), np.zeros((8, 8))
        for lane in range(32):
            g, t = lane // 4, lane % 4
            for r in range(4):
                a[g + 8 * (r % 2), t + 4 * (r // 2)] = tf32_truncated(a_regs[r][lane])
            for r in range(2):
                b[t + 4 * r, g] = tf32_truncated(b_regs[r][lane])
        return self.lanes_of(a @ b + self.sums(c_vals))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weft-opt", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    failures = runs = 0
    for kind, padded, a_kmajor, b_kmajor in itertools.product(
            ("bf16", "tf32", "3xtf32"), (False, True), (False, True), (False, True)):
        # A block's step of A is 64 rows x 32 steps, of B 32 steps x 64
        # columns: a row of 32 elements where the reduction is
        # contiguous, of 64 where it is not; padded by 16 bytes, or for
        # TF32 rows across the reduction 32.
        size = 2 if kind == "bf16" else 4
        def lead(across):
            pad = (32 if across and size == 4 else 16) // size if padded else 0
            return (64 if across else 32) + pad
        a_lead, b_lead = lead(a_kmajor), lead(not b_kmajor)
        runs += 1
        label = (f"{kind} a={'km' if a_kmajor else 'mk'} b={'nk' if b_kmajor else 'kn'} "
                 f"leads {a_lead}/{b_lead}")
        proc = subprocess.run(
            [args.weft_opt, "-", "--pass-pipeline=builtin.module(func.func("
             "weft-cuda-distribute-lanes))"],
            input=source(kind, a_kmajor, b_kmajor, a_lead, b_lead),
            capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"FAIL {label}: weft-opt failed\n{proc.stderr}")
            failures += 1
            continue
        a = rng.uniform(-1, 1, (ROWS, DEPTH)).astype(np.float32)
        b = rng.uniform(-1, 1, (DEPTH, COLS)).astype(np.float32)
        if kind == "bf16":
            a, b = to_bf16(a), to_bf16(b)
        elif kind == "tf32":  # staged rounded
            a, b = to_tf32(a), to_tf32(b)
        c = rng.uniform(-1, 1, (ROWS, COLS)).astype(np.float64)
        exact = a.astype(np.float64) @ b.astype(np.float64) + c
        expected = exact
        if kind == "3xtf32":
            def split(x):
                big = to_tf32(x)
                return big.astype(np.float64), to_tf32(x - big).astype(np.float64)
            (a_big, a_small), (b_big, b_small) = split(a), split(b)
            expected = a_small @ b_big + a_big @ b_small + a_big @ b_big + c
        buffers = {"%arg0": a.T.copy() if a_kmajor else a.copy(),
                   "%arg1": b.T.copy() if b_kmajor else b.copy(), "%arg2": c.copy()}
        emulator = Emulator(proc.stdout, buffers, {"%arg0": a_lead, "%arg1": b_lead}, size)
        emulator.run()
        error = np.abs(buffers["%arg2"] - expected).max()
        ok = error < 1e-9
        failures += not ok
        detail = ", ".join(f"{what} {ways}-way" for what, ways in (
            ("ldmatrix", emulator.ways), ("lane loads", emulator.load_ways)) if ways)
        detail += " bank conflicts"
        if kind == "3xtf32":
            rounded = to_tf32(a).astype(np.float64) @ to_tf32(b).astype(np.float64) + c
            detail += (f"; vs the exact product {np.abs(buffers['%arg2'] - exact).max():.2g} "
                       f"(TF32 alone {np.abs(rounded - exact).max():.2g})")
        print(f"{'PASS' if ok else 'FAIL'} {label}: max error {error:.3g}, {detail}")
    print(f"emulate_mma_sync: {runs - failures} of {runs} runs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
