#!/usr/bin/env python3
"""Runs weft-cuda-distribute-lanes' bf16 tensor-core code for one warp in
an emulator of the PTX ISA's warp-level ldmatrix and mma.sync.

No GPU is needed: for each of the four layouts of A and B (each stored
with the reduction contiguous or not) this writes a warp's bf16 matmul
(rows x cols x depth, marked weft.mma = "bf16", its operands in workgroup
memory), lowers it with weft-opt, and interprets the straight-line code it
becomes for all 32 lanes at once: affine index arithmetic, the lanes' own
loads and stores of their f32 sums, and the two warp-wide operations as
the PTX ISA defines them:

  ldmatrix.sync.aligned.m8n8.x4[.trans].b16: lanes 8j .. 8j + 7 name the
    rows of 8 x 8 piece j; lane i receives in register j the elements
    (i / 4, 2 (i % 4)) and (i / 4, 2 (i % 4) + 1) of piece j (of its
    transpose with .trans).
  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, g = lane / 4,
    t = lane % 4: A's register r holds (g + 8 (r % 2), 2t + 8 (r / 2)) and
    the element after it in its row; B's register r holds (k = 2t + 8r,
    n = g) and (2t + 8r + 1, g); C's and D's element r is
    (g + 8 (r / 2), 2t + r % 2).

The result must equal the float64 product of the bf16 operands plus C
(within f32 rounding). Each layout runs twice: with A's and B's rows as
far apart as in a block's shared buffers without padding (32 or 64
elements: the reduction step's or the block's width) and with them padded
by 16 bytes (40 or 72) as weft-cuda-tile-threads allocates them. For each
ldmatrix the emulator also counts shared-memory bank conflicts: each of
its four 8 x 8 pieces is one request of 8 rows of 16 bytes, each 4-byte
bank serving one distinct address per request; the most rows on one bank
is the request's "ways". Prints one PASS or FAIL line per layout with the
most ways seen and a summary; exits non-zero on a failure.
"""

import argparse
import itertools
import re
import subprocess
import sys

import numpy as np

ROWS, COLS, DEPTH = 32, 32, 32


