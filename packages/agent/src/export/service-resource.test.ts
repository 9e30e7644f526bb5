import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testService } from "../testing/spans.js";
import { resourceAttributes, targetInfoLabels } from "./service-resource.js";

describe("resourceAttributes", () => {
  it("lets typed identity fields win over same-named extra attributes", () => {
    const identity = testService({
      namespace: "shop",
      attributes: {
        "host.name": "node7",
        "process.pid": "1234",
        "process.executable.name": "nginx",
        "telemetry.sdk.language": "go",
        "k8s.pod.name": "",
      },
    });
    assert.deepEqual(resourceAttributes(identity, "fallback"), {
      "host.name": "node7",
      "os.type": "linux",
      "telemetry.sdk.name": "beyla",
      "telemetry.sdk.language": "go",
      "telemetry.sdk.version": "0.1.0",
      "process.executable.name": "nginx",
      "service.name": "nginx",
      "service.namespace": "shop",
      "service.instance.id": "node1-1234",
      "process.pid": 1234,
      "process.executable.path": "/usr/sbin/nginx",
    });
  });

  it("derives target_info labels in a fixed order, without unknown attributes", () => {
    const identity = testService({
      attributes: { "k8s.pod.name": "web-1", "k8s.namespace.name": "prod", "custom.key": "x" },
    });
    assert.deepEqual(Object.entries(targetInfoLabels(identity, "node9")), [
      ["host_name", "node9"],
      ["service_name", "nginx"],
      ["service_namespace", ""],
      ["service_instance_id", "node1-1234"],
      ["process_pid", "1234"],
      ["process_executable_path", "/usr/sbin/nginx"],
      ["os_type", "linux"],
      ["telemetry_sdk_name", "beyla"],
      ["telemetry_sdk_language", "unknown"],
      ["telemetry_sdk_version", "0.1.0"],
      ["k8s_namespace_name", "prod"],
      ["k8s_pod_name", "web-1"],
    ]);
  });
});
