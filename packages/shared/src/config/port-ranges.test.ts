import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PORT_RANGES_ALLOWED, PortRanges } from "./port-ranges.js";

describe("PortRanges.parse", () => {
  const good: [unknown, string, number[], number[]][] = [
    ["80,443,8000-8999", "80,443,8000-8999", [80, 443, 8000, 8500, 8999], [81, 7999, 9000]],
    [443, "443", [443], [442, 444]],
    [" 80 , 90-91 ", "80,90-91", [80, 90, 91], [89, 92]],
    ["1-65535", "1-65535", [1, 65535], [0, 65536]],
    ["8080-8080", "8080", [8080], [8081]],
  ];
  for (const [input, text, inside, outside] of good) {
    it(`reads ${JSON.stringify(input)}`, () => {
      const ranges = PortRanges.parse(input, "open_port");
      assert.equal(ranges.toString(), text);
      assert.equal(JSON.stringify(ranges), JSON.stringify(text));
      for (const p of inside) assert.equal(ranges.includes(p), true, `includes ${p}`);
      for (const p of outside) assert.equal(ranges.includes(p), false, `excludes ${p}`);
    });
  }

  const bad: [unknown, string][] = [
    [0, 'value "0" has a port out of range "0"'],
    ["70000", 'value "70000" has a port out of range "70000"'],
    ["80,65536", 'value "80,65536" has a port out of range "65536"'],
    ["9000-8000", 'value "9000-8000" has a reversed range "9000-8000"'],
    ["http", 'value "http" has an invalid item "http"'],
    ["80,,443", 'value "80,,443" has an invalid item ""'],
    ["80-", 'value "80-" has an invalid item "80-"'],
    ["-80", 'value "-80" has an invalid item "-80"'],
    ["1-2-3", 'value "1-2-3" has an invalid item "1-2-3"'],
    ["0x50", 'value "0x50" has an invalid item "0x50"'],
    [80.5, 'value "80.5" has an invalid item "80.5"'],
    ["", 'value "" is not allowed'],
    ["  ", 'value "  " is not allowed'],
    [true, "value true is not a string or number"],
    [[80], "value [80] is not a string or number"],
  ];
  for (const [input, problem] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => PortRanges.parse(input, "discovery.services[1].open_ports"), {
        name: "ConfigError",
        field: "discovery.services[1].open_ports",
        message: `config: field "discovery.services[1].open_ports": ${problem}; allowed: ${PORT_RANGES_ALLOWED}`,
      });
    });
  }

  it("names the environment variable", () => {
    assert.throws(() => PortRanges.parse("x", "BEYLA_OPEN_PORT", "env"), {
      message: `config: environment variable "BEYLA_OPEN_PORT": value "x" has an invalid item "x"; allowed: ${PORT_RANGES_ALLOWED}`,
    });
  });
});

describe("PortRanges", () => {
  it("matches when any one of a process's ports is included", () => {
    const ranges = new PortRanges([{ from: 8000, to: 8999 }]);
    assert.equal(ranges.includesAny([22, 8080]), true);
    assert.equal(ranges.includesAny([22, 443]), false);
    assert.equal(ranges.includesAny([]), false);
  });

  it("refuses ranges built by hand that are out of bounds", () => {
    assert.throws(() => new PortRanges([{ from: 10, to: 5 }]), { name: "RangeError" });
    assert.throws(() => new PortRanges([{ from: 0, to: 5 }]), { name: "RangeError" });
  });
});
