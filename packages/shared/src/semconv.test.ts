import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ATTRIBUTES,
  DURATION_BUCKETS_SECONDS,
  METRICS,
  SIZE_BUCKETS_BYTES,
  prometheusLabelName,
} from "./semconv.js";

const SUFFIX = { s: "_seconds", By: "_bytes", "1": "" } as const;

describe("semconv", () => {
  for (const [key, m] of Object.entries(METRICS)) {
    it(`derives the Prometheus name of ${key} from the OTel name and unit`, () => {
      assert.equal(m.prometheus, prometheusLabelName(m.otel) + SUFFIX[m.unit]);
    });
  }

  for (const [key, a] of Object.entries(ATTRIBUTES)) {
    it(`derives the Prometheus label of ${key}`, () =>
      assert.equal(a.prometheus, prometheusLabelName(a.otel)));
  }

  it("has the metric names of DESIGN §6", () => {
    assert.deepEqual(
      Object.values(METRICS).map((m) => m.prometheus),
      [
        "http_server_request_duration_seconds",
        "http_client_request_duration_seconds",
        "http_server_request_body_size_bytes",
        "http_client_request_body_size_bytes",
        "rpc_server_duration_seconds",
        "rpc_client_duration_seconds",
        "db_client_operation_duration_seconds",
        "messaging_publish_duration_seconds",
        "messaging_process_duration_seconds",
        "target_info",
      ],
    );
  });

  it("has the buckets of DESIGN §6, frozen", () => {
    assert.deepEqual(
      DURATION_BUCKETS_SECONDS,
      [0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    );
    assert.deepEqual(SIZE_BUCKETS_BYTES, [0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]);
    assert.ok(Object.isFrozen(DURATION_BUCKETS_SECONDS));
    assert.ok(Object.isFrozen(SIZE_BUCKETS_BYTES));
  });

  const labels: [string, string][] = [
    ["k8s.pod.name", "k8s_pod_name"],
    ["http.response.status_code", "http_response_status_code"],
    ["a-b/c", "a_b_c"],
    ["9lives", "_lives"],
  ];
  for (const [otel, prom] of labels) {
    it(`turns ${otel} into ${prom}`, () => assert.equal(prometheusLabelName(otel), prom));
  }
});
