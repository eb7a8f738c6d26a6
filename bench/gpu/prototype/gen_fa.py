#!/usr/bin/env python3
"""Generates an FA2-style forward kernel (bf16, causal, one config) as MLIR text.

  python3 gen_fa.py --d 64 --hq 8 --hkv 2 > fa_fwd.mlir

Block: 4 warps x 16 query rows = 64-row query tile; key tiles of 64 keys
through shared memory with cp.async (zero-fill past Skv / Sq); S = Q K^T and
O += P V with nvvm.mma.sync m16n8k16 bf16 -> f32; online softmax in
registers with ex2.approx; P repacked from accumulator to A fragments in
registers; epilogue staged through shared memory for 16-byte stores.
Causal (bottom-right aligned: row r is at position r + Skv - Sq, sees keys
k <= position); the element mask is applied only to tiles that need it.
"""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("--d", type=int, default=64)
ap.add_argument("--hq", type=int, default=8)
ap.add_argument("--hkv", type=int, default=2)
ap.add_argument("--causal", type=int, default=1)
ap.add_argument("--name", default="f_attn0")
ap.add_argument("--dyn", type=int, default=0, help="shared memory through gpu.dynamic_shared_memory")
args = ap.parse_args()

D = args.d
HQ, HKV = args.hq, args.hkv
BR, BC = 64, 64          # query rows per block, keys per tile
WARPS = 4
NT = 128
PAD = 8                  # smem row padding (elements) against ldmatrix bank conflicts
LD = D + PAD
NJ = BC // 8             # S n-tiles per warp (8 keys each)
NKD = D // 16            # k-steps of Q K^T
NKP = BC // 16           # k-steps of P V
NDN = D // 8             # O n-tiles
CHUNKS_PER_ROW = D // 8  # 16-byte chunks per row

G = "memref<4294967296xbf16>"
S = f"memref<{BR}x{LD}xbf16, #gpu.address_space<workgroup>>"

out = []
cnt = [0]


def emit(s):
    out.append("      " + s)


def v(prefix="v"):
    cnt[0] += 1
    return f"%{prefix}{cnt[0]}"


def op(text, prefix="v"):
    r = v(prefix)
    emit(f"{r} = {text}")
    return r


consts = {}
constlines = []


def ci(n):
    if n not in consts:
        consts[n] = f"%c{n}".replace("-", "m")
        constlines.append(f"      {consts[n]} = arith.constant {n} : index")
    return consts[n]


def cf(x, name):
    r = f"%{name}"
    emit(f"{r} = arith.constant {x} : f32")
    return r


def add(a, b): return op(f"arith.addi {a}, {b} : index")
def mul(a, b): return op(f"arith.muli {a}, {b} : index")
def sub(a, b): return op(f"arith.subi {a}, {b} : index")
def div(a, b): return op(f"arith.divui {a}, {b} : index")
def rem(a, b): return op(f"arith.remui {a}, {b} : index")
def mini(a, b): return op(f"arith.minsi {a}, {b} : index")
def maxi(a, b): return op(f"arith.maxsi {a}, {b} : index")
def cmp(p, a, b): return op(f"arith.cmpi {p}, {a}, {b} : index")
def sel(c, a, b, t="index"): return op(f"arith.select {c}, {a}, {b} : {t}")
def fmul(a, b): return op(f"arith.mulf {a}, {b} : f32")
def fadd(a, b): return op(f"arith.addf {a}, {b} : f32")
def fsub(a, b): return op(f"arith.subf {a}, {b} : f32")
def fmax(a, b): return op(f"arith.maxnumf {a}, {b} : f32")
def ex2(a): return op(f'llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"({a}) : (f32) -> f32')


def pack_bf16x2(a, b):
    vec = op(f"vector.from_elements {a}, {b} : vector<2xf32>")
    h = op(f"arith.truncf {vec} : vector<2xf32> to vector<2xbf16>")
    return op(f"llvm.bitcast {h} : vector<2xbf16> to i32")


def ldmatrix4(mem, r, c, trans):
    fr = op(f"nvgpu.ldmatrix {mem}[{r}, {c}] {{numTiles = 4 : i32, transpose = {str(trans).lower()}}} : {S} -> vector<4x2xbf16>")
    regs = []
    for i in range(4):
        x = op(f"vector.extract {fr}[{i}] : vector<2xbf16> from vector<4x2xbf16>")
        regs.append(op(f"llvm.bitcast {x} : vector<2xbf16> to i32"))
    return regs


def mma(a, b, c):
    r = op(f"nvvm.mma.sync A[{', '.join(a)}] B[{', '.join(b)}] C[{', '.join(c)}] "
           "{layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, "
           "multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, "
           "shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>")
    return [op(f"llvm.extractvalue {r}[{i}] : !llvm.struct<(f32, f32, f32, f32)>") for i in range(4)]


