// The WebAssembly text of mmrun's SIMD kernels, generated so the unrolled micro-kernels stay
// readable here. `npm run build:simd` (build.ts) assembles it into kernels.generated.ts.
// All kernels work in place on the tfjs wasm backend's memory (imported), so no tensor is copied.
// Pointers are byte offsets, sizes and strides are element counts, unless named *Bytes.

/** Rows × 4-wide column vectors of one GEMM micro-tile. */
// Rows of the main GEMM tile, and whether it multiplies-adds with relaxed-SIMD FMA. Measured (V8
// 11, x86-64): without FMA 4×8 ≈ 45 GFLOP/s and 6×8 spills registers (≈ 33); with FMA (one
// temporary less) 6×8 ≈ 60.
let MR = 4;
let FMA = false;
const tiles = (): [rows: number, vecs: number][] => [
  [MR, 2],
  [1, 2],
  [MR, 1],
  [1, 1],
];
// k-block: keeps the kc×8 panel of B and the A rows of a tile in L1 across the row tiles
// (measured: 128 ≥ 256 on every shape of the models, +20 % on the conv filter gradient).
let KC = 128;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** C[R×4V] (+)= A[R×kc] · B[kc×4V]; a(r,k) at pa + r*ars + k*acs (bytes), B rows ldb bytes apart. */
function tile(R: number, V: number): string {
  const accs = range(R).flatMap((r) => range(V).map((v) => `$c${r}_${v}`));
  const out: string[] = [];
  out.push(`(func $tile${R}x${V} (param $pa i32) (param $ars i32) (param $acs i32) (param $pb i32) (param $ldb i32) (param $pc i32) (param $ldc i32) (param $kc i32) (param $load i32)`);
  out.push(`  (local $k i32) (local $a v128) ${range(V).map((v) => `(local $b${v} v128)`).join(' ')} ${accs.map((a) => `(local ${a} v128)`).join(' ')}`);
  out.push(`  ${range(R).map((r) => `(local $pa${r} i32) (local $pc${r} i32)`).join(' ')}`);
  for (const r of range(R)) {
    out.push(`  (local.set $pa${r} (i32.add (local.get $pa) (i32.mul (local.get $ars) (i32.const ${r}))))`);
    out.push(`  (local.set $pc${r} (i32.add (local.get $pc) (i32.mul (local.get $ldc) (i32.const ${r}))))`);
  }
  out.push(`  (if (local.get $load) (then`);
  for (const r of range(R)) for (const v of range(V)) out.push(`    (local.set $c${r}_${v} (v128.load offset=${v * 16} (local.get $pc${r})))`);
  out.push(`  ))`);
  out.push(`  (block $done (loop $k_loop`);
  out.push(`    (br_if $done (i32.ge_u (local.get $k) (local.get $kc)))`);
  for (const v of range(V)) out.push(`    (local.set $b${v} (v128.load offset=${v * 16} (local.get $pb)))`);
  for (const r of range(R)) {
    out.push(`    (local.set $a (f32x4.splat (f32.load (local.get $pa${r}))))`);
    for (const v of range(V)) {
      out.push(
        FMA
          ? `    (local.set $c${r}_${v} (f32x4.relaxed_madd (local.get $a) (local.get $b${v}) (local.get $c${r}_${v})))`
          : `    (local.set $c${r}_${v} (f32x4.add (local.get $c${r}_${v}) (f32x4.mul (local.get $a) (local.get $b${v}))))`,
      );
    }
    out.push(`    (local.set $pa${r} (i32.add (local.get $pa${r}) (local.get $acs)))`);
  }
  out.push(`    (local.set $pb (i32.add (local.get $pb) (local.get $ldb)))`);
  out.push(`    (local.set $k (i32.add (local.get $k) (i32.const 1)))`);
  out.push(`    (br $k_loop)))`);
  for (const r of range(R)) for (const v of range(V)) out.push(`  (v128.store offset=${v * 16} (local.get $pc${r}) (local.get $c${r}_${v}))`);
  out.push(`)`);
  return out.join('\n');
}

/** One output element: c (+)= Σ a(k)·b(k). */
const scalarTile = `
(func $tile1s (param $pa i32) (param $acs i32) (param $pb i32) (param $ldb i32) (param $pc i32) (param $kc i32) (param $load i32)
  (local $k i32) (local $s f32)
  (if (local.get $load) (then (local.set $s (f32.load (local.get $pc)))))
  (block $done (loop $k_loop
    (br_if $done (i32.ge_u (local.get $k) (local.get $kc)))
    (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
    (local.set $pa (i32.add (local.get $pa) (local.get $acs)))
    (local.set $pb (i32.add (local.get $pb) (local.get $ldb)))
    (local.set $k (i32.add (local.get $k) (i32.const 1)))
    (br $k_loop)))
  (f32.store (local.get $pc) (local.get $s)))`;

/** Row loop of one column panel of width 4V: 4-row tiles, then single rows. */
function panel(V: number): string {
  const call = (R: number) =>
    `(call $tile${R}x${V} (i32.add (local.get $A) (i32.add (i32.mul (local.get $i) (local.get $ars4)) (i32.mul (local.get $k0) (local.get $acs4)))) (local.get $ars4) (local.get $acs4)
        (i32.add (local.get $B) (i32.add (i32.mul (local.get $k0) (local.get $ldb4)) (i32.shl (local.get $j) (i32.const 2)))) (local.get $ldb4)
        (i32.add (local.get $C) (i32.add (i32.mul (local.get $i) (local.get $ldc4)) (i32.shl (local.get $j) (i32.const 2)))) (local.get $ldc4) (local.get $kc) (local.get $load))`;
  return `
      (local.set $i (i32.const 0))
      (block $r4_done (loop $r4
        (br_if $r4_done (i32.gt_s (i32.add (local.get $i) (i32.const ${MR})) (local.get $M)))
        ${call(MR)}
        (local.set $i (i32.add (local.get $i) (i32.const ${MR})))
        (br $r4)))
      (block $r1_done (loop $r1
        (br_if $r1_done (i32.ge_s (local.get $i) (local.get $M)))
        ${call(1)}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $r1)))`;
}

/**
 * gemm: C[M×N] (+)= A·B with a(i,k) = A[i*ars + k*acs] (any layout: transposed A is acs=M, ars=1)
 * and B row-major K×N with row stride ldb; C row stride ldc. acc≠0 adds to C.
 */
