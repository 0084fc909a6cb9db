/* A small msgpack decoder: exactly what the facebridge protocol uses (docs/protocol.md).
 *
 *   facebridgeMsgpack.decode(uint8array) -> value
 *   facebridgeMsgpack.splitParts(uint8array) -> [Uint8Array, ...]   (uint32-LE length-prefixed parts)
 *
 * Types: nil, bool, integers of every width (uint64/int64 become Numbers, exact up to 2^53),
 * float32/64, str (UTF-8, strict), bin (a Uint8Array view into the input), array, map (a plain
 * object; keys must be strings or numbers). Extension types are refused. Malformed input
 * (truncated, trailing bytes, bad UTF-8, a length larger than what is left, nesting deeper
 * than MAX_DEPTH) throws a MsgpackError; nothing is allocated from an unchecked length.
 * No dependencies, no build step: a classic script that sets window.facebridgeMsgpack (and
 * module.exports under Node).
 */
(function (root) {
  "use strict";

  var MAX_DEPTH = 64;
  var utf8 = new TextDecoder("utf-8", { fatal: true });

  function MsgpackError(message) {
    var e = new Error(message);
    e.name = "MsgpackError";
    return e;
  }

  function Reader(bytes) {
    if (!(bytes instanceof Uint8Array)) {
      if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      else if (ArrayBuffer.isView(bytes)) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      else if (Array.isArray(bytes)) bytes = Uint8Array.from(bytes);
      else throw MsgpackError("decode needs bytes (Uint8Array, ArrayBuffer or an array of numbers)");
    }
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  Reader.prototype.need = function (n) {
    if (n > this.bytes.length - this.pos) {
      throw MsgpackError("truncated: need " + n + " bytes at offset " + this.pos + ", " +
                         (this.bytes.length - this.pos) + " left");
    }
  };
  Reader.prototype.u8 = function () { this.need(1); return this.bytes[this.pos++]; };
  Reader.prototype.u16 = function () { this.need(2); var v = this.view.getUint16(this.pos); this.pos += 2; return v; };
  Reader.prototype.u32 = function () { this.need(4); var v = this.view.getUint32(this.pos); this.pos += 4; return v; };
  Reader.prototype.i8 = function () { this.need(1); var v = this.view.getInt8(this.pos); this.pos += 1; return v; };
  Reader.prototype.i16 = function () { this.need(2); var v = this.view.getInt16(this.pos); this.pos += 2; return v; };
  Reader.prototype.i32 = function () { this.need(4); var v = this.view.getInt32(this.pos); this.pos += 4; return v; };
  Reader.prototype.u64 = function () {
    this.need(8);
    var hi = this.view.getUint32(this.pos), lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    if (hi < 0x200000) return hi * 4294967296 + lo; // < 2^53: exact
    return Number((BigInt(hi) << 32n) | BigInt(lo)); // nanosecond clocks: a Number is close enough
  };
  Reader.prototype.i64 = function () {
    this.need(8);
    var hi = this.view.getInt32(this.pos), lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    if (hi >= -0x200000 && hi < 0x200000) return hi * 4294967296 + lo;
    return Number((BigInt(hi) << 32n) | BigInt(lo));
  };
  Reader.prototype.f32 = function () { this.need(4); var v = this.view.getFloat32(this.pos); this.pos += 4; return v; };
  Reader.prototype.f64 = function () { this.need(8); var v = this.view.getFloat64(this.pos); this.pos += 8; return v; };
  Reader.prototype.raw = function (n) {
    this.need(n);
    var out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  };
  Reader.prototype.str = function (n) {
    try {
      return utf8.decode(this.raw(n));
    } catch (e) {
      if (e.name === "MsgpackError") throw e;
      throw MsgpackError("invalid UTF-8 in a str at offset " + (this.pos - n));
    }
  };
  Reader.prototype.array = function (n, depth) {
    // Every element takes at least one byte: a length beyond what is left is refused
    // before anything is allocated.
    this.need(n);
    var out = new Array(n);
    for (var i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  };
  Reader.prototype.map = function (n, depth) {
    this.need(2 * n);
    var out = {};
    for (var i = 0; i < n; i++) {
      var at = this.pos;
      var key = this.value(depth + 1);
      if (typeof key !== "string" && typeof key !== "number") {
        throw MsgpackError("map key at offset " + at + " is not a string or a number");
      }
      var val = this.value(depth + 1);
      // A key named __proto__ is data, never the object's prototype.
      Object.defineProperty(out, key, { value: val, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };

  Reader.prototype.value = function (depth) {
    if (depth > MAX_DEPTH) throw MsgpackError("nesting deeper than " + MAX_DEPTH);
    var at = this.pos;
    var b = this.u8();
    if (b <= 0x7f) return b; // positive fixint
    if (b >= 0xe0) return b - 0x100; // negative fixint
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.raw(this.u8());
      case 0xc5: return this.raw(this.u16());
      case 0xc6: return this.raw(this.u32());
      case 0xca: return this.f32();
      case 0xcb: return this.f64();
      case 0xcc: return this.u8();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xcf: return this.u64();
      case 0xd0: return this.i8();
      case 0xd1: return this.i16();
      case 0xd2: return this.i32();
      case 0xd3: return this.i64();
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xdc: return this.array(this.u16(), depth);
      case 0xdd: return this.array(this.u32(), depth);
      case 0xde: return this.map(this.u16(), depth);
      case 0xdf: return this.map(this.u32(), depth);
    }
    if (b === 0xc1) throw MsgpackError("byte 0xc1 (never used) at offset " + at);
    throw MsgpackError("extension type 0x" + b.toString(16) + " at offset " + at + " is not used by the protocol");
  };

  /** One msgpack value that fills `bytes` exactly. */
  function decode(bytes) {
    var r = new Reader(bytes);
    var v = r.value(0);
    if (r.pos !== r.bytes.length) {
      throw MsgpackError((r.bytes.length - r.pos) + " trailing bytes after the value");
    }
    return v;
  }

  /** A multipart message in one buffer: each part is a uint32 little-endian length, then
   * that many bytes (the browser monitor's WebSocket messages; tests/golden's data frames).
   * Parts are views into the input, not copies. */
  function splitParts(bytes) {
    var r = new Reader(bytes);
    var parts = [];
    while (r.pos < r.bytes.length) {
      r.need(4);
      var n = r.view.getUint32(r.pos, true);
      r.pos += 4;
      parts.push(r.raw(n));
    }
    return parts;
  }

  var api = { decode: decode, splitParts: splitParts, MAX_DEPTH: MAX_DEPTH };
  root.facebridgeMsgpack = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
