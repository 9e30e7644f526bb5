/**
 * How the mini-kubelet (mini-kubelet.ts) turns a Pod's one container into a host command: the
 * environment the kubelet computes, volumes bind-mounted at their mountPath in a private mount
 * namespace, an /etc/hosts that answers for the cluster's Service names, the container cgroup,
 * and the securityContext applied with setpriv.
 */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupMounts, createContainerCgroup, type ContainerCgroup } from "./kube-cgroup.js";
import { containerId } from "./kube-pods.js";
import {
  fieldValue,
  get,
  objectData,
  onlyContainer,
  POD_IP,
  podName,
  type Container,
  type EnvVar,
  type NodeContext,
  type Pod,
} from "./mini-kubelet-pod.js";
import {
  materializeVolume,
  planMounts,
  type Mount,
  type VolumeSource,
} from "./mini-kubelet-volumes.js";

/** The kubelet's default --cluster-domain. */
const CLUSTER_DOMAIN = "cluster.local";

/** PATH of a typical image (the container does not inherit the test's environment). */
const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** containerd's default capabilities, what a container has before `drop` and `add`. */
const RUNTIME_CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
];

/** The Pod's container, ready to start: `unshare` argv and environment. */
export interface PreparedContainer {
  argv: string[];
  env: Record<string, string>;
  /** 64 hex, also the name of its cgroup (as containerd names them). */
  containerId: string;
  cgroup: ContainerCgroup;
}

/**
 * Writes the Pod's volumes, /etc/hosts and HOME under the kubelet's directory and returns the
 * command that runs `entrypoint` + the container's args inside them. Throws (the kubelet would
 * retry) when an object a volume or variable needs is missing.
 */
export async function prepareContainer(
  node: NodeContext,
  pod: Pod,
  entrypoint: readonly string[],
): Promise<PreparedContainer> {
  const c = onlyContainer(pod);
  const dir = join(node.root, "pods", pod.metadata.uid);
  const security = effectiveSecurity(pod, c);
  const home = join(dir, "home");
  mkdirSync(home, { recursive: true });
  chownSync(home, security.uid, security.gid);
  const sources = new Map<string, VolumeSource>();
  for (const v of pod.spec.volumes ?? []) {
    sources.set(v.name, await materializeVolume(node, pod, v, join(dir, "volumes", v.name)));
  }
  const hosts = join(dir, "etc-hosts");
  writeFileSync(hosts, await hostsFile(node, pod));
  const env = await containerEnv(node, pod, c, home);
  const mounts = planMounts(node, pod, c, sources, hosts);
  const id = containerId();
  const cgroup =
    createContainerCgroup("v2-systemd", pod.metadata.uid, id, cgroupMounts()) ??
    createContainerCgroup("v1-cgroupfs", pod.metadata.uid, id, cgroupMounts());
  if (cgroup === undefined) throw new Error("no cgroup hierarchy to put containers in");
  const command = [...(c.command ?? entrypoint), ...(c.args ?? [])].map((a) => expand(a, env));
  const script = startScript(cgroup, mounts, security, c.workingDir, command);
  return {
    argv: ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
    env,
    containerId: id,
    cgroup,
  };
}

/**
 * The container's start, in its new mount namespace: join the cgroup, mount the volumes
 * (parents first), make / read-only if asked, then exec the command with its privileges.
 */
function startScript(
  cgroup: ContainerCgroup,
  mounts: readonly Mount[],
  security: Security,
  workingDir: string | undefined,
  command: readonly string[],
): string {
  return [
    "set -e",
    `echo $$ > ${sh(cgroup.procsFile)}`,
    ...mounts.flatMap((m) => [
      `mount --bind ${sh(m.source)} ${sh(m.target)}`,
      ...(m.readOnly ? [`mount -o remount,bind,ro ${sh(m.target)}`] : []),
    ]),
    ...(security.readOnlyRoot ? ["mount -o remount,bind,ro /"] : []),
    `cd ${sh(workingDir ?? "/")}`,
    `exec setpriv ${security.setpriv.map(sh).join(" ")} -- ${command.map(sh).join(" ")}`,
  ].join("\n");
}

function sh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `$(VAR)` references to variables defined before, as the kubelet expands them; `$$` is `$`. */
function expand(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
    name === undefined ? "$" : (env[name] ?? m),
  );
}

interface Security {
  uid: number;
  gid: number;
  readOnlyRoot: boolean;
  /** setpriv options: user, groups, capability bounding set, no_new_privs. */
  setpriv: string[];
}

/**
 * The pod's securityContext overlaid with the container's. Root keeps, after exec, exactly the
 * bounding set, so the bounding set is the container's capabilities, as runc sets them.
 */
function effectiveSecurity(pod: Pod, c: Container): Security {
  const sc = { ...pod.spec.securityContext, ...c.securityContext };
  const uid = sc.runAsUser ?? 0; // the images run as root unless told otherwise
  const gid = sc.runAsGroup ?? 0;
  if (sc.runAsNonRoot === true && uid === 0) {
    throw new Error(`${podName(pod)}: runAsNonRoot is set and the container would run as root`);
  }
  const groups = [
    ...(sc.fsGroup === undefined ? [] : [sc.fsGroup]),
    ...(sc.supplementalGroups ?? []),
  ];
  const setpriv = ["--reuid", String(uid), "--regid", String(gid)];
  setpriv.push(...(groups.length > 0 ? ["--groups", groups.join(",")] : ["--clear-groups"]));
  if (sc.privileged !== true) {
    const name = (cap: string) => cap.toUpperCase().replace(/^CAP_/, "");
    const drop = (sc.capabilities?.drop ?? []).map(name);
    const kept = drop.includes("ALL") ? [] : RUNTIME_CAPABILITIES.filter((x) => !drop.includes(x));
    const caps = [...new Set([...kept, ...(sc.capabilities?.add ?? []).map(name)])];
    const bounding = ["-all", ...caps.map((x) => `+${x.toLowerCase()}`)].join(",");
    setpriv.push("--bounding-set", bounding, "--inh-caps", "-all", "--ambient-caps", "-all");
  }
  if (sc.allowPrivilegeEscalation === false) setpriv.push("--no-new-privs");
  return { uid, gid, readOnlyRoot: sc.readOnlyRootFilesystem === true, setpriv };
}