const gemm = () => `
(func (export "gemm") (param $M i32) (param $N i32) (param $K i32) (param $A i32) (param $ars i32) (param $acs i32)
    (param $B i32) (param $ldb i32) (param $C i32) (param $ldc i32) (param $acc i32)
  (local $ars4 i32) (local $acs4 i32) (local $ldb4 i32) (local $ldc4 i32) (local $k0 i32) (local $kc i32) (local $load i32)
  (local $i i32) (local $j i32)
  (local.set $ars4 (i32.shl (local.get $ars) (i32.const 2)))
  (local.set $acs4 (i32.shl (local.get $acs) (i32.const 2)))
  (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
  (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
  (if (i32.eqz (local.get $K)) (then
    (if (i32.eqz (local.get $acc)) (then
      (local.set $i (i32.const 0))
      (block $z_done (loop $z
        (br_if $z_done (i32.ge_s (local.get $i) (local.get $M)))
        (memory.fill (i32.add (local.get $C) (i32.mul (local.get $i) (local.get $ldc4))) (i32.const 0) (i32.shl (local.get $N) (i32.const 2)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $z)))))
    (return)))
  (block $k_done (loop $k_blocks
    (br_if $k_done (i32.ge_s (local.get $k0) (local.get $K)))
    (local.set $kc (select (i32.const ${KC}) (i32.sub (local.get $K) (local.get $k0)) (i32.lt_s (i32.const ${KC}) (i32.sub (local.get $K) (local.get $k0)))))
    (local.set $load (i32.or (local.get $acc) (i32.ne (local.get $k0) (i32.const 0))))
    (local.set $j (i32.const 0))
    (block $c8_done (loop $c8
      (br_if $c8_done (i32.gt_s (i32.add (local.get $j) (i32.const 8)) (local.get $N)))
      ${panel(2)}
      (local.set $j (i32.add (local.get $j) (i32.const 8)))
      (br $c8)))
    (if (i32.le_s (i32.add (local.get $j) (i32.const 4)) (local.get $N)) (then
      ${panel(1)}
      (local.set $j (i32.add (local.get $j) (i32.const 4)))))
    (block $c1_done (loop $c1
      (br_if $c1_done (i32.ge_s (local.get $j) (local.get $N)))
      (local.set $i (i32.const 0))
      (block $s_done (loop $s
        (br_if $s_done (i32.ge_s (local.get $i) (local.get $M)))
        (call $tile1s (i32.add (local.get $A) (i32.add (i32.mul (local.get $i) (local.get $ars4)) (i32.mul (local.get $k0) (local.get $acs4)))) (local.get $acs4)
          (i32.add (local.get $B) (i32.add (i32.mul (local.get $k0) (local.get $ldb4)) (i32.shl (local.get $j) (i32.const 2)))) (local.get $ldb4)
          (i32.add (local.get $C) (i32.add (i32.mul (local.get $i) (local.get $ldc4)) (i32.shl (local.get $j) (i32.const 2)))) (local.get $kc) (local.get $load))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $s)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $c1)))
    (local.set $k0 (i32.add (local.get $k0) (i32.const ${KC})))
    (br $k_blocks)))
)`;

/** dst[c*rows + r] = src[r*cols + c], for `count` matrices stored back to back. */
const transpose = `
(func (export "transpose2d") (param $src i32) (param $rows i32) (param $cols i32) (param $dst i32) (param $count i32)
  (local $r i32) (local $c i32) (local $n i32) (local $ps i32) (local $pd i32) (local $row4 i32) (local $size4 i32)
  (local.set $row4 (i32.shl (local.get $rows) (i32.const 2)))
  (local.set $size4 (i32.shl (i32.mul (local.get $rows) (local.get $cols)) (i32.const 2)))
  (block $n_done (loop $n_loop
    (br_if $n_done (i32.ge_s (local.get $n) (local.get $count)))
    (local.set $ps (local.get $src))
    (local.set $r (i32.const 0))
    (block $r_done (loop $r_loop
      (br_if $r_done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $pd (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
      (local.set $c (i32.const 0))
      (block $c_done (loop $c_loop
        (br_if $c_done (i32.ge_s (local.get $c) (local.get $cols)))
        (f32.store (local.get $pd) (f32.load (local.get $ps)))
        (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
        (local.set $pd (i32.add (local.get $pd) (local.get $row4)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $c_loop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $r_loop)))
    (local.set $src (i32.add (local.get $src) (local.get $size4)))
    (local.set $dst (i32.add (local.get $dst) (local.get $size4)))
    (local.set $n (i32.add (local.get $n) (i32.const 1)))
    (br $n_loop)))
)`;

/**
 * im2col for NHWC input: col[(b,oy,ox), (kh,kw,c)] with zero padding; one row of KH*KW*C per
 * output position. pt/pl: padding top/left.
 */
const im2col = `
(func (export "im2col") (param $x i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32) (param $KH i32) (param $KW i32)
    (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32) (param $dh i32) (param $dw i32) (param $OH i32) (param $OW i32) (param $col i32)
  (local $b i32) (local $oy i32) (local $ox i32) (local $kh i32) (local $kw i32) (local $iy i32) (local $ix i32) (local $c4 i32) (local $img i32)
  (local.set $c4 (i32.shl (local.get $C) (i32.const 2)))
  (block $b_done (loop $b_loop
    (br_if $b_done (i32.ge_s (local.get $b) (local.get $B)))
    (local.set $img (i32.add (local.get $x) (i32.mul (local.get $b) (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $c4)))))
    (local.set $oy (i32.const 0))
    (block $oy_done (loop $oy_loop
      (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $OH)))
      (local.set $ox (i32.const 0))
      (block $ox_done (loop $ox_loop
        (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $OW)))
        (local.set $kh (i32.const 0))
        (block $kh_done (loop $kh_loop
          (br_if $kh_done (i32.ge_s (local.get $kh) (local.get $KH)))
          (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (i32.mul (local.get $kh) (local.get $dh))))
          (local.set $kw (i32.const 0))
          (block $kw_done (loop $kw_loop
            (br_if $kw_done (i32.ge_s (local.get $kw) (local.get $KW)))
            (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)) (i32.mul (local.get $kw) (local.get $dw))))
            (if (i32.and (i32.lt_u (local.get $iy) (local.get $H)) (i32.lt_u (local.get $ix) (local.get $W)))
              (then
                (if (i32.eq (local.get $C) (i32.const 1))
                  (then (f32.store (local.get $col) (f32.load (i32.add (local.get $img) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))))
                  (else (memory.copy (local.get $col) (i32.add (local.get $img) (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (local.get $c4))) (local.get $c4)))))
              (else
                (if (i32.eq (local.get $C) (i32.const 1))
                  (then (f32.store (local.get $col) (f32.const 0)))
                  (else (memory.fill (local.get $col) (i32.const 0) (local.get $c4))))))
            (local.set $col (i32.add (local.get $col) (local.get $c4)))
            (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
            (br $kw_loop)))
          (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
          (br $kh_loop)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br $ox_loop)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $oy_loop)))
    (local.set $b (i32.add (local.get $b) (i32.const 1)))
    (br $b_loop)))
)`;

