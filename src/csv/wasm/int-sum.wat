;; The integer kernel of issue 21: column sums of a piece of unquoted integer rows, in i64.
;;
;; Memory: [0, 512) the sums of up to 64 columns (i64 each); [512, 516) the row width found;
;; [1024, 8192) decimal-sum.wat's state; the piece from INPUT (8192) on, followed by one
;; sentinel byte 0 that ends every digit run, so the digit loop needs no bound check.
;;
;; Grammar handled, and nothing else: rows of cells [+-]?[0-9]{1,15} separated by the delimiter,
;; each row ended by LF, CR LF, or the piece's end; every row as wide as the first, at most 64.
;; Every running sum stays inside (-2^53, 2^53), where the JS path's float64 adds the same
;; integers exactly: so its sums are the same numbers, and it never needed its exact partials.
;; Anything else (a blank, a quote, a fraction, an empty cell or line, a wrong width, a longer
;; cell) returns -1, "not handled": the JS scanner then reads the whole piece as before, with its
;; own messages for every refusal.
(module
  (memory (export "memory") 2)
  (func (export "sumIntegers") (param $len i32) (param $delim i32) (result i32)
    (local $p i32) (local $end i32) (local $c i32) (local $d i32) (local $start i32)
    (local $neg i32) (local $col i32) (local $cols i32) (local $rows i32)
    (local $v i64) (local $s i64) (local $at i32)
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 516))
    (local.set $p (i32.const 8192))
    (local.set $end (i32.add (i32.const 8192) (local.get $len)))
    (i32.store8 (local.get $end) (i32.const 0))
    (if (i32.eqz (local.get $len)) (then (return (i32.const 0))))
    (loop $row
      (local.set $col (i32.const 0))
      (block $rowEnd
        (loop $cell
          ;; sign
          (local.set $c (i32.load8_u (local.get $p)))
          (local.set $neg (i32.eq (local.get $c) (i32.const 45)))
          (if (i32.or (local.get $neg) (i32.eq (local.get $c) (i32.const 43)))
            (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
          ;; digits, up to the sentinel at worst
          (local.set $start (local.get $p))
          (local.set $v (i64.const 0))
          (block $digitsEnd
            (loop $digit
              (local.set $d (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
              (br_if $digitsEnd (i32.ge_u (local.get $d) (i32.const 10)))
              (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10))
                                     (i64.extend_i32_u (local.get $d))))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $digit)))
          ;; 1 to 15 digits: below 10^15, so a cell cannot carry a sum past 2^53 by more than that
          (if (i32.gt_u (i32.sub (i32.sub (local.get $p) (local.get $start)) (i32.const 1))
                        (i32.const 14))
            (then (return (i32.const -1))))
          (if (local.get $neg) (then (local.set $v (i64.sub (i64.const 0) (local.get $v)))))
          ;; a cell past the row width (of the first row, or 64) is for the JS path
          (if (i32.ge_u (local.get $col)
                        (select (local.get $cols) (i32.const 64) (local.get $cols)))
            (then (return (i32.const -1))))
          (local.set $at (i32.shl (local.get $col) (i32.const 3)))
          (local.set $s (i64.add (i64.load (local.get $at)) (local.get $v)))
          ;; |s| < 2^53: s + 2^53 - 1 in [0, 2^54 - 2]
          (if (i64.gt_u (i64.add (local.get $s) (i64.const 9007199254740991))
                        (i64.const 18014398509481982))
            (then (return (i32.const -1))))
          (i64.store (local.get $at) (local.get $s))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          ;; what ends the cell
          (br_if $rowEnd (i32.ge_u (local.get $p) (local.get $end)))
          (local.set $c (i32.load8_u (local.get $p)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (if (i32.eq (local.get $c) (local.get $delim))
            (then
              ;; a delimiter at the piece's end leaves an empty cell
              (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
              (br $cell)))
          (br_if $rowEnd (i32.eq (local.get $c) (i32.const 10)))
          (if (i32.and (i32.eq (local.get $c) (i32.const 13))
                       (i32.eq (i32.load8_u (local.get $p)) (i32.const 10)))
            (then
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $rowEnd)))
          (return (i32.const -1))))
      ;; the row's end: its width is the first row's
      (if (i32.eqz (local.get $cols))
        (then (local.set $cols (local.get $col)))
        (else (if (i32.ne (local.get $col) (local.get $cols)) (then (return (i32.const -1))))))
      (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
      (br_if $row (i32.lt_u (local.get $p) (local.get $end))))
    (i32.store (i32.const 512) (local.get $cols))
    (local.get $rows)))
