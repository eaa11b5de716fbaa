// MD5 (RFC 1321) with a running digest: a transfer checks the blob id the runtime answers after
// every chunk, which is the md5 of the seed and the chunks so far (protocol.md §2), so digest()
// reads the hash of what was added without ending the stream. WebCrypto offers no MD5.

const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const CONSTANTS = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

function compress(state, block) {
  const words = new Uint32Array(16);
  const data = new DataView(block.buffer, block.byteOffset, 64);
  for (let i = 0; i < 16; i += 1) words[i] = data.getUint32(i * 4, true);
  let [a, b, c, d] = state;
  for (let i = 0; i < 64; i += 1) {
    const round = i >> 4;
    let f;
    let g;
    if (round === 0) { f = (b & c) | (~b & d); g = i; }
    else if (round === 1) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
    else if (round === 2) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
    else { f = c ^ (b | ~d); g = (7 * i) % 16; }
    const sum = (a + f + CONSTANTS[i] + words[g]) >>> 0;
    const shift = SHIFTS[round * 4 + (i % 4)];
    [a, d, c] = [d, c, b];
    b = (b + ((sum << shift) | (sum >>> (32 - shift)))) >>> 0;
  }
  state[0] = (state[0] + a) >>> 0;
  state[1] = (state[1] + b) >>> 0;
  state[2] = (state[2] + c) >>> 0;
  state[3] = (state[3] + d) >>> 0;
}

export class Md5 {
  constructor() {
    this.state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
    this.pending = new Uint8Array(64);  // bytes of an incomplete block
    this.used = 0;
    this.length = 0;                    // bytes added in all
  }

  update(bytes) {
    let offset = 0;
    this.length += bytes.length;
    while (offset < bytes.length) {
      const take = Math.min(64 - this.used, bytes.length - offset);
      this.pending.set(bytes.subarray(offset, offset + take), this.used);
      this.used += take;
      offset += take;
      if (this.used === 64) {
        compress(this.state, this.pending);
        this.used = 0;
      }
    }
    return this;
  }

  // The 16-byte digest of everything added so far; more can be added afterwards.
  digest() {
    const state = Uint32Array.from(this.state);
    const tail = new Uint8Array(this.used < 56 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.used));
    tail[this.used] = 0x80;
    const bits = new DataView(tail.buffer, tail.length - 8, 8);
    bits.setUint32(0, (this.length * 8) >>> 0, true);
    bits.setUint32(4, Math.floor(this.length / 2 ** 29), true);
    for (let offset = 0; offset < tail.length; offset += 64) compress(state, tail.subarray(offset, offset + 64));
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    state.forEach((word, n) => view.setUint32(n * 4, word, true));
    return out;
  }
}

export const hex = (bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
