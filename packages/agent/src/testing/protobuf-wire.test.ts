import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fields,
  fixed64Of,
  ProtoDecodeError,
  readFixed64AsNumber,
  repeated64,
  stringOf,
  varintOf,
} from "./protobuf-wire.js";

function fixed64(value: number): number[] {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return [...b];
}

describe("protobuf wire reader", () => {
  it("reads varints, strings and fixed64 fields", () => {
    // field 1 varint 300; field 2 "hi"; field 3 fixed64 7
    const buf = Uint8Array.from([0x08, 0xac, 0x02, 0x12, 0x02, 0x68, 0x69, 0x19, ...fixed64(7)]);
    const [a, b, c] = [...fields(buf)];
    assert.ok(a && b && c);
    assert.equal(varintOf(a), 300n);
    assert.equal(stringOf(b), "hi");
    assert.equal(fixed64Of(c), 7n);
  });

  it("reads repeated fixed64 both packed and unpacked", () => {
    const packed = Uint8Array.from([0x32, 16, ...fixed64(1), ...fixed64(2)]);
    const unpacked = Uint8Array.from([0x31, ...fixed64(3), 0x31, ...fixed64(4)]);
    const values = (buf: Uint8Array): number[] =>
      [...fields(buf)].flatMap((f) => repeated64(f, readFixed64AsNumber));
    assert.deepEqual(values(packed), [1, 2]);
    assert.deepEqual(values(unpacked), [3, 4]);
  });

  it("rejects truncated input", () => {
    assert.throws(() => [...fields(Uint8Array.from([0x12, 0x05, 0x68]))], ProtoDecodeError);
    assert.throws(() => [...fields(Uint8Array.from([0x08, 0xff]))], ProtoDecodeError);
  });
});