/**
 * Max-pool gradient (NHWC): each dy goes to the first maximum of its window in x (the reference
 * cpu backend's rule); windows may be fully negative. dx is overwritten.
 */
const maxPoolGrad = `
(func $max_pool_grad_s (param $x i32) (param $dy i32) (param $dx i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $FH i32) (param $FW i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
  (local $b i32) (local $oy i32) (local $ox i32) (local $c i32) (local $fy i32) (local $fx i32) (local $iy i32) (local $ix i32)
  (local $best f32) (local $bestAt i32) (local $v f32) (local $at i32) (local $img i32) (local $dimg i32) (local $pdy i32)
  (memory.fill (local.get $dx) (i32.const 0) (i32.shl (i32.mul (i32.mul (local.get $B) (local.get $H)) (i32.mul (local.get $W) (local.get $C))) (i32.const 2)))
  (local.set $pdy (local.get $dy))
  (block $b_done (loop $b_loop
    (br_if $b_done (i32.ge_s (local.get $b) (local.get $B)))
    (local.set $img (i32.mul (local.get $b) (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $C))))
    (local.set $oy (i32.const 0))
    (block $oy_done (loop $oy_loop
      (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $OH)))
      (local.set $ox (i32.const 0))
      (block $ox_done (loop $ox_loop
        (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $OW)))
        (local.set $c (i32.const 0))
        (block $c_done (loop $c_loop
          (br_if $c_done (i32.ge_s (local.get $c) (local.get $C)))
          (local.set $best (f32.const -inf))
          (local.set $bestAt (i32.const -1))
          (local.set $fy (i32.const 0))
          (block $fy_done (loop $fy_loop
            (br_if $fy_done (i32.ge_s (local.get $fy) (local.get $FH)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (local.get $fy)))
            (if (i32.lt_u (local.get $iy) (local.get $H)) (then
              (local.set $fx (i32.const 0))
              (block $fx_done (loop $fx_loop
                (br_if $fx_done (i32.ge_s (local.get $fx) (local.get $FW)))
                (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)) (local.get $fx)))
                (if (i32.lt_u (local.get $ix) (local.get $W)) (then
                  (local.set $at (i32.add (local.get $img) (i32.add (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (local.get $C)) (local.get $c))))
                  (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $at) (i32.const 2)))))
                  (if (f32.gt (local.get $v) (local.get $best)) (then
                    (local.set $best (local.get $v))
                    (local.set $bestAt (local.get $at))))))
                (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                (br $fx_loop)))))
            (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
            (br $fy_loop)))
          (if (i32.ge_s (local.get $bestAt) (i32.const 0)) (then
            (local.set $dimg (i32.add (local.get $dx) (i32.shl (local.get $bestAt) (i32.const 2))))
            (f32.store (local.get $dimg) (f32.add (f32.load (local.get $dimg)) (f32.load (local.get $pdy))))))
          (local.set $pdy (i32.add (local.get $pdy) (i32.const 4)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $c_loop)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br $ox_loop)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $oy_loop)))
    (local.set $b (i32.add (local.get $b) (i32.const 1)))
    (br $b_loop)))
)`;

/** Max-pool gradient, 4 channels at a time (C % 4 == 0): same rule as the scalar version. */
const maxPoolGradVec = `
(func $max_pool_grad_v (param $x i32) (param $dy i32) (param $dx i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $FH i32) (param $FW i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
  (local $b i32) (local $oy i32) (local $ox i32) (local $c i32) (local $fy i32) (local $fx i32) (local $iy i32) (local $ix i32)
  (local $best v128) (local $bestAt v128) (local $v v128) (local $m v128) (local $at i32) (local $img i32) (local $pdy i32) (local $i i32) (local $p i32)
  (memory.fill (local.get $dx) (i32.const 0) (i32.shl (i32.mul (i32.mul (local.get $B) (local.get $H)) (i32.mul (local.get $W) (local.get $C))) (i32.const 2)))
  (local.set $pdy (local.get $dy))
  (block $b_done (loop $b_loop
    (br_if $b_done (i32.ge_s (local.get $b) (local.get $B)))
    (local.set $img (i32.mul (local.get $b) (i32.mul (i32.mul (local.get $H) (local.get $W)) (local.get $C))))
    (local.set $oy (i32.const 0))
    (block $oy_done (loop $oy_loop
      (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $OH)))
      (local.set $ox (i32.const 0))
      (block $ox_done (loop $ox_loop
        (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $OW)))
        (local.set $c (i32.const 0))
        (block $c_done (loop $c_loop
          (br_if $c_done (i32.ge_s (local.get $c) (local.get $C)))
          (local.set $best (f32x4.splat (f32.const -inf)))
          (local.set $bestAt (i32x4.splat (i32.const -1)))
          (local.set $fy (i32.const 0))
          (block $fy_done (loop $fy_loop
            (br_if $fy_done (i32.ge_s (local.get $fy) (local.get $FH)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (local.get $fy)))
            (if (i32.lt_u (local.get $iy) (local.get $H)) (then
              (local.set $fx (i32.const 0))
              (block $fx_done (loop $fx_loop
                (br_if $fx_done (i32.ge_s (local.get $fx) (local.get $FW)))
                (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)) (local.get $fx)))
                (if (i32.lt_u (local.get $ix) (local.get $W)) (then
                  (local.set $at (i32.add (local.get $img) (i32.add (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (local.get $C)) (local.get $c))))
                  (local.set $v (v128.load (i32.add (local.get $x) (i32.shl (local.get $at) (i32.const 2)))))
                  (local.set $m (f32x4.gt (local.get $v) (local.get $best)))
                  (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $m)))
                  (local.set $bestAt (v128.bitselect (i32x4.add (i32x4.splat (local.get $at)) (v128.const i32x4 0 1 2 3)) (local.get $bestAt) (local.get $m)))))
                (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
                (br $fx_loop)))))
            (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
            (br $fy_loop)))
          ${[0, 1, 2, 3]
            .map(
              (l) => `(local.set $i (i32x4.extract_lane ${l} (local.get $bestAt)))
          (if (i32.ge_s (local.get $i) (i32.const 0)) (then
            (local.set $p (i32.add (local.get $dx) (i32.shl (local.get $i) (i32.const 2))))
            (f32.store (local.get $p) (f32.add (f32.load (local.get $p)) (f32.load offset=${l * 4} (local.get $pdy))))))`,
            )
            .join('\n          ')}
          (local.set $pdy (i32.add (local.get $pdy) (i32.const 16)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $c_loop)))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br $ox_loop)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $oy_loop)))
    (local.set $b (i32.add (local.get $b) (i32.const 1)))
    (br $b_loop)))
)
(func (export "max_pool_grad") (param $x i32) (param $dy i32) (param $dx i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $FH i32) (param $FW i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
  (if (i32.and (local.get $C) (i32.const 3))
    (then (call $max_pool_grad_s (local.get $x) (local.get $dy) (local.get $dx) (local.get $B) (local.get $H) (local.get $W) (local.get $C)
      (local.get $OH) (local.get $OW) (local.get $FH) (local.get $FW) (local.get $sh) (local.get $sw) (local.get $pt) (local.get $pl)))
    (else (call $max_pool_grad_v (local.get $x) (local.get $dy) (local.get $dx) (local.get $B) (local.get $H) (local.get $W) (local.get $C)
      (local.get $OH) (local.get $OW) (local.get $FH) (local.get $FW) (local.get $sh) (local.get $sw) (local.get $pt) (local.get $pl)))))`;