def quad_reduce(x, kind):
    for off in ("%i1", "%i2"):
        s, _ = v(), None
        emit(f"{s}, {v('ok')} = gpu.shuffle xor {x}, {off}, %i32w : f32")
        x = fmax(x, s) if kind == "max" else fadd(x, s)
    return x


def copy_tile(gmem, base, stride, start, limit, smem, tid):
    """cp.async a [64 x D] tile: rows start.. of gmem; rows >= limit zero-filled."""
    toks = []
    lim1 = sub(limit, ci(1))
    for i in range(BR * CHUNKS_PER_ROW // NT):
        c = add(tid, ci(NT * i)) if i else tid
        row = div(c, ci(CHUNKS_PER_ROW))
        col = mul(rem(c, ci(CHUNKS_PER_ROW)), ci(8))
        gr = add(start, row)
        ok = cmp("slt", gr, limit)
        n = sel(ok, ci(8), ci(0))
        grc = maxi(mini(gr, lim1), ci(0))
        src = add(add(base, mul(grc, stride)), col)
        t = v("tok")
        emit(f"{t} = nvgpu.device_async_copy {gmem}[{src}], {smem}[{row}, {col}], 8, {n} {{bypassL1}} : {G} to {S}")
        toks.append(t)
    g = v("grp")
    emit(f"{g} = nvgpu.device_async_create_group {', '.join(toks)}")
    return g


# ---------------------------------------------------------------- signature
params = ["%q: " + G, "%k: " + G, "%vv: " + G, "%o: " + G]
for t in ("q", "k", "v", "o"):
    for i in range(3):
        params.append(f"%{t}s{i}: i64")
params += ["%sq32: i32", "%skv32: i32", "%scale: f32"]

hdr = [
    "// Generated by gen_fa.py: FA2-style forward, bf16, D=%d, Hq=%d, Hkv=%d, %s." % (D, HQ, HKV, "causal" if args.causal else "dense"),
    "module attributes {gpu.container_module} {",
    "  gpu.module @kernels {",
    f"    gpu.func @{args.name}({', '.join(params)})",
    (f"        kernel" if args.dyn else f"        workgroup(%sQ: {S} {{llvm.align = 16 : i64}}, %sK: {S} {{llvm.align = 16 : i64}}, %sV: {S} {{llvm.align = 16 : i64}}) kernel"),
    f"        attributes {{known_block_size = array<i32: {NT}, 1, 1>}} {{",
]

if args.dyn:
    emit("%dsm = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>")
    for i, n in enumerate(("sQ", "sK", "sV")):
        emit(f"%{n} = memref.view %dsm[{ci(i * BR * LD * 2)}][] : memref<?xi8, #gpu.address_space<workgroup>> to {S}")
emit("%i1 = arith.constant 1 : i32")
emit("%i2 = arith.constant 2 : i32")
emit("%i32w = arith.constant 32 : i32")
ninf = cf("0xFF800000", "ninf")
fz = cf("0.0", "fz")
f1 = cf("1.0", "f1")
log2e = cf("1.44269504088896340", "log2e")
sl2 = fmul("%scale", log2e)
tid = op("gpu.thread_id x", "tid")
bx = op("gpu.block_id x", "bx")
by = op("gpu.block_id y", "by")
warp = div(tid, ci(32))
lane = rem(tid, ci(32))
g = div(lane, ci(4))
t = rem(lane, ci(4))
t2 = mul(t, ci(2))
l16 = rem(lane, ci(16))
l16c = mul(div(lane, ci(16)), ci(8))
l8 = rem(lane, ci(8))
l8c = mul(div(lane, ci(8)), ci(8))
idx = {}
for name in ["qs0", "qs1", "qs2", "ks0", "ks1", "ks2", "vs0", "vs1", "vs2", "os0", "os1", "os2"]:
    idx[name] = op(f"arith.index_cast %{name} : i64 to index")
Sq = op("arith.index_cast %sq32 : i32 to index")
Skv = op("arith.index_cast %skv32 : i32 to index")
b = div(by, ci(HQ))
h = rem(by, ci(HQ))
kvh = div(h, ci(HQ // HKV))
qbase = add(mul(b, idx["qs0"]), mul(h, idx["qs1"]))
kbase = add(mul(b, idx["ks0"]), mul(kvh, idx["ks1"]))
vbase = add(mul(b, idx["vs0"]), mul(kvh, idx["vs1"]))
obase = add(mul(b, idx["os0"]), mul(h, idx["os1"]))
r0 = mul(bx, ci(BR))
offs = sub(Skv, Sq)
wrow = mul(warp, ci(16))

# Q tile -> smem -> A fragments (registers for the whole kernel)
gq = copy_tile("%q", qbase, idx["qs2"], r0, Sq, "%sQ", tid)
emit(f"nvgpu.device_async_wait {gq} {{numGroups = 0 : i32}}")
emit("gpu.barrier")
qrow = add(wrow, l16)
qa = []
for kk in range(NKD):
    qa.append(ldmatrix4("%sQ", qrow, add(l16c, ci(16 * kk)) if kk else l16c, False))

# key range: [0, hi) with hi = min(Skv, lastRowPos + 1) (causal) or Skv
if args.causal:
    rlast = sub(mini(add(r0, ci(BR)), Sq), ci(1))
    hi = maxi(mini(Skv, add(add(rlast, offs), ci(1))), ci(0))
else:
    hi = Skv
ntiles = div(add(hi, ci(BC - 1)), ci(BC))
firstPos = add(r0, offs)
# this thread's two rows' positions
pos0 = add(add(firstPos, wrow), g)
pos1 = add(pos0, ci(8))

ot = "vector<4xf32>"
zero4 = op(f"arith.constant dense<0.0> : {ot}")
ninf2 = op("arith.constant dense<0xFF800000> : vector<2xf32>")
zero2 = op("arith.constant dense<0.0> : vector<2xf32>")
iters = [f"%O{j}" for j in range(NDN)]
res = [v("res") for _ in range(NDN + 2)]
emit(f"{', '.join(res)} = scf.for %kt = {ci(0)} to {ntiles} step {ci(1)} "
     f"iter_args({', '.join(f'{n} = {zero4}' for n in iters)}, %m = {ninf2}, %l = {zero2}) "
     f"-> ({', '.join([ot] * NDN + ['vector<2xf32>'] * 2)}) {{")
kstart = mul("%kt", ci(BC))
emit("gpu.barrier")
gk = copy_tile("%k", kbase, idx["ks2"], kstart, Skv, "%sK", tid)
gv = copy_tile("%vv", vbase, idx["vs2"], kstart, Skv, "%sV", tid)
emit(f"nvgpu.device_async_wait {gk} {{numGroups = 1 : i32}}")
emit("gpu.barrier")
# S = Q K^T : NJ n-tiles of 8 keys
s = []
for j in range(NJ):
    acc = [fz] * 4
    for kk2 in range(NKD // 2):
        kb = ldmatrix4("%sK", add(l8, ci(8 * j)) if j else l8, add(l8c, ci(32 * kk2)) if kk2 else l8c, False)
        acc = mma(qa[2 * kk2], kb[0:2], acc)
        acc = mma(qa[2 * kk2 + 1], kb[2:4], acc)
    s.append([fmul(x, sl2) for x in acc])
flat = [x for row in s for x in row]
if args.causal:
    tend = add(kstart, ci(BC))
    need = op(f"arith.ori {cmp('sgt', tend, add(firstPos, ci(1)))}, {cmp('sgt', tend, Skv)} : i1")
else:
    tend = add(kstart, ci(BC))
    need = cmp("sgt", tend, Skv)
masked = [v("sm") for _ in flat]
emit(f"{', '.join(masked)} = scf.if {need} -> ({', '.join(['f32'] * len(flat))}) {{")
outm = []
for j in range(NJ):
    for e in range(4):
        key = add(kstart, add(t2, ci(8 * j + (e % 2))))
        pos = pos0 if e < 2 else pos1
        vis = cmp("slt", key, Skv)
        if args.causal:
            vis = op(f"arith.andi {vis}, {cmp('sle', key, pos)} : i1")
        outm.append(sel(vis, s[j][e], ninf, "f32"))
emit(f"  scf.yield {', '.join(outm)} : {', '.join(['f32'] * len(flat))}")
emit("} else {")
emit(f"  scf.yield {', '.join(flat)} : {', '.join(['f32'] * len(flat))}")
emit("}")
s = [masked[4 * j:4 * j + 4] for j in range(NJ)]
# online softmax, rows r=0 (g) and r=1 (g+8)
mold = [op(f"vector.extract %m[{r}] : f32 from vector<2xf32>") for r in range(2)]
lold = [op(f"vector.extract %l[{r}] : f32 from vector<2xf32>") for r in range(2)]
mnew, alpha, lnew = [], [], []
p = [[None] * 4 for _ in range(NJ)]
for r in range(2):
    mx = mold[r]
    for j in range(NJ):
        mx = fmax(mx, fmax(s[j][2 * r], s[j][2 * r + 1]))
    mx = quad_reduce(mx, "max")
    isninf = op(f"arith.cmpf oeq, {mx}, {ninf} : f32")
    msafe = sel(isninf, fz, mx, "f32")
    a = ex2(fsub(mold[r], msafe))
    sm = fz
    for j in range(NJ):
        for e in (2 * r, 2 * r + 1):
            p[j][e] = ex2(fsub(s[j][e], msafe))
            sm = fadd(sm, p[j][e])
    mnew.append(mx)
    alpha.append(a)
    lnew.append(fadd(fmul(lold[r], a), sm))
mvec = op(f"vector.from_elements {mnew[0]}, {mnew[1]} : vector<2xf32>")
lvec = op(f"vector.from_elements {lnew[0]}, {lnew[1]} : vector<2xf32>")
avec = op(f"vector.from_elements {alpha[0]}, {alpha[0]}, {alpha[1]}, {alpha[1]} : {ot}")
oacc = []
for j in range(NDN):
    sc = op(f"arith.mulf {iters[j]}, {avec} : {ot}")
    oacc.append([op(f"vector.extract {sc}[{e}] : f32 from {ot}") for e in range(4)])
# P as A fragments: k-step kk covers S n-tiles 2kk, 2kk+1
pa = []
for kk in range(NKP):
    a0, a1 = p[2 * kk], p[2 * kk + 1]
    pa.append([pack_bf16x2(a0[0], a0[1]), pack_bf16x2(a0[2], a0[3]),
               pack_bf16x2(a1[0], a1[1]), pack_bf16x2(a1[2], a1[3])])
emit(f"nvgpu.device_async_wait {gv} {{numGroups = 0 : i32}}")
emit("gpu.barrier")
for dn in range(D // 16):
    for kk in range(NKP):
        vb = ldmatrix4("%sV", add(l16, ci(16 * kk)) if kk else l16, add(l16c, ci(16 * dn)) if dn else l16c, True)
        oacc[2 * dn] = mma(pa[kk], vb[0:2], oacc[2 * dn])
        oacc[2 * dn + 1] = mma(pa[kk], vb[2:4], oacc[2 * dn + 1])
ys = [op(f"vector.from_elements {', '.join(o4)} : {ot}") for o4 in oacc]
emit(f"scf.yield {', '.join(ys)}, {mvec}, {lvec} : {', '.join([ot] * NDN + ['vector<2xf32>'] * 2)}")
emit("}")
# epilogue: O / l, bf16, through smem (this warp's 16 rows of sQ), 16-byte stores
lf = res[NDN + 1]
inv = []
for r in range(2):
    lr = op(f"vector.extract {lf}[{r}] : f32 from vector<2xf32>")
    lr = quad_reduce(lr, "sum")
    pos = op(f"arith.cmpf ogt, {lr}, {fz} : f32")
    rc = op(f"arith.divf {f1}, {lr} : f32")
    inv.append(sel(pos, rc, fz, "f32"))
emit("gpu.barrier")
rg = add(wrow, g)
rg8 = add(rg, ci(8))
for j in range(NDN):
    o4 = [op(f"vector.extract {res[j]}[{e}] : f32 from {ot}") for e in range(4)]
    for r, row in ((0, rg), (1, rg8)):
        x0 = fmul(o4[2 * r], inv[r])
        x1 = fmul(o4[2 * r + 1], inv[r])
        vec = op(f"vector.from_elements {x0}, {x1} : vector<2xf32>")
        hb = op(f"arith.truncf {vec} : vector<2xf32> to vector<2xbf16>")
        emit(f"vector.store {hb}, %sQ[{row}, {add(t2, ci(8 * j)) if j else t2}] : {S}, vector<2xbf16>")
emit("gpu.barrier")
for i in range(16 * CHUNKS_PER_ROW // 32):
    c = add(lane, ci(32 * i)) if i else lane
    rowl = div(c, ci(CHUNKS_PER_ROW))
    col = mul(rem(c, ci(CHUNKS_PER_ROW)), ci(8))
    row = add(wrow, rowl)
    gr = add(r0, row)
    ok = cmp("slt", gr, Sq)
    emit(f"scf.if {ok} {{")
    x = op(f"vector.load %sQ[{row}, {col}] : {S}, vector<8xbf16>")
    dst = add(add(obase, mul(gr, idx["os2"])), col)
    emit(f"  vector.store {x}, %o[{dst}] {{alignment = 16}} : {G}, vector<8xbf16>")
    emit("}")
emit("gpu.return")

body = constlines[:3] + out[:4] + constlines[3:] + out[4:] if args.dyn else constlines + out
print("\n".join(hdr + body + ["    }", "  }", "}"]))