def source(a_kmajor, b_kmajor, a_lead, b_lead):
    """The warp's matmul: A stored [m, k] or, with a_kmajor, [k, m]; B
    stored [k, n] or, with b_kmajor, [n, k] (the reduction contiguous);
    their rows a_lead and b_lead elements apart."""
    a_shape = f"{DEPTH}x{ROWS}" if a_kmajor else f"{ROWS}x{DEPTH}"
    b_shape = f"{COLS}x{DEPTH}" if b_kmajor else f"{DEPTH}x{COLS}"
    a_shape += f"xbf16, strided<[{a_lead}, 1]>"
    b_shape += f"xbf16, strided<[{b_lead}, 1]>"
    a_map = "(k, m)" if a_kmajor else "(m, k)"
    b_map = "(n, k)" if b_kmajor else "(k, n)"
    ws = "#gpu.address_space<workgroup>"
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
        outs(%c : memref<{ROWS}x{COLS}xf32, {ws}>) attrs = {{weft.mma = "bf16"}} {{
    ^bb0(%x: bf16, %y: bf16, %o: f32):
      %xw = arith.extf %x : bf16 to f32
      %yw = arith.extf %y : bf16 to f32
      %p = arith.mulf %xw, %yw : f32
      %s = arith.addf %o, %p : f32
      linalg.yield %s : f32
    }}
  }} {{mapping = [#gpu.warp<linear_dim_0>]}}
  return
}}
"""


def to_bf16(x):
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


class Emulator:
    """Interprets the lowered warp, every SSA value a list of 32 (one per
    lane)."""

    def __init__(self, text, buffers, leads):
        self.maps = {}
        self.leads = dict(leads)  # buffer -> elements between its rows
        self.ways = 1  # the most rows of an ldmatrix piece on one bank
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
        elif m := re.fullmatch(r"(%\w+) = vector\.extract (%\w+)\[(\d+)\] : .*", line):
            v[m[1]] = [x[int(m[3])] for x in v[m[2]]]
        elif m := re.fullmatch(r"(%\w+) = vector\.bitcast (%\w+) : vector<2xbf16> to "
                               r"vector<1xi32>", line):
            v[m[1]] = [(pair,) for pair in v[m[2]]]  # one 32-bit register: the pair
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
            if ("multiplicandAPtxType = #nvvm.mma_type<bf16>" not in m[5] or
                    "shape = #nvvm.shape<m = 16, n = 8, k = 16>" not in m[5] or
                    "layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>" not in m[5]):
                raise SystemExit(f"emulate_mma_sync: not a bf16 m16n8k16 row.col mma: {line}")
            regs = [[v[n.strip()] for n in group.split(",")] for group in (m[2], m[3], m[4])]
            v[m[1]] = self.mma(*regs)
        else:
            raise SystemExit(f"emulate_mma_sync: cannot interpret: {line}")

    def ldmatrix(self, buf, addresses, transpose, lead):
        regs = [[None] * 4 for _ in range(32)]
        for j in range(4):
            rows = addresses[8 * j:8 * j + 8]
            # Each row: 16 bytes from byte 2 (i lead + c), on four banks.
            on_bank = [set() for _ in range(32)]
            for i, c in rows:
                start = 2 * (i * lead + c)
                for word in range(4):
                    on_bank[(start // 4 + word) % 32].add(start)
            self.ways = max(self.ways, max(len(s) for s in on_bank))
            piece = np.array([buf[i, c:c + 8] for i, c in rows])
            if transpose:
                piece = piece.T
            for lane in range(32):
                g, t = lane // 4, lane % 4
                regs[lane][j] = (piece[g, 2 * t], piece[g, 2 * t + 1])
        return [tuple(r) for r in regs]

    def mma(self, a_regs, b_regs, c_vals):
        a, b, c = np.zeros((16, 16)), np.zeros((16, 8)), np.zeros((16, 8))
        for lane in range(32):
            g, t = lane // 4, lane % 4
            for r in range(4):
                x0, x1 = a_regs[r][lane]
                row, col = g + 8 * (r % 2), 2 * t + 8 * (r // 2)
                a[row, col], a[row, col + 1] = x0, x1
            for r in range(2):
                y0, y1 = b_regs[r][lane]
                b[2 * t + 8 * r, g], b[2 * t + 8 * r + 1, g] = y0, y1
            for r in range(4):
                c[g + 8 * (r // 2), 2 * t + r % 2] = c_vals[r][lane]
        d = a @ b + c
        return [tuple(d[lane // 4 + 8 * (r // 2), 2 * (lane % 4) + r % 2] for r in range(4))
                for lane in range(32)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weft-opt", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    failures = runs = 0
    for pad, a_kmajor, b_kmajor in itertools.product((0, 8), (False, True), (False, True)):
        # A block's step of A is 64 rows x 32 steps, of B 32 steps x 64
        # columns: a row of 32 elements where the reduction is
        # contiguous, of 64 where it is not.
        a_lead = (64 if a_kmajor else 32) + pad
        b_lead = (32 if b_kmajor else 64) + pad
        runs += 1
        label = (f"a={'km' if a_kmajor else 'mk'} b={'nk' if b_kmajor else 'kn'} "
                 f"leads {a_lead}/{b_lead}")
        proc = subprocess.run(
            [args.weft_opt, "-", "--pass-pipeline=builtin.module(func.func("
             "weft-cuda-distribute-lanes))"],
            input=source(a_kmajor, b_kmajor, a_lead, b_lead),
            capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"FAIL {label}: weft-opt failed\n{proc.stderr}")
            failures += 1
            continue
        a = to_bf16(rng.uniform(-1, 1, (ROWS, DEPTH)))
        b = to_bf16(rng.uniform(-1, 1, (DEPTH, COLS)))
        c = rng.uniform(-1, 1, (ROWS, COLS)).astype(np.float64)
        expected = a.astype(np.float64) @ b.astype(np.float64) + c
        buffers = {"%arg0": a.T.copy() if a_kmajor else a.copy(),
                   "%arg1": b.T.copy() if b_kmajor else b.copy(), "%arg2": c.copy()}
        emulator = Emulator(proc.stdout, buffers, {"%arg0": a_lead, "%arg1": b_lead})
        emulator.run()
        error = np.abs(buffers["%arg2"] - expected).max()
        ok = error < 1e-9
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'} {label}: max error {error:.3g}, "
              f"ldmatrix {emulator.ways}-way bank conflicts")
    print(f"emulate_mma_sync: {runs - failures} of {runs} layouts")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
