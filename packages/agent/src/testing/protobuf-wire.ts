/**
 * A minimal protobuf wire-format reader: enough to decode OTLP requests in tests.
 *
 * Each field comes out as its number, wire type and raw value: a bigint for varints, the
 * bytes for length-delimited, 64-bit and 32-bit fields. Messages are decoded by iterating
 * their fields and switching on the number (see otlp-decode.ts).
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface WireField {
  readonly no: number;
  readonly wire: number;
  /** varint: the value; LEN, I64, I32: the bytes. */
  readonly value: bigint | Uint8Array;
}

export class ProtoDecodeError extends Error {}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = pos; i < buf.length && shift < 70n; i++) {
    const byte = buf[i] as number;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, i + 1];
    shift += 7n;
  }
  throw new ProtoDecodeError(`truncated or overlong varint at offset ${pos}`);
}

function take(buf: Uint8Array, pos: number, length: number): Uint8Array {
  if (length < 0 || pos + length > buf.length) {
    throw new ProtoDecodeError(`field of ${length} bytes at offset ${pos} overruns the message`);
  }
  return buf.subarray(pos, pos + length);
}

/** The fields of one message, in wire order. */
export function* fields(buf: Uint8Array): Generator<WireField> {
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = readVarint(buf, pos);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    pos = afterTag;
    switch (wire) {
      case WIRE_VARINT: {
        const [value, next] = readVarint(buf, pos);
        pos = next;
        yield { no, wire, value };
        break;
      }
      case WIRE_I64:
        yield { no, wire, value: take(buf, pos, 8) };
        pos += 8;
        break;
      case WIRE_LEN: {
        const [length, next] = readVarint(buf, pos);
        const value = take(buf, next, Number(length));
        pos = next + value.length;
        yield { no, wire, value };
        break;
      }
      case WIRE_I32:
        yield { no, wire, value: take(buf, pos, 4) };
        pos += 4;
        break;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire} at offset ${pos}`);
    }
  }
}

export function bytesOf(field: WireField): Uint8Array {
  if (typeof field.value === "bigint") {
    throw new ProtoDecodeError(`field ${field.no}: expected bytes, got a varint`);
  }
  return field.value;
}

export function varintOf(field: WireField): bigint {
  if (typeof field.value !== "bigint") {
    throw new ProtoDecodeError(`field ${field.no}: expected a varint`);
  }
  return field.value;
}

export function stringOf(field: WireField): string {
  return Buffer.from(bytesOf(field)).toString("utf8");
}

export function hexOf(field: WireField): string {
  return Buffer.from(bytesOf(field)).toString("hex");
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** fixed64 (unsigned). */
export function fixed64Of(field: WireField): bigint {
  return view(bytesOf(field)).getBigUint64(0, true);
}

/** sfixed64. */
export function sfixed64Of(field: WireField): bigint {
  return view(bytesOf(field)).getBigInt64(0, true);
}

export function doubleOf(field: WireField): number {
  return view(bytesOf(field)).getFloat64(0, true);
}

/** A repeated 64-bit field, packed (LEN) or not (one I64 per element). */
export function repeated64(field: WireField, read: (v: DataView, at: number) => number): number[] {
  const bytes = bytesOf(field);
  if (field.wire === WIRE_I64) return [read(view(bytes), 0)];
  if (bytes.length % 8 !== 0) {
    throw new ProtoDecodeError(`field ${field.no}: packed 64-bit data of ${bytes.length} bytes`);
  }
  const v = view(bytes);
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at += 8) out.push(read(v, at));
  return out;
}

export const readFixed64AsNumber = (v: DataView, at: number): number =>
  Number(v.getBigUint64(at, true));
export const readDouble = (v: DataView, at: number): number => v.getFloat64(at, true);