/**
 * out[ids[i], :] += data[i, :] over n rows of `inner` floats; out (numSegments rows) is zeroed
 * first. Ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
const segmentSum = `
(func (export "segment_sum") (param $data i32) (param $ids i32) (param $n i32) (param $inner i32) (param $segments i32) (param $out i32)
  (local $i i32) (local $id i32) (local $j i32) (local $pd i32) (local $po i32) (local $inner4 i32) (local $vecEnd i32)
  (local.set $inner4 (i32.shl (local.get $inner) (i32.const 2)))
  (local.set $vecEnd (i32.and (local.get $inner) (i32.const -4)))
  (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $segments) (local.get $inner4)))
  (block $i_done (loop $i_loop
    (br_if $i_done (i32.ge_s (local.get $i) (local.get $n)))
    (local.set $id (i32.load (i32.add (local.get $ids) (i32.shl (local.get $i) (i32.const 2)))))
    (if (i32.lt_u (local.get $id) (local.get $segments)) (then
      (local.set $pd (i32.add (local.get $data) (i32.mul (local.get $i) (local.get $inner4))))
      (local.set $po (i32.add (local.get $out) (i32.mul (local.get $id) (local.get $inner4))))
      (local.set $j (i32.const 0))
      (block $v_done (loop $v_loop
        (br_if $v_done (i32.ge_s (local.get $j) (local.get $vecEnd)))
        (v128.store (local.get $po) (f32x4.add (v128.load (local.get $po)) (v128.load (local.get $pd))))
        (local.set $po (i32.add (local.get $po) (i32.const 16)))
        (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $v_loop)))
      (block $s_done (loop $s_loop
        (br_if $s_done (i32.ge_s (local.get $j) (local.get $inner)))
        (f32.store (local.get $po) (f32.add (f32.load (local.get $po)) (f32.load (local.get $pd))))
        (local.set $po (i32.add (local.get $po) (i32.const 4)))
        (local.set $pd (i32.add (local.get $pd) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $s_loop)))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $i_loop)))
)`;

/**
 * out[o, i] = Σ_r x[o, r, i] for x viewed as [outer, red, inner] (a Sum over a contiguous block of
 * axes). Rows of `inner` floats are accumulated in place in out with 4-wide vectors.
 */
const reduceSum = `
(func (export "reduce_sum") (param $x i32) (param $outer i32) (param $red i32) (param $inner i32) (param $out i32)
  (local $o i32) (local $r i32) (local $i i32) (local $px i32) (local $po i32) (local $vecEnd i32) (local $acc v128) (local $s f32) (local $rowBytes i32)
  (local.set $rowBytes (i32.shl (local.get $inner) (i32.const 2)))
  (if (i32.eq (local.get $inner) (i32.const 1)) (then
    (local.set $vecEnd (i32.and (local.get $red) (i32.const -4)))
    (block $o1_done (loop $o1
      (br_if $o1_done (i32.ge_s (local.get $o) (local.get $outer)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $r (i32.const 0))
      (block $v_done (loop $v
        (br_if $v_done (i32.ge_s (local.get $r) (local.get $vecEnd)))
        (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $v)))
      (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                             (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
      (block $t_done (loop $t
        (br_if $t_done (i32.ge_s (local.get $r) (local.get $red)))
        (local.set $s (f32.add (local.get $s) (f32.load (local.get $x))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $t)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 2))) (local.get $s))
      (local.set $o (i32.add (local.get $o) (i32.const 1)))
      (br $o1)))
    (return)))
  (local.set $vecEnd (i32.and (local.get $inner) (i32.const -4)))
  (memory.fill (local.get $out) (i32.const 0) (i32.mul (local.get $outer) (local.get $rowBytes)))
  (local.set $px (local.get $x))
  (block $o_done (loop $o_loop
    (br_if $o_done (i32.ge_s (local.get $o) (local.get $outer)))
    (local.set $r (i32.const 0))
    (block $r_done (loop $r_loop
      (br_if $r_done (i32.ge_s (local.get $r) (local.get $red)))
      (local.set $po (i32.add (local.get $out) (i32.mul (local.get $o) (local.get $rowBytes))))
      (local.set $i (i32.const 0))
      (block $i_done (loop $i_loop
        (br_if $i_done (i32.ge_s (local.get $i) (local.get $vecEnd)))
        (v128.store (local.get $po) (f32x4.add (v128.load (local.get $po)) (v128.load (local.get $px))))
        (local.set $po (i32.add (local.get $po) (i32.const 16)))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $i_loop)))
      (block $s_done (loop $s_loop
        (br_if $s_done (i32.ge_s (local.get $i) (local.get $inner)))
        (f32.store (local.get $po) (f32.add (f32.load (local.get $po)) (f32.load (local.get $px))))
        (local.set $po (i32.add (local.get $po) (i32.const 4)))
        (local.set $px (i32.add (local.get $px) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $s_loop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $r_loop)))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (br $o_loop)))
)`;

/**
 * One Adam step over n floats, in place on m and v, new values into out:
 * m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²; out = x − lr·(m·c1) / (√(v·c2) + eps),
 * with c1 = 1/(1−b1^t), c2 = 1/(1−b2^t) (bias corrections).
 */
