import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { CHART_DIR, outcome, type K8sObject, type Outcome } from "./helm.js";
import { REPO_ROOT, run } from "./processes.js";
import { NAMESPACE, RELEASE } from "./helm-chart.js";

/** The pinned helm built by e2e/k8s/build.sh (a no-op when its cache is complete). */
export async function helmBinary(): Promise<string> {
  const out = await run("bash", [join(REPO_ROOT, "e2e", "k8s", "build.sh")]);
  return join(out.trim().split("\n").pop()!, "helm");
}

/** `helm template` of the chart as release "beyla" in beyla-system, with extra arguments. */
export function template(helm: string, args: string[] = []): Promise<Outcome> {
  return outcome(helm, ["template", RELEASE, CHART_DIR, "--namespace", NAMESPACE, ...args], {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: "/nonexistent" },
  });
}

/** `helm template` that must succeed, parsed into its objects. */
export async function render(helm: string, args: string[] = []): Promise<K8sObject[]> {
  const o = await template(helm, args);
  if (o.code !== 0)
    throw new Error(`helm template ${args.join(" ")} exited ${o.code}: ${o.stderr}`);
  return parseAllDocuments(o.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}
