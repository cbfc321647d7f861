;; The decimal kernel of issue 21: exact column sums of a piece of unquoted decimal rows, the float
;; table's case, with the very sequence of float64 operations the JS path (ColumnSums and BinnedSum
;; in src/lesson/compute/sum-table-piece.ts and src/exact/binned-sum.ts) performs, so the ExactSum
;; each column ends with, partials and all, is bit for bit the JS path's, whatever the split.
;;
;; Memory (int-sum.wat's, imported: the piece is copied in once for both kernels):
;;   [1024, 1536) each column's running integer sum (f64), as ColumnSums.integers;
;;   [1536, 3584) each column's four bins (f64), 512 bytes a bin, as BinnedSum's #b0..#b3;
;;   [3584, 3840) each column's terms since the last flush (i32);
;;   [3840, 4024) 10^0..10^22 (f64, exact; written by the loader);
;;   [4096, 8192) fast_float's 128-bit powers of five for q in -160..95 (high, low; the loader's);
;;   [512, 516) the row width found; the piece from INPUT (8192) on, then one sentinel byte 0.
;;
;; Cells: [+-]? digits (sep digits*)? ([eE] [+-]? digits)?, each row ended by LF, CR LF or the
;; piece's end, every row as wide as the first, at most 64. A cell of at most 19 digits whose
;; integer mantissa m is below 2^53, with a decimal exponent k in -22..22, is Clinger's exact case:
;; m * 10^k or m / 10^-k, one correctly rounded operation. Any other cell of at most 19 significant
;; digits and k in -160..95 is Eisel-Lemire's (fast_float's compute_float with its second product;
;; the rare cases it leaves open, halfway and subnormal, are not decided here). Any other cell up to
;; its delimiter goes to the loader's slowCell, the JS parseNumber (Eisel-Lemire, then Number()): correctly rounded
;; too, so a cell's double is the JS path's whichever side reads it. What the JS grammar refuses
;; (slowCell gives NaN or an infinity), a blank line, a quote, a wrong width: -1, "not handled",
;; and the JS scanner reads the whole piece again, with its own messages.
;;
;; Where BinnedSum hands a double to its ExactSum (a term outside the window, a remainder, the
;; bins at a flush) the kernel calls exactAdd(column, x), in the same order: Shewchuk's partials
;; depend on the order of their adds, and stay in JS.
(module
  (import "kernel" "memory" (memory 2))
  (import "kernel" "exactAdd" (func $exactAdd (param i32 f64)))
  (import "kernel" "slowCell" (func $slowCell (param i32 i32) (result f64)))
  ;; the low half of the last $mul128
  (global $low (mut i64) (i64.const 0))

  ;; The high 64 bits of a * b (unsigned), the low ones left in $low: four 32-bit products.
  (func $mul128 (param $a i64) (param $b i64) (result i64)
    (local $aL i64) (local $aH i64) (local $bL i64) (local $bH i64)
    (local $ll i64) (local $lh i64) (local $hl i64) (local $mid i64)
    (local.set $aL (i64.and (local.get $a) (i64.const 0xffffffff)))
    (local.set $aH (i64.shr_u (local.get $a) (i64.const 32)))
    (local.set $bL (i64.and (local.get $b) (i64.const 0xffffffff)))
    (local.set $bH (i64.shr_u (local.get $b) (i64.const 32)))
    (local.set $ll (i64.mul (local.get $aL) (local.get $bL)))
    (local.set $lh (i64.mul (local.get $aL) (local.get $bH)))
    (local.set $hl (i64.mul (local.get $aH) (local.get $bL)))
    (local.set $mid (i64.add (i64.add (i64.shr_u (local.get $ll) (i64.const 32))
                                      (i64.and (local.get $lh) (i64.const 0xffffffff)))
                             (i64.and (local.get $hl) (i64.const 0xffffffff))))
    (global.set $low (i64.or (i64.shl (local.get $mid) (i64.const 32))
                             (i64.and (local.get $ll) (i64.const 0xffffffff))))
    (i64.add (i64.add (i64.mul (local.get $aH) (local.get $bH))
                      (i64.add (i64.shr_u (local.get $lh) (i64.const 32))
                               (i64.shr_u (local.get $hl) (i64.const 32))))
             (i64.shr_u (local.get $mid) (i64.const 32))))

  ;; The double nearest to w * 10^q (0 < w < 2^64), by Eisel-Lemire as fast_float's compute_float;
  ;; NaN where this does not decide: q outside the table, a subnormal or overflow, an exact
  ;; halfway case, or (never seen; kept for safety) an all-ones low half after the second product.
  (func $eiselLemire (param $w i64) (param $q i32) (result f64)
    (local $lz i64) (local $at i32) (local $hi i64) (local $lo i64) (local $h2 i64)
    (local $upper i64) (local $shift i64) (local $mant i64) (local $power2 i32)
    (if (i32.gt_u (i32.add (local.get $q) (i32.const 160)) (i32.const 255))
      (then (return (f64.const nan))))
    (local.set $lz (i64.clz (local.get $w)))
    (local.set $w (i64.shl (local.get $w) (local.get $lz)))
    (local.set $at (i32.add (i32.const 4096) (i32.shl (i32.add (local.get $q) (i32.const 160)) (i32.const 4))))
    (local.set $hi (call $mul128 (local.get $w) (i64.load (local.get $at))))
    (local.set $lo (global.get $low))
    ;; nine low bits of the high half all ones: the truncated power may matter, take its low half
    (if (i64.eq (i64.and (local.get $hi) (i64.const 0x1ff)) (i64.const 0x1ff))
      (then
        (local.set $h2 (call $mul128 (local.get $w) (i64.load offset=8 (local.get $at))))
        (local.set $lo (i64.add (local.get $lo) (local.get $h2)))
        (if (i64.gt_u (local.get $h2) (local.get $lo))
          (then (local.set $hi (i64.add (local.get $hi) (i64.const 1)))))
        (if (i64.eq (local.get $lo) (i64.const -1)) (then (return (f64.const nan))))))
    (local.set $upper (i64.shr_u (local.get $hi) (i64.const 63)))
    (local.set $shift (i64.add (local.get $upper) (i64.const 9)))
    (local.set $mant (i64.shr_u (local.get $hi) (local.get $shift)))
    (local.set $power2 (i32.add (i32.add (i32.shr_s (i32.mul (i32.const 217706) (local.get $q)) (i32.const 16))
                                         (i32.const 1086))
                                (i32.sub (i32.wrap_i64 (local.get $upper)) (i32.wrap_i64 (local.get $lz)))))
    (if (i32.le_s (local.get $power2) (i32.const 0)) (then (return (f64.const nan))))
    ;; maybe exactly halfway between two doubles: the JS path decides
    (if (i32.and
          (i32.and (i64.le_u (local.get $lo) (i64.const 1))
                   (i32.le_u (i32.add (local.get $q) (i32.const 4)) (i32.const 27)))
          (i32.and (i64.eq (i64.and (local.get $mant) (i64.const 3)) (i64.const 1))
                   (i64.eq (i64.shl (local.get $mant) (local.get $shift)) (local.get $hi))))
      (then (return (f64.const nan))))
    (local.set $mant (i64.shr_u (i64.add (local.get $mant) (i64.and (local.get $mant) (i64.const 1)))
                                (i64.const 1)))
    (if (i64.ge_u (local.get $mant) (i64.const 0x20000000000000))
      (then
        (local.set $mant (i64.const 0x10000000000000))
        (local.set $power2 (i32.add (local.get $power2) (i32.const 1)))))
    (if (i32.ge_s (local.get $power2) (i32.const 0x7ff)) (then (return (f64.const nan))))
    (f64.reinterpret_i64
      (i64.or (i64.and (local.get $mant) (i64.const 0xfffffffffffff))
              (i64.shl (i64.extend_i32_u (local.get $power2)) (i64.const 52)))))

  ;; BinnedSum.flush for one column: its nonzero bins into the exact sum, largest first.
  (func $flush (param $at i32)
    (local $b f64) (local $col i32)
    (local.set $col (i32.shr_u (local.get $at) (i32.const 3)))
    (local.set $b (f64.load offset=1536 (local.get $at)))
    (if (f64.ne (local.get $b) (f64.const 0)) (then (call $exactAdd (local.get $col) (local.get $b))))
    (local.set $b (f64.load offset=2048 (local.get $at)))
    (if (f64.ne (local.get $b) (f64.const 0)) (then (call $exactAdd (local.get $col) (local.get $b))))
    (local.set $b (f64.load offset=2560 (local.get $at)))
    (if (f64.ne (local.get $b) (f64.const 0)) (then (call $exactAdd (local.get $col) (local.get $b))))
    (local.set $b (f64.load offset=3072 (local.get $at)))
    (if (f64.ne (local.get $b) (f64.const 0)) (then (call $exactAdd (local.get $col) (local.get $b))))
    (f64.store offset=1536 (local.get $at) (f64.const 0))
    (f64.store offset=2048 (local.get $at) (f64.const 0))
    (f64.store offset=2560 (local.get $at) (f64.const 0))
    (f64.store offset=3072 (local.get $at) (f64.const 0))
    (i32.store offset=3584 (i32.shr_u (local.get $at) (i32.const 1)) (i32.const 0)))

  ;; ColumnSums.cell: an integer into the column's integer sum while that stays below 2^53, any
  ;; other value into BinnedSum.add (grids 2^24, 2^-16, 2^-56, 2^-96: see binned-sum.ts).
  (func $add (param $col i32) (param $v f64)
    (local $at i32) (local $s f64) (local $h f64) (local $r f64) (local $t i32)
    (local.set $at (i32.shl (local.get $col) (i32.const 3)))
    (if (f64.eq (f64.trunc (local.get $v)) (local.get $v))
      (then
        (local.set $s (f64.add (f64.load offset=1024 (local.get $at)) (local.get $v)))
        (if (f64.lt (f64.abs (local.get $s)) (f64.const 0x1p53))
          (then
            (f64.store offset=1024 (local.get $at) (local.get $s))
            (return)))))
    (if (i32.eqz (f64.lt (f64.abs (local.get $v)) (f64.const 0x1p64)))
      (then
        (call $exactAdd (local.get $col) (local.get $v))
        (return)))
    (local.set $h (f64.sub (f64.add (local.get $v) (f64.const 0x1.8p76)) (f64.const 0x1.8p76)))
    (local.set $r (f64.sub (local.get $v) (local.get $h)))
    (f64.store offset=1536 (local.get $at) (f64.add (f64.load offset=1536 (local.get $at)) (local.get $h)))
    (local.set $h (f64.sub (f64.add (local.get $r) (f64.const 0x1.8p36)) (f64.const 0x1.8p36)))
    (local.set $r (f64.sub (local.get $r) (local.get $h)))
    (f64.store offset=2048 (local.get $at) (f64.add (f64.load offset=2048 (local.get $at)) (local.get $h)))
    (local.set $h (f64.sub (f64.add (local.get $r) (f64.const 0x1.8p-4)) (f64.const 0x1.8p-4)))
    (local.set $r (f64.sub (local.get $r) (local.get $h)))
    (f64.store offset=2560 (local.get $at) (f64.add (f64.load offset=2560 (local.get $at)) (local.get $h)))
    (local.set $h (f64.sub (f64.add (local.get $r) (f64.const 0x1.8p-44)) (f64.const 0x1.8p-44)))
    (local.set $r (f64.sub (local.get $r) (local.get $h)))
    (f64.store offset=3072 (local.get $at) (f64.add (f64.load offset=3072 (local.get $at)) (local.get $h)))
    (if (f64.ne (local.get $r) (f64.const 0)) (then (call $exactAdd (local.get $col) (local.get $r))))
    (local.set $t (i32.add (i32.load offset=3584 (i32.shr_u (local.get $at) (i32.const 1))) (i32.const 1)))
    (if (i32.eq (local.get $t) (i32.const 8192))
      (then (call $flush (local.get $at)))
      (else (i32.store offset=3584 (i32.shr_u (local.get $at) (i32.const 1)) (local.get $t)))))

  ;; The bins of every column into the exact sums: the last step before the loader reads them.
  (func (export "flushAll") (param $cols i32)
    (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
        (call $flush (i32.shl (local.get $c) (i32.const 3)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next))))

  (func (export "sumDecimals") (param $len i32) (param $delim i32) (param $sep i32) (result i32)
    (local $p i32) (local $end i32) (local $c i32) (local $d i32) (local $cellStart i32)
    (local $neg i32) (local $col i32) (local $cols i32) (local $rows i32)
    (local $m i64) (local $digits i32) (local $scale i32) (local $e i32) (local $eneg i32)
    (local $eDigits i32) (local $intStart i32) (local $v f64) (local $q i32) (local $cellEnd i32) (local $rowEnds i32)
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 3840))
    (local.set $p (i32.const 8192))
    (local.set $end (i32.add (i32.const 8192) (local.get $len)))
    (i32.store8 (local.get $end) (i32.const 0))
    (if (i32.eqz (local.get $len)) (then (return (i32.const 0))))
    (loop $row
      (local.set $col (i32.const 0))
      (local.set $rowEnds (i32.const 0))
      (loop $cell
        (local.set $cellStart (local.get $p))
        (block $parsed
          (block $slow
            ;; sign
            (local.set $c (i32.load8_u (local.get $p)))
            (local.set $neg (i32.eq (local.get $c) (i32.const 45)))
            (if (i32.or (local.get $neg) (i32.eq (local.get $c) (i32.const 43)))
              (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
            ;; integer digits, up to the sentinel at worst; i64 wraps past 19 digits (refused below)
            (local.set $m (i64.const 0))
            (local.set $digits (i32.const 0))
            (local.set $scale (i32.const 0))
            (local.set $intStart (local.get $p))
            ;; $digits counts significant digits (from the first nonzero one)
            (block $intEnd
              (loop $digit
                (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
                (br_if $intEnd (i32.ge_u (local.get $d) (i32.const 10)))
                (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10))
                                       (i64.extend_i32_u (local.get $d))))
                (local.set $digits (i32.add (local.get $digits) (i64.ne (local.get $m) (i64.const 0))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $digit)))
            (br_if $slow (i32.eq (local.get $p) (local.get $intStart)))
            ;; fraction digits: each takes one from the decimal exponent
            (if (i32.eq (i32.load8_u (local.get $p)) (local.get $sep))
              (then
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (block $fracEnd
                  (loop $fdigit
                    (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
                    (br_if $fracEnd (i32.ge_u (local.get $d) (i32.const 10)))
                    (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10))
                                           (i64.extend_i32_u (local.get $d))))
                    (local.set $digits (i32.add (local.get $digits) (i64.ne (local.get $m) (i64.const 0))))
                    (local.set $scale (i32.sub (local.get $scale) (i32.const 1)))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (br $fdigit)))))
            ;; exponent part
            (local.set $c (i32.load8_u (local.get $p)))
            (if (i32.eq (i32.or (local.get $c) (i32.const 32)) (i32.const 101))
              (then
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $c (i32.load8_u (local.get $p)))
                (local.set $eneg (i32.eq (local.get $c) (i32.const 45)))
                (if (i32.or (local.get $eneg) (i32.eq (local.get $c) (i32.const 43)))
                  (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
                (local.set $e (i32.const 0))
                (local.set $eDigits (i32.const 0))
                (block $expEnd
                  (loop $edigit
                    (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
                    (br_if $expEnd (i32.ge_u (local.get $d) (i32.const 10)))
                    ;; capped: far beyond -22..22 either way
                    (if (i32.lt_u (local.get $e) (i32.const 100000))
                      (then (local.set $e (i32.add (i32.mul (local.get $e) (i32.const 10)) (local.get $d)))))
                    (local.set $eDigits (i32.add (local.get $eDigits) (i32.const 1)))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (br $edigit)))
                (br_if $slow (i32.eqz (local.get $eDigits)))
                (local.set $scale (i32.add (local.get $scale)
                  (select (i32.sub (i32.const 0) (local.get $e)) (local.get $e) (local.get $eneg))))))
            ;; what ends the cell: the piece's end, the delimiter, LF or CR LF; else the JS grammar's
            (if (i32.ge_u (local.get $p) (local.get $end))
              (then (local.set $rowEnds (i32.const 1)))
              (else
                (local.set $c (i32.load8_u (local.get $p)))
                (if (i32.eq (local.get $c) (local.get $delim))
                  (then (local.set $p (i32.add (local.get $p) (i32.const 1))))
                  (else
                    (if (i32.eq (local.get $c) (i32.const 10))
                      (then
                        (local.set $p (i32.add (local.get $p) (i32.const 1)))
                        (local.set $rowEnds (i32.const 1)))
                      (else
                        (br_if $slow (i32.or (i32.ne (local.get $c) (i32.const 13))
                                             (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 10))))
                        (local.set $p (i32.add (local.get $p) (i32.const 2)))
                        (local.set $rowEnds (i32.const 1))))))))
            ;; m exact: at most 19 significant digits (below 10^19 < 2^64)
            (br_if $slow (i32.gt_u (local.get $digits) (i32.const 19)))
            (if (i32.and (i64.lt_u (local.get $m) (i64.const 9007199254740992))
                         (i32.le_u (i32.add (local.get $scale) (i32.const 22)) (i32.const 44)))
              (then
                ;; Clinger: m < 2^53 exact as a double, 10^|k| exact, one rounding
                (local.set $v (f64.convert_i64_u (local.get $m)))
                (if (i32.ge_s (local.get $scale) (i32.const 0))
                  (then (local.set $v (f64.mul (local.get $v)
                    (f64.load offset=3840 (i32.shl (local.get $scale) (i32.const 3))))))
                  (else (local.set $v (f64.div (local.get $v)
                    (f64.load offset=3840 (i32.shl (i32.sub (i32.const 0) (local.get $scale)) (i32.const 3))))))))
              (else
                ;; zero, whatever its exponent; else Eisel-Lemire, or the JS path where it cannot decide
                (local.set $v (f64.const 0))
                (if (i64.ne (local.get $m) (i64.const 0))
                  (then
                    (local.set $v (call $eiselLemire (local.get $m) (local.get $scale)))
                    (br_if $slow (f64.ne (local.get $v) (local.get $v)))))))
            (if (local.get $neg) (then (local.set $v (f64.neg (local.get $v)))))
            (br $parsed))
          ;; slow: the cell up to its delimiter or line end (a CR before LF or the piece's end is
          ;; the line's, as in the JS scanner), read by the JS parseNumber
          (local.set $q (local.get $cellStart))
          (block $found
            (loop $scan
              (br_if $found (i32.ge_u (local.get $q) (local.get $end)))
              (local.set $c (i32.load8_u (local.get $q)))
              (br_if $found (i32.or (i32.eq (local.get $c) (local.get $delim)) (i32.eq (local.get $c) (i32.const 10))))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br $scan)))
          (local.set $cellEnd (local.get $q))
          (if (i32.and (i32.gt_u (local.get $q) (local.get $cellStart))
                       (i32.eq (i32.load8_u (i32.sub (local.get $q) (i32.const 1))) (i32.const 13)))
            (then
              (if (i32.ge_u (local.get $q) (local.get $end))
                (then (local.set $cellEnd (i32.sub (local.get $q) (i32.const 1))))
                (else (if (i32.eq (i32.load8_u (local.get $q)) (i32.const 10))
                  (then (local.set $cellEnd (i32.sub (local.get $q) (i32.const 1)))))))))
          (local.set $v (call $slowCell (local.get $cellStart) (local.get $cellEnd)))
          ;; NaN (not a number in the JS grammar) or an infinity: the JS scan's refusal
          (if (i32.eqz (f64.lt (f64.abs (local.get $v)) (f64.const inf))) (then (return (i32.const -1))))
          (local.set $rowEnds (i32.const 1))
          (local.set $p (i32.add (local.get $q) (i32.const 1)))
          (if (i32.lt_u (local.get $q) (local.get $end))
            (then (if (i32.eq (i32.load8_u (local.get $q)) (local.get $delim))
              (then (local.set $rowEnds (i32.const 0)))))))
        ;; a cell past the row width (of the first row, or 64) is for the JS path
        (if (i32.ge_u (local.get $col) (select (local.get $cols) (i32.const 64) (local.get $cols)))
          (then (return (i32.const -1))))
        (call $add (local.get $col) (local.get $v))
        (local.set $col (i32.add (local.get $col) (i32.const 1)))
        (if (i32.eqz (local.get $rowEnds))
          (then
            ;; a delimiter at the piece's end leaves an empty cell
            (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
            (br $cell))))
      ;; the row's end: its width is the first row's
      (if (i32.eqz (local.get $cols))
        (then (local.set $cols (local.get $col)))
        (else (if (i32.ne (local.get $col) (local.get $cols)) (then (return (i32.const -1))))))
      (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
      (br_if $row (i32.lt_u (local.get $p) (local.get $end))))
    (i32.store (i32.const 512) (local.get $cols))
    (local.get $rows)))
