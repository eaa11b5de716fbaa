// IEC 61131-3 raw values of traces and forcing (protocol.md §4; plc_protocol/iec_types.py):
// little-endian; STRING is a length byte + body (127 bytes in all when forcing); TIME, TOD,
// DATE and DT are two int64, seconds and nanoseconds.

const STRING_MAX = 126;
const TIME_TYPES = ["TIME", "TOD", "DATE", "DT"];
// name: [size, DataView getter, setter, integer range as BigInt or null]
const FIXED = {
  BOOL: [1, "getUint8", "setUint8", null],
  SINT: [1, "getInt8", "setInt8", [-(2n ** 7n), 2n ** 7n - 1n]],
  USINT: [1, "getUint8", "setUint8", [0n, 2n ** 8n - 1n]],
  BYTE: [1, "getUint8", "setUint8", [0n, 2n ** 8n - 1n]],
  INT: [2, "getInt16", "setInt16", [-(2n ** 15n), 2n ** 15n - 1n]],
  UINT: [2, "getUint16", "setUint16", [0n, 2n ** 16n - 1n]],
  WORD: [2, "getUint16", "setUint16", [0n, 2n ** 16n - 1n]],
  DINT: [4, "getInt32", "setInt32", [-(2n ** 31n), 2n ** 31n - 1n]],
  UDINT: [4, "getUint32", "setUint32", [0n, 2n ** 32n - 1n]],
  DWORD: [4, "getUint32", "setUint32", [0n, 2n ** 32n - 1n]],
  LINT: [8, "getBigInt64", "setBigInt64", [-(2n ** 63n), 2n ** 63n - 1n]],
  ULINT: [8, "getBigUint64", "setBigUint64", [0n, 2n ** 64n - 1n]],
  LWORD: [8, "getBigUint64", "setBigUint64", [0n, 2n ** 64n - 1n]],
  REAL: [4, "getFloat32", "setFloat32", null],
  LREAL: [8, "getFloat64", "setFloat64", null],
};

function view(bytes) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Values of one trace sample, given the traced variables' types in registration order; `exact`
// throws unless the sample is exactly these values (a sample of another program's table).
export function decodeSample(types, bytes, exact = false) {
  const data = view(bytes);
  let offset = 0;
  const values = types.map((type) => {
    if (type === "STRING") {
      const length = data.getUint8(offset);
      const text = new TextDecoder().decode(bytes.subarray(offset + 1, offset + 1 + length));
      offset += 1 + length;
      return text;
    }
    if (TIME_TYPES.includes(type)) {
      const value = Number(data.getBigInt64(offset, true)) + Number(data.getBigInt64(offset + 8, true)) / 1e9;
      offset += 16;
      return value;
    }
    const [size, getter] = FIXED[type];
    const raw = data[getter](offset, true);
    offset += size;
    return type === "BOOL" ? raw !== 0 : raw;
  });
  if (exact && offset !== bytes.byteLength) throw new RangeError("the sample does not match the variables");
  return values;
}

// The raw force value of a value typed by a person; an Error says what fits.
export function encodeForce(type, text) {
  text = String(text).trim();
  if (type === "STRING") {
    const body = new TextEncoder().encode(text);
    if (body.length > STRING_MAX) throw new Error(`STRING holds at most ${STRING_MAX} bytes`);
    const raw = new Uint8Array(1 + STRING_MAX);
    raw[0] = body.length;
    raw.set(body, 1);
    return raw;
  }
  if (TIME_TYPES.includes(type)) {
    const seconds = Number(text);
    if (text === "" || !Number.isFinite(seconds)) throw new Error(`${type} takes seconds, e.g. 1.5`);
    const raw = new Uint8Array(16);
    const whole = Math.floor(seconds);
    view(raw).setBigInt64(0, BigInt(whole), true);
    view(raw).setBigInt64(8, BigInt(Math.round((seconds - whole) * 1e9)), true);
    return raw;
  }
  const [size, , setter, range] = FIXED[type];
  const raw = new Uint8Array(size);
  view(raw)[setter](0, parseNumber(type, text, range), true);
  return raw;
}

// A force or write order of the force model (docs/force-model.md) for a value typed by a
// person: a JSON scalar the runtime encodes with the variable's type, or the raw IEC bytes
// where JSON cannot carry the number exactly (64-bit integers past 2^53). An Error says what fits.
export function forceOrder(variable, text) {
  const raw = encodeForce(variable.type, text);
  const word = String(text).trim();
  const { index, type } = variable;
  if (type === "BOOL") return { index, value: raw[0] === 1 };
  if (type === "STRING") return { index, value: word };
  if (TIME_TYPES.includes(type) || FIXED[type][3] === null) return { index, value: Number(word) };
  const number = BigInt(word);
  return Number.isSafeInteger(Number(number)) && BigInt(Number(number)) === number
    ? { index, value: Number(number) } : { index, raw };
}

function parseNumber(type, text, range) {
  if (type === "BOOL") {
    const word = text.toLowerCase();
    if (["1", "true", "on"].includes(word)) return 1;
    if (["0", "false", "off"].includes(word)) return 0;
    throw new Error("BOOL takes TRUE or FALSE (1 or 0)");
  }
  if (range === null) {
    const number = Number(text);
    if (text === "" || Number.isNaN(number)) throw new Error(`${type} takes a number`);
    return number;
  }
  let number;
  try {
    number = BigInt(text);
  } catch {
    throw new Error(`${type} takes a whole number (decimal or 0x…)`);
  }
  if (number < range[0] || number > range[1]) {
    throw new Error(`${number} is out of range for ${type} (${range[0]}..${range[1]})`);
  }
  return FIXED[type][0] === 8 ? number : Number(number);
}

export function formatValue(type, value) {
  if (value === undefined) return "—";
  if (type === "BOOL") return value ? "TRUE" : "FALSE";
  if (type === "REAL") return Number(value.toPrecision(7)).toString();
  return String(value);
}

// A number to plot, or null for values a line chart cannot show.
export function plotValue(type, value) {
  if (type === "STRING" || value === undefined) return null;
  return Number(value);
}

export const chartable = (type) => type !== "STRING";