async function containerEnv(
  node: NodeContext,
  pod: Pod,
  c: Container,
  home: string,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: IMAGE_PATH,
    HOSTNAME: pod.metadata.name,
    HOME: home,
    ...(await serviceEnv(node, pod)),
  };
  for (const from of c.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (ref === undefined) continue;
    const data = await objectData(node, pod, from.secretRef ? "secrets" : "configmaps", ref);
    for (const [k, v] of data ?? []) env[`${from.prefix ?? ""}${k}`] = v.toString("utf8");
  }
  for (const e of c.env ?? []) {
    const value = e.valueFrom ? await valueFrom(node, pod, e) : expand(e.value ?? "", env);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

async function valueFrom(node: NodeContext, pod: Pod, e: EnvVar): Promise<string | undefined> {
  const from = e.valueFrom!;
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath);
  const ref = from.secretKeyRef ?? from.configMapKeyRef;
  if (ref === undefined) throw new Error(`${podName(pod)}: env ${e.name}: source not emulated`);
  const data = await objectData(node, pod, from.secretKeyRef ? "secrets" : "configmaps", ref);
  const value = data?.get(ref.key);
  if (value === undefined && ref.optional !== true) {
    throw new Error(`${podName(pod)}: env ${e.name}: key ${ref.key} of ${ref.name} not found`);
  }
  return value?.toString("utf8");
}

/**
 * The service links every Pod gets (enableServiceLinks, on by default): the `kubernetes`
 * Service, always, and each Service of the Pod's namespace that has a cluster IP. Their host is
 * 127.0.0.1, where kube-proxy would lead: the API server, and every Pod, listen there.
 */
async function serviceEnv(node: NodeContext, pod: Pod): Promise<Record<string, string>> {
  const links: { name: string; ports: ServicePort[] }[] = [
    { name: "kubernetes", ports: [{ name: "https", port: Number(node.apiPort) }] },
  ];
  if (pod.spec.enableServiceLinks !== false) {
    const list = await get(node, `/api/v1/namespaces/${pod.metadata.namespace}/services`);
    for (const s of (list?.["items"] ?? []) as ServiceObject[]) {
      if (s.spec.clusterIP && s.spec.clusterIP !== "None") {
        links.push({ name: s.metadata.name, ports: s.spec.ports ?? [] });
      }
    }
  }
  const env: Record<string, string> = {};
  for (const { name, ports } of links) Object.assign(env, serviceLink(name, ports));
  return env;
}

interface ServiceObject {
  metadata: { name: string; namespace: string };
  spec: { clusterIP?: string; ports?: ServicePort[] };
}

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

/** One Service's variables, as the kubelet names them (`<NAME>_SERVICE_HOST`, `<NAME>_PORT`, ...). */
function serviceLink(service: string, ports: readonly ServicePort[]): Record<string, string> {
  const name = (s: string) => s.toUpperCase().replaceAll("-", "_");
  const prefix = name(service);
  const url = (p: ServicePort) => `${(p.protocol ?? "TCP").toLowerCase()}://${POD_IP}:${p.port}`;
  const [first] = ports;
  if (first === undefined) return {};
  const env: Record<string, string> = {
    [`${prefix}_SERVICE_HOST`]: POD_IP,
    [`${prefix}_SERVICE_PORT`]: String(first.port),
    [`${prefix}_PORT`]: url(first),
  };
  for (const p of ports) {
    const key = `${prefix}_PORT_${p.port}_${p.protocol ?? "TCP"}`;
    if (p.name) env[`${prefix}_SERVICE_PORT_${name(p.name)}`] = String(p.port);
    env[key] = url(p);
    env[`${key}_PROTO`] = (p.protocol ?? "TCP").toLowerCase();
    env[`${key}_PORT`] = String(p.port);
    env[`${key}_ADDR`] = POD_IP;
  }
  return env;
}

/**
 * Cluster DNS as the Pod would see it: the host's /etc/hosts, the Pod's own name, and every
 * Service of the cluster by its DNS names (`<svc>.<ns>.svc.cluster.local`, the shorter forms
 * a search path allows, the bare name in the Pod's namespace), all at 127.0.0.1. The chart's
 * Services use the container port as Service port, so the name and port reach the process as
 * kube-proxy would. Written at Pod start: Services made later are not resolved.
 */
async function hostsFile(node: NodeContext, pod: Pod): Promise<string> {
  const list = await get(node, "/api/v1/services");
  const lines = [readFileSync("/etc/hosts", "utf8").trimEnd(), "# mini-kubelet: Pod, Services"];
  lines.push(`${POD_IP} ${pod.metadata.name}`);
  for (const s of (list?.["items"] ?? []) as ServiceObject[]) {
    const { name, namespace } = s.metadata;
    const names = [`${name}.${namespace}.svc.${CLUSTER_DOMAIN}`, `${name}.${namespace}.svc`];
    names.push(`${name}.${namespace}`, ...(namespace === pod.metadata.namespace ? [name] : []));
    lines.push(`${POD_IP} ${names.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}