const adam = `
(func (export "adam") (param $x i32) (param $g i32) (param $m i32) (param $v i32) (param $out i32) (param $n i32)
    (param $b1 f32) (param $b2 f32) (param $c1 f32) (param $c2 f32) (param $lr f32) (param $eps f32)
  (local $i i32) (local $vecEnd i32) (local $gv v128) (local $mv v128) (local $vv v128)
  (local $B1 v128) (local $B2 v128) (local $A1 v128) (local $A2 v128) (local $C1 v128) (local $C2 v128) (local $LR v128) (local $EPS v128)
  (local $gs f32) (local $ms f32) (local $vs f32)
  (local.set $B1 (f32x4.splat (local.get $b1)))
  (local.set $B2 (f32x4.splat (local.get $b2)))
  (local.set $A1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
  (local.set $A2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
  (local.set $C1 (f32x4.splat (local.get $c1)))
  (local.set $C2 (f32x4.splat (local.get $c2)))
  (local.set $LR (f32x4.splat (local.get $lr)))
  (local.set $EPS (f32x4.splat (local.get $eps)))
  (local.set $vecEnd (i32.and (local.get $n) (i32.const -4)))
  (block $v_done (loop $v_loop
    (br_if $v_done (i32.ge_s (local.get $i) (local.get $vecEnd)))
    (local.set $gv (v128.load (local.get $g)))
    (local.set $mv (f32x4.add (f32x4.mul (local.get $B1) (v128.load (local.get $m))) (f32x4.mul (local.get $A1) (local.get $gv))))
    (local.set $vv (f32x4.add (f32x4.mul (local.get $B2) (v128.load (local.get $v))) (f32x4.mul (local.get $A2) (f32x4.mul (local.get $gv) (local.get $gv)))))
    (v128.store (local.get $m) (local.get $mv))
    (v128.store (local.get $v) (local.get $vv))
    (v128.store (local.get $out) (f32x4.sub (v128.load (local.get $x))
      (f32x4.div (f32x4.mul (local.get $LR) (f32x4.mul (local.get $mv) (local.get $C1)))
                 (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vv) (local.get $C2))) (local.get $EPS)))))
    (local.set $x (i32.add (local.get $x) (i32.const 16)))
    (local.set $g (i32.add (local.get $g) (i32.const 16)))
    (local.set $m (i32.add (local.get $m) (i32.const 16)))
    (local.set $v (i32.add (local.get $v) (i32.const 16)))
    (local.set $out (i32.add (local.get $out) (i32.const 16)))
    (local.set $i (i32.add (local.get $i) (i32.const 4)))
    (br $v_loop)))
  (block $s_done (loop $s_loop
    (br_if $s_done (i32.ge_s (local.get $i) (local.get $n)))
    (local.set $gs (f32.load (local.get $g)))
    (local.set $ms (f32.add (f32.mul (local.get $b1) (f32.load (local.get $m))) (f32.mul (f32.sub (f32.const 1) (local.get $b1)) (local.get $gs))))
    (local.set $vs (f32.add (f32.mul (local.get $b2) (f32.load (local.get $v))) (f32.mul (f32.sub (f32.const 1) (local.get $b2)) (f32.mul (local.get $gs) (local.get $gs)))))
    (f32.store (local.get $m) (local.get $ms))
    (f32.store (local.get $v) (local.get $vs))
    (f32.store (local.get $out) (f32.sub (f32.load (local.get $x))
      (f32.div (f32.mul (local.get $lr) (f32.mul (local.get $ms) (local.get $c1)))
               (f32.add (f32.sqrt (f32.mul (local.get $vs) (local.get $c2))) (local.get $eps)))))
    (local.set $x (i32.add (local.get $x) (i32.const 4)))
    (local.set $g (i32.add (local.get $g) (i32.const 4)))
    (local.set $m (i32.add (local.get $m) (i32.const 4)))
    (local.set $v (i32.add (local.get $v) (i32.const 4)))
    (local.set $out (i32.add (local.get $out) (i32.const 4)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $s_loop)))
)`;

