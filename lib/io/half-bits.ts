/**
 * float16 / bfloat16 bit patterns <-> float32, in JS. The addon reads half tensors back
 * widened to float32 and uploads from float32, so a file's 16-bit words pass through
 * float32 on the way in and out. Every half value is exact in float32, so these
 * conversions are exact both ways; NaN payloads are carried in the float32 mantissa.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits -> float16 bits, round to nearest even (exact for values that came from float16). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const mag = x & 0x7fffffff;
  if (mag >= 0x7f800000) {
    if (mag === 0x7f800000) return sign | 0x7c00;
    const payload = (mag >>> 13) & 0x3ff;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload); // stays a NaN
  }
  if (mag >= 0x477ff000) return sign | 0x7c00; // rounds past the largest half
  if (mag < 0x38800000) {
    // subnormal half or zero: value / 2^-24, rounded to nearest even
    u32[0] = mag;
    const scaled = f32[0] * 16777216; // 2^24, exact
    let m = Math.floor(scaled);
    const rest = scaled - m;
    if (rest > 0.5 || (rest === 0.5 && (m & 1) === 1)) m++;
    return sign | m; // m == 0x400 is the smallest normal, which is the right encoding
  }
  const odd = (mag >>> 13) & 1;
  return sign | (((mag + 0xc8000fff + odd) >>> 13) & 0x7fff);
}

/** float16 bits -> float32 bits. */
export function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (man << 13)) >>> 0;
  if (exp === 0) {
    if (man === 0) return sign >>> 0;
    f32[0] = man * 5.9604644775390625e-8; // man * 2^-24, exact
    return (sign | u32[0]) >>> 0;
  }
  return (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
}

/** float32 bits -> bfloat16 bits, round to nearest even (exact for values that came from bfloat16). */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> float32 bits. */
export function bf16ToF32Bits(b: number): number {
  return (b << 16) >>> 0;
}

/** The 16-bit words of a half tensor's values (as read back in float32). */
export function halfWordsFromFloat32(values: Float32Array, kind: 'float16' | 'bfloat16'): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  const convert = kind === 'float16' ? f32BitsToF16 : f32BitsToBf16;
  for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
  return out;
}

/** float32 values (as bit patterns) for a half tensor's 16-bit words, ready to upload. */
export function float32FromHalfWords(words: Uint16Array, kind: 'float16' | 'bfloat16'): Float32Array {
  const bits = new Uint32Array(words.length);
  if (kind === 'bfloat16') {
    for (let i = 0; i < words.length; i++) bits[i] = words[i] << 16;
  } else {
    for (let i = 0; i < words.length; i++) bits[i] = f16ToF32Bits(words[i]);
  }
  return new Float32Array(bits.buffer);
}
