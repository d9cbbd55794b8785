;; The resampler's inner loop: one polyphase FIR output per step, 8 taps per SIMD multiply-add.
;; Built into fir-kernel.ts (`bun run wasm`); resampler.ts explains the memory it is handed.
;;
;; fir(x, limit, base, phase, out, taps, stride, next, adv, state) -> outputs written
;;   x      i16 input samples, oldest first; an output's window is x[base .. base+stride)
;;   limit  outputs are made while base < limit (the caller passes samples - K + 1)
;;   taps   per branch `stride` i16 Q15 taps (a multiple of 8, zero-padded at the end, so the few samples read
;;          past a window are multiplied by 0)
;;   next, adv  i32 per branch: the branch of the following output and how far its window starts later
;;   state  receives the final base and phase (two i32)
;; Rounding: (sum + 2^14) >> 15, i.e. round half up, then saturation to i16.
(module
  (memory (export "memory") 4)
  (func (export "fir")
    (param $x i32) (param $limit i32) (param $base i32) (param $phase i32) (param $out i32)
    (param $taps i32) (param $stride i32) (param $next i32) (param $adv i32) (param $state i32)
    (result i32)
    (local $o i32) (local $xp i32) (local $tp i32) (local $end i32) (local $acc v128) (local $s i32)
    (block $done
      (loop $outputs
        (br_if $done (i32.ge_s (local.get $base) (local.get $limit)))
        (local.set $xp (i32.add (local.get $x) (i32.shl (local.get $base) (i32.const 1))))
        (local.set $tp (i32.add (local.get $taps) (i32.shl (i32.mul (local.get $phase) (local.get $stride)) (i32.const 1))))
        (local.set $end (i32.add (local.get $tp) (i32.shl (local.get $stride) (i32.const 1))))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (loop $taps8
          (local.set $acc
            (i32x4.add (local.get $acc)
              (i32x4.dot_i16x8_s (v128.load align=1 (local.get $xp)) (v128.load align=2 (local.get $tp)))))
          (local.set $xp (i32.add (local.get $xp) (i32.const 16)))
          (local.set $tp (i32.add (local.get $tp) (i32.const 16)))
          (br_if $taps8 (i32.lt_u (local.get $tp) (local.get $end))))
        ;; horizontal sum of the four lanes
        (local.set $acc (i32x4.add (local.get $acc) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc) (local.get $acc))))
        (local.set $acc (i32x4.add (local.get $acc) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $acc) (local.get $acc))))
        (local.set $s (i32.shr_s (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32.const 16384)) (i32.const 15)))
        (if (i32.gt_s (local.get $s) (i32.const 32767)) (then (local.set $s (i32.const 32767))))
        (if (i32.lt_s (local.get $s) (i32.const -32768)) (then (local.set $s (i32.const -32768))))
        (i32.store16 (i32.add (local.get $out) (i32.shl (local.get $o) (i32.const 1))) (local.get $s))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (local.set $base (i32.add (local.get $base) (i32.load (i32.add (local.get $adv) (i32.shl (local.get $phase) (i32.const 2))))))
        (local.set $phase (i32.load (i32.add (local.get $next) (i32.shl (local.get $phase) (i32.const 2)))))
        (br $outputs)))
    (i32.store (local.get $state) (local.get $base))
    (i32.store offset=4 (local.get $state) (local.get $phase))
    (local.get $o))
)