const hsum = (v: string) =>
  `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;

/** Loop over one row of N floats (N % 4 == 0) with $j as the byte offset. */
const rowLoop = (label: string, body: string) => `
    (local.set $j (i32.const 0))
    (block $${label}_done (loop $${label}
      (br_if $${label}_done (i32.ge_u (local.get $j) (local.get $rowBytes)))
      ${body}
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br $${label})))`;

/**
 * Layer norm over rows of N floats (N % 4 == 0): y = (x − mean)·rstd·gamma + beta, with
 * rstd = 1/√(var + eps) (biased variance). Also writes mean and rstd per row for the gradient.
 */
const layerNorm = `
(func (export "layer_norm") (param $x i32) (param $gamma i32) (param $beta i32) (param $y i32) (param $mean i32) (param $rstd i32)
    (param $rows i32) (param $N i32) (param $eps f32)
  (local $r i32) (local $j i32) (local $rowBytes i32) (local $acc v128) (local $d v128) (local $mu f32) (local $rs f32) (local $MU v128) (local $RS v128)
  (local.set $rowBytes (i32.shl (local.get $N) (i32.const 2)))
  (block $r_done (loop $r_loop
    (br_if $r_done (i32.ge_s (local.get $r) (local.get $rows)))
    (local.set $acc (v128.const i32x4 0 0 0 0))
    ${rowLoop('s1', `(local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $x) (local.get $j)))))`)}
    (local.set $mu (f32.div ${hsum('(local.get $acc)')} (f32.convert_i32_s (local.get $N))))
    (local.set $MU (f32x4.splat (local.get $mu)))
    (local.set $acc (v128.const i32x4 0 0 0 0))
    ${rowLoop('s2', `(local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $MU)))
      (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))`)}
    (local.set $rs (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div ${hsum('(local.get $acc)')} (f32.convert_i32_s (local.get $N))) (local.get $eps)))))
    (local.set $RS (f32x4.splat (local.get $rs)))
    ${rowLoop('s3', `(v128.store (i32.add (local.get $y) (local.get $j))
        (f32x4.add (f32x4.mul (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $MU)) (local.get $RS))
                              (v128.load (i32.add (local.get $gamma) (local.get $j))))
                   (v128.load (i32.add (local.get $beta) (local.get $j)))))`)}
    (f32.store (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))) (local.get $mu))
    (f32.store (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))) (local.get $rs))
    (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
    (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $r_loop)))
)`;

/**
 * Gradient of layer_norm: with x̂ = (x − mean)·rstd and g = dy·gamma,
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)); dgamma = Σ_rows dy·x̂; dbeta = Σ_rows dy.
 */
const layerNormGrad = `
(func (export "layer_norm_grad") (param $dy i32) (param $x i32) (param $gamma i32) (param $mean i32) (param $rstd i32)
    (param $dx i32) (param $dgamma i32) (param $dbeta i32) (param $rows i32) (param $N i32)
  (local $r i32) (local $j i32) (local $rowBytes i32) (local $MU v128) (local $RS v128) (local $xh v128) (local $g v128) (local $dyv v128)
  (local $a1 v128) (local $a2 v128) (local $S1 v128) (local $S2 v128) (local $invN f32)
  (local.set $rowBytes (i32.shl (local.get $N) (i32.const 2)))
  (local.set $invN (f32.div (f32.const 1) (f32.convert_i32_s (local.get $N))))
  (memory.fill (local.get $dgamma) (i32.const 0) (local.get $rowBytes))
  (memory.fill (local.get $dbeta) (i32.const 0) (local.get $rowBytes))
  (block $r_done (loop $r_loop
    (br_if $r_done (i32.ge_s (local.get $r) (local.get $rows)))
    (local.set $MU (f32x4.splat (f32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))))))
    (local.set $RS (f32x4.splat (f32.load (i32.add (local.get $rstd) (i32.shl (local.get $r) (i32.const 2))))))
    (local.set $a1 (v128.const i32x4 0 0 0 0))
    (local.set $a2 (v128.const i32x4 0 0 0 0))
    ${rowLoop('g1', `(local.set $dyv (v128.load (i32.add (local.get $dy) (local.get $j))))
      (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $MU)) (local.get $RS)))
      (local.set $g (f32x4.mul (local.get $dyv) (v128.load (i32.add (local.get $gamma) (local.get $j)))))
      (local.set $a1 (f32x4.add (local.get $a1) (local.get $g)))
      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $g) (local.get $xh))))
      (v128.store (i32.add (local.get $dgamma) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $dgamma) (local.get $j))) (f32x4.mul (local.get $dyv) (local.get $xh))))
      (v128.store (i32.add (local.get $dbeta) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $dbeta) (local.get $j))) (local.get $dyv)))`)}
    (local.set $S1 (f32x4.splat (f32.mul ${hsum('(local.get $a1)')} (local.get $invN))))
    (local.set $S2 (f32x4.splat (f32.mul ${hsum('(local.get $a2)')} (local.get $invN))))
    ${rowLoop('g2', `(local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $j))) (local.get $MU)) (local.get $RS)))
      (local.set $g (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $j))) (v128.load (i32.add (local.get $gamma) (local.get $j)))))
      (v128.store (i32.add (local.get $dx) (local.get $j))
        (f32x4.mul (local.get $RS) (f32x4.sub (f32x4.sub (local.get $g) (local.get $S1)) (f32x4.mul (local.get $xh) (local.get $S2)))))`)}
    (local.set $x (i32.add (local.get $x) (local.get $rowBytes)))
    (local.set $dy (i32.add (local.get $dy) (local.get $rowBytes)))
    (local.set $dx (i32.add (local.get $dx) (local.get $rowBytes)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $r_loop)))
)`;

export interface KernelVariant {
  /** Use relaxed-SIMD f32x4.relaxed_madd (needs V8's relaxed SIMD) in the GEMM micro-kernels. */
  fma: boolean;
  mainTileRows?: number;
  kBlock?: number;
}

const BINARY_OPS = { add: 'f32x4.add', sub: 'f32x4.sub', mul: 'f32x4.mul', div: 'f32x4.div' } as const;

/**
 * out[i, j] = a(i, j) op b(i, j) over an M×N output, each operand either varying along j (a full
 * matrix or a broadcast row: *Vec = 1, rows *RowBytes apart, 0 for a row) or constant along j (a
 * broadcast column or scalar: *Vec = 0, one value per row *RowBytes apart, 0 for a scalar).
 */
function binary(name: keyof typeof BINARY_OPS): string {
  const v = BINARY_OPS[name];
  const s = v.replace('f32x4', 'f32');
  const inner = (label: string, av: string, bv: string, as: string, bs: string) => `
        (local.set $j (i32.const 0))
        (block $${label}_done (loop $${label}
          (br_if $${label}_done (i32.ge_u (local.get $j) (local.get $vecBytes)))
          (v128.store (i32.add (local.get $po) (local.get $j)) (${v} ${av} ${bv}))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $${label})))
        (block $${label}_t_done (loop $${label}_t
          (br_if $${label}_t_done (i32.ge_u (local.get $j) (local.get $rowBytes)))
          (f32.store (i32.add (local.get $po) (local.get $j)) (${s} ${as} ${bs}))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $${label}_t)))`;
  const la = '(v128.load (i32.add (local.get $pa) (local.get $j)))';
  const lb = '(v128.load (i32.add (local.get $pb) (local.get $j)))';
  const sa = '(f32.load (i32.add (local.get $pa) (local.get $j)))';
  const sb = '(f32.load (i32.add (local.get $pb) (local.get $j)))';
  return `
(func (export "binary_${name}") (param $a i32) (param $aRowBytes i32) (param $aVec i32) (param $b i32) (param $bRowBytes i32) (param $bVec i32)
    (param $out i32) (param $M i32) (param $N i32)
  (local $i i32) (local $j i32) (local $pa i32) (local $pb i32) (local $po i32) (local $rowBytes i32) (local $vecBytes i32)
  (local $va v128) (local $vb v128) (local $fa f32) (local $fb f32)
  (local.set $rowBytes (i32.shl (local.get $N) (i32.const 2)))
  (local.set $vecBytes (i32.shl (i32.and (local.get $N) (i32.const -4)) (i32.const 2)))
  (local.set $pa (local.get $a))
  (local.set $pb (local.get $b))
  (local.set $po (local.get $out))
  (block $i_done (loop $i_loop
    (br_if $i_done (i32.ge_s (local.get $i) (local.get $M)))
    (if (i32.and (local.get $aVec) (local.get $bVec))
      (then ${inner('ab', la, lb, sa, sb)})
      (else (if (local.get $aVec)
        (then
          (local.set $fb (f32.load (local.get $pb)))
          (local.set $vb (f32x4.splat (local.get $fb)))
          ${inner('a', la, '(local.get $vb)', sa, '(local.get $fb)')})
        (else
          (local.set $fa (f32.load (local.get $pa)))
          (local.set $va (f32x4.splat (local.get $fa)))
          (if (local.get $bVec)
            (then ${inner('b', '(local.get $va)', lb, '(local.get $fa)', sb)})
            (else
              (local.set $fb (f32.load (local.get $pb)))
              (local.set $vb (f32x4.splat (local.get $fb)))
              ${inner('n', '(local.get $va)', '(local.get $vb)', '(local.get $fa)', '(local.get $fb)')}))))))
    (local.set $pa (i32.add (local.get $pa) (local.get $aRowBytes)))
    (local.set $pb (i32.add (local.get $pb) (local.get $bRowBytes)))
    (local.set $po (i32.add (local.get $po) (local.get $rowBytes)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $i_loop)))
)`;
}

/** In place on a [rows, cols] matrix: add a bias row (if bias ≠ 0), then ReLU (if relu ≠ 0). */
const biasRelu = `
(func (export "bias_relu") (param $p i32) (param $rows i32) (param $cols i32) (param $bias i32) (param $relu i32)
  (local $r i32) (local $c i32) (local $vecEnd i32) (local $v v128) (local $s f32) (local $pb i32)
  (local.set $vecEnd (i32.and (local.get $cols) (i32.const -4)))
  (block $r_done (loop $r_loop
    (br_if $r_done (i32.ge_s (local.get $r) (local.get $rows)))
    (local.set $c (i32.const 0))
    (local.set $pb (local.get $bias))
    (block $v_done (loop $v_loop
      (br_if $v_done (i32.ge_s (local.get $c) (local.get $vecEnd)))
      (local.set $v (v128.load (local.get $p)))
      (if (local.get $bias) (then (local.set $v (f32x4.add (local.get $v) (v128.load (local.get $pb))))))
      (if (local.get $relu) (then (local.set $v (f32x4.max (local.get $v) (v128.const i32x4 0 0 0 0)))))
      (v128.store (local.get $p) (local.get $v))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 16)))
      (local.set $c (i32.add (local.get $c) (i32.const 4)))
      (br $v_loop)))
    (block $s_done (loop $s_loop
      (br_if $s_done (i32.ge_s (local.get $c) (local.get $cols)))
      (local.set $s (f32.load (local.get $p)))
      (if (local.get $bias) (then (local.set $s (f32.add (local.get $s) (f32.load (local.get $pb))))))
      (if (local.get $relu) (then (local.set $s (f32.max (local.get $s) (f32.const 0)))))
      (f32.store (local.get $p) (local.get $s))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $pb (i32.add (local.get $pb) (i32.const 4)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $s_loop)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $r_loop)))
)`;

/** rows copies of rowBytes bytes, from src (rows srcStride bytes apart) to dst (dstStride apart). */
const copyRows = `
(func (export "copy_rows") (param $src i32) (param $srcStride i32) (param $dst i32) (param $dstStride i32) (param $rows i32) (param $rowBytes i32)
  (local $r i32)
  (block $done (loop $rows_loop
    (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
    (memory.copy (local.get $dst) (local.get $src) (local.get $rowBytes))
    (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
    (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $rows_loop)))
)`;

/**
 * out[j] = table[ids[j]] for rows of rowBytes bytes, over `outer` blocks of n table rows.
 * Returns the position of the first id outside [0, n), or -1 (then out is complete).
 */
const gatherRows = `
(func (export "gather_rows") (param $table i32) (param $n i32) (param $outer i32) (param $ids i32) (param $count i32) (param $rowBytes i32) (param $out i32) (result i32)
  (local $o i32) (local $j i32) (local $id i32) (local $base i32)
  (block $o_done (loop $o_loop
    (br_if $o_done (i32.ge_s (local.get $o) (local.get $outer)))
    (local.set $base (i32.add (local.get $table) (i32.mul (local.get $o) (i32.mul (local.get $n) (local.get $rowBytes)))))
    (local.set $j (i32.const 0))
    (block $j_done (loop $j_loop
      (br_if $j_done (i32.ge_s (local.get $j) (local.get $count)))
      (local.set $id (i32.load (i32.add (local.get $ids) (i32.shl (local.get $j) (i32.const 2)))))
      (if (i32.ge_u (local.get $id) (local.get $n)) (then (return (local.get $j))))
      (memory.copy (local.get $out) (i32.add (local.get $base) (i32.mul (local.get $id) (local.get $rowBytes))) (local.get $rowBytes))
      (local.set $out (i32.add (local.get $out) (local.get $rowBytes)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $j_loop)))
    (local.set $o (i32.add (local.get $o) (i32.const 1)))
    (br $o_loop)))
  (i32.const -1)
)`;

/**
 * Max-pool gradient for 2×2 windows with stride 2 that tile the input exactly (no padding), 4
 * channels at a time: each input position belongs to one window, so dx is written once (no
 * zero-fill, no scatter). Same first-maximum rule as the general versions.
 */
const maxPoolGrad2x2 = `
(func (export "max_pool_grad_2x2") (param $x i32) (param $dy i32) (param $dx i32) (param $B i32) (param $OH i32) (param $OW i32) (param $C i32)
  (local $b i32) (local $oy i32) (local $ox i32) (local $c i32) (local $c4 i32) (local $row i32) (local $p i32) (local $q i32)
  (local $best v128) (local $win v128) (local $m v128) (local $v00 v128) (local $v01 v128) (local $v10 v128) (local $v11 v128) (local $g v128)
  (local.set $c4 (i32.shl (local.get $C) (i32.const 2)))
  (local.set $row (i32.mul (i32.shl (local.get $OW) (i32.const 1)) (local.get $c4)))
  (local.set $b (i32.mul (local.get $B) (local.get $OH)))
  (block $y_done (loop $y_loop
    (br_if $y_done (i32.ge_s (local.get $oy) (local.get $b)))
    (local.set $p (i32.mul (i32.shl (local.get $oy) (i32.const 1)) (local.get $row)))
    (local.set $ox (i32.const 0))
    (block $x_done (loop $x_loop
      (br_if $x_done (i32.ge_s (local.get $ox) (local.get $OW)))
      (local.set $c (i32.const 0))
      (block $c_done (loop $c_loop
        (br_if $c_done (i32.ge_s (local.get $c) (local.get $c4)))
        (local.set $q (i32.add (local.get $p) (local.get $c)))
        (local.set $v00 (v128.load (i32.add (local.get $x) (local.get $q))))
        (local.set $v01 (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $c4)))))
        (local.set $v10 (v128.load (i32.add (local.get $x) (i32.add (local.get $q) (local.get $row)))))
        (local.set $v11 (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $q) (local.get $row)) (local.get $c4)))))
        (local.set $best (f32x4.splat (f32.const -inf)))
        (local.set $win (i32x4.splat (i32.const -1)))
        ${[0, 1, 2, 3]
          .map(
            (k) => `(local.set $m (f32x4.gt (local.get $v${['00', '01', '10', '11'][k]}) (local.get $best)))
        (local.set $best (v128.bitselect (local.get $v${['00', '01', '10', '11'][k]}) (local.get $best) (local.get $m)))
        (local.set $win (v128.bitselect (i32x4.splat (i32.const ${k})) (local.get $win) (local.get $m)))`,
          )
          .join('\n        ')}
        (local.set $g (v128.load (local.get $dy)))
        (v128.store (i32.add (local.get $dx) (local.get $q))
          (v128.and (local.get $g) (i32x4.eq (local.get $win) (i32x4.splat (i32.const 0)))))
        (v128.store (i32.add (local.get $dx) (i32.add (local.get $q) (local.get $c4)))
          (v128.and (local.get $g) (i32x4.eq (local.get $win) (i32x4.splat (i32.const 1)))))
        (v128.store (i32.add (local.get $dx) (i32.add (local.get $q) (local.get $row)))
          (v128.and (local.get $g) (i32x4.eq (local.get $win) (i32x4.splat (i32.const 2)))))
        (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $q) (local.get $row)) (local.get $c4)))
          (v128.and (local.get $g) (i32x4.eq (local.get $win) (i32x4.splat (i32.const 3)))))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (br $c_loop)))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $c4) (i32.const 1))))
      (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
      (br $x_loop)))
    (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
    (br $y_loop)))
)`;

/**
 * im2col for one input channel, transposed: colT[(kh,kw), p] over output positions p, so each
 * (kh,kw) row is a shifted copy of the input (the filter gradient of a first layer on grey
 * images reads it as a row-major matrix).
 */
const im2colT1 = `
(func (export "im2col_t1") (param $x i32) (param $B i32) (param $H i32) (param $W i32) (param $KH i32) (param $KW i32)
    (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32) (param $dh i32) (param $dw i32) (param $OH i32) (param $OW i32) (param $col i32)
  (local $kh i32) (local $kw i32) (local $b i32) (local $oy i32) (local $ox i32) (local $iy i32) (local $ix i32) (local $src i32)
  (block $kh_done (loop $kh_loop
    (br_if $kh_done (i32.ge_s (local.get $kh) (local.get $KH)))
    (local.set $kw (i32.const 0))
    (block $kw_done (loop $kw_loop
      (br_if $kw_done (i32.ge_s (local.get $kw) (local.get $KW)))
      (local.set $b (i32.const 0))
      (block $b_done (loop $b_loop
        (br_if $b_done (i32.ge_s (local.get $b) (local.get $B)))
        (local.set $oy (i32.const 0))
        (block $oy_done (loop $oy_loop
          (br_if $oy_done (i32.ge_s (local.get $oy) (local.get $OH)))
          (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)) (i32.mul (local.get $kh) (local.get $dh))))
          (if (i32.ge_u (local.get $iy) (local.get $H))
            (then
              (memory.fill (local.get $col) (i32.const 0) (i32.shl (local.get $OW) (i32.const 2)))
              (local.set $col (i32.add (local.get $col) (i32.shl (local.get $OW) (i32.const 2)))))
            (else
              (local.set $src (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $iy)) (local.get $W)) (i32.const 2))))
              (local.set $ix (i32.sub (i32.mul (local.get $kw) (local.get $dw)) (local.get $pl)))
              (local.set $ox (i32.const 0))
              (block $ox_done (loop $ox_loop
                (br_if $ox_done (i32.ge_s (local.get $ox) (local.get $OW)))
                (f32.store (local.get $col)
                  (if (result f32) (i32.lt_u (local.get $ix) (local.get $W))
                    (then (f32.load (i32.add (local.get $src) (i32.shl (local.get $ix) (i32.const 2)))))
                    (else (f32.const 0))))
                (local.set $col (i32.add (local.get $col) (i32.const 4)))
                (local.set $ix (i32.add (local.get $ix) (local.get $sw)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br $ox_loop)))))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (br $oy_loop)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $b_loop)))
      (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
      (br $kw_loop)))
    (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
    (br $kh_loop)))
)`;

/** ReLU gradient over n floats: dx = x > 0 ? dy : 0 (NaN where x is NaN, as tfjs's dy·step(x)). */
const reluGrad = `
(func (export "relu_grad") (param $dy i32) (param $x i32) (param $dx i32) (param $n i32)
  (local $i i32) (local $vecEnd i32) (local $xv v128) (local $xs f32)
  (local.set $vecEnd (i32.and (local.get $n) (i32.const -4)))
  (block $v_done (loop $v_loop
    (br_if $v_done (i32.ge_s (local.get $i) (local.get $vecEnd)))
    (local.set $xv (v128.load (local.get $x)))
    (v128.store (local.get $dx)
      (v128.bitselect (local.get $xv)
        (v128.and (v128.load (local.get $dy)) (f32x4.gt (local.get $xv) (v128.const i32x4 0 0 0 0)))
        (f32x4.ne (local.get $xv) (local.get $xv))))
    (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
    (local.set $x (i32.add (local.get $x) (i32.const 16)))
    (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
    (local.set $i (i32.add (local.get $i) (i32.const 4)))
    (br $v_loop)))
  (block $s_done (loop $s_loop
    (br_if $s_done (i32.ge_s (local.get $i) (local.get $n)))
    (local.set $xs (f32.load (local.get $x)))
    (f32.store (local.get $dx)
      (if (result f32) (f32.ne (local.get $xs) (local.get $xs))
        (then (local.get $xs))
        (else (if (result f32) (f32.gt (local.get $xs) (f32.const 0)) (then (f32.load (local.get $dy))) (else (f32.const 0))))))
    (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
    (local.set $x (i32.add (local.get $x) (i32.const 4)))
    (local.set $dx (i32.add (local.get $dx) (i32.const 4)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $s_loop)))
)`;

export function kernelsWat(variant: KernelVariant = { fma: false }): string {
  FMA = variant.fma;
  MR = variant.mainTileRows ?? (variant.fma ? 6 : 4);
  KC = variant.kBlock ?? 128;
  return [
    '(module',
    '(import "env" "memory" (memory 1))',
    ...tiles().map(([r, v]) => tile(r, v)),
    scalarTile,
    gemm(),
    transpose,
    im2col,
    im2colT1,
    maxPoolGrad,
    maxPoolGradVec,
    maxPoolGrad2x2,
    segmentSum,
    reduceSum,
    adam,
    layerNorm,
    layerNormGrad,
    biasRelu,
    reluGrad,
    copyRows,
    gatherRows,
    ...(Object.keys(BINARY_OPS) as (keyof typeof BINARY_OPS)[]).map(binary),
    ')',
  ].join('\n');
}
