/**
 * How the mini-kubelet (mini-kubelet.ts) turns a Pod's one container into a host command: the
 * Pod's network namespace (nsenter), the environment the kubelet computes, volumes
 * bind-mounted at their mountPath in a mount namespace of its own, an /etc/hosts that answers
 * for the cluster's Service names, the container cgroup, and the securityContext applied with
 * setpriv.
 */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cgroupMounts, createContainerCgroup, type ContainerCgroup } from "./kube-cgroup.js";
import { containerId } from "./kube-pods.js";
import type { Sandbox } from "./mini-kubelet-network.js";
import {
  fieldValue,
  get,
  NODE_IP,
  objectData,
  onlyContainer,
  podName,
  type Container,
  type EndpointSlice,
  type EnvVar,
  type NodeContext,
  type Pod,
  type ServiceObject,
  type ServicePort,
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

/** The Pod's container, ready to start: command (nsenter or unshare), argv and environment. */
export interface PreparedContainer {
  command: string;
  argv: string[];
  env: Record<string, string>;
  /** 64 hex, also the name of its cgroup (as containerd names them). */
  containerId: string;
  cgroup: ContainerCgroup;
}

/**
 * Writes the Pod's volumes, /etc/hosts and HOME under the kubelet's directory and returns the
 * command that runs `entrypoint` + the container's args inside them, in the Pod's network
 * namespace (`sandbox`; none: the host's network, for hostNetwork Pods). `pod.status.podIP` is
 * the sandbox's IP. Throws (the kubelet would retry) when an object a volume or variable needs
 * is missing.
 */
export async function prepareContainer(
  node: NodeContext,
  pod: Pod,
  entrypoint: readonly string[],
  sandbox: Sandbox | undefined,
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
  writeFileSync(hosts, await hostsFile(node, pod, sandbox !== undefined));
  const env = await containerEnv(node, pod, c, home, sandbox !== undefined);
  const mounts = planMounts(node, pod, c, sources, hosts);
  const id = containerId();
  const cgroup =
    createContainerCgroup("v2-systemd", pod.metadata.uid, id, cgroupMounts()) ??
    createContainerCgroup("v1-cgroupfs", pod.metadata.uid, id, cgroupMounts());
  if (cgroup === undefined) throw new Error("no cgroup hierarchy to put containers in");
  const command = [...(c.command ?? entrypoint), ...(c.args ?? [])].map((a) => expand(a, env));
  const script = startScript(cgroup, mounts, security, c.workingDir, command);
  // Slave, as runc's rslave: the host's unmounts reach the container, so a deleted Pod's
  // network namespace (a mount under /run/netns) is not kept alive by the other containers.
  const unshare = ["unshare", "--mount", "--propagation", "slave", "/bin/sh", "-c", script];
  return {
    command: sandbox ? "nsenter" : unshare[0]!,
    argv: sandbox ? [`--net=${sandbox.netns}`, ...unshare] : unshare.slice(1),
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
  podNetwork: boolean,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {
    PATH: IMAGE_PATH,
    HOSTNAME: pod.metadata.name,
    HOME: home,
    ...(await serviceEnv(node, pod, podNetwork)),
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
 * Service, always, and each Service of the Pod's namespace that has a cluster IP, at its
 * ClusterIP and Service port, where kube-proxy (mini-kube-proxy.ts) answers. A Pod on the
 * host's network gets 127.0.0.1 and the API server's port instead: the ClusterIPs are routed
 * from the Pods' namespaces only, and there the API server and hostNetwork Pods listen.
 */
async function serviceEnv(
  node: NodeContext,
  pod: Pod,
  podNetwork: boolean,
): Promise<Record<string, string>> {
  const links: { name: string; host: string; ports: ServicePort[] }[] = [];
  if (podNetwork) {
    const api = (await get(node, "/api/v1/namespaces/default/services/kubernetes")) as
      ServiceObject | undefined;
    if (!api?.spec.clusterIP) throw new Error("no ClusterIP for the kubernetes Service (yet)");
    links.push({ name: "kubernetes", host: api.spec.clusterIP, ports: api.spec.ports ?? [] });
  } else {
    const ports = [{ name: "https", port: Number(node.apiPort) }];
    links.push({ name: "kubernetes", host: NODE_IP, ports });
  }
  if (pod.spec.enableServiceLinks !== false) {
    const list = await get(node, `/api/v1/namespaces/${pod.metadata.namespace}/services`);
    for (const s of (list?.["items"] ?? []) as ServiceObject[]) {
      if (s.spec.clusterIP && s.spec.clusterIP !== "None") {
        const host = podNetwork ? s.spec.clusterIP : NODE_IP;
        links.push({ name: s.metadata.name, host, ports: s.spec.ports ?? [] });
      }
    }
  }
  const env: Record<string, string> = {};
  for (const { name, host, ports } of links) Object.assign(env, serviceLink(name, host, ports));
  return env;
}

/** One Service's variables, as the kubelet names them (`<NAME>_SERVICE_HOST`, `<NAME>_PORT`, ...). */
function serviceLink(
  service: string,
  host: string,
  ports: readonly ServicePort[],
): Record<string, string> {
  const name = (s: string) => s.toUpperCase().replaceAll("-", "_");
  const prefix = name(service);
  const url = (p: ServicePort) => `${(p.protocol ?? "TCP").toLowerCase()}://${host}:${p.port}`;
  const [first] = ports;
  if (first === undefined) return {};
  const env: Record<string, string> = {
    [`${prefix}_SERVICE_HOST`]: host,
    [`${prefix}_SERVICE_PORT`]: String(first.port),
    [`${prefix}_PORT`]: url(first),
  };
  for (const p of ports) {
    const key = `${prefix}_PORT_${p.port}_${p.protocol ?? "TCP"}`;
    if (p.name) env[`${prefix}_SERVICE_PORT_${name(p.name)}`] = String(p.port);
    env[key] = url(p);
    env[`${key}_PROTO`] = (p.protocol ?? "TCP").toLowerCase();
    env[`${key}_PORT`] = String(p.port);
    env[`${key}_ADDR`] = host;
  }
  return env;
}

/**
 * Cluster DNS as the Pod would see it: the host's /etc/hosts, the Pod's own name at its IP,
 * and every Service of the cluster by its DNS names (`<svc>.<ns>.svc.cluster.local`, the
 * shorter forms a search path allows, the bare name in the Pod's namespace): a Service with a
 * ClusterIP at that ClusterIP, which kube-proxy (mini-kube-proxy.ts) leads to a ready Pod; a
 * headless Service at the IPs of its ready endpoints. On the host's network every name is
 * 127.0.0.1, where the API server and hostNetwork Pods listen. Written at Pod start: Services
 * made later are not resolved, nor the endpoints a headless Service gets later.
 */
async function hostsFile(node: NodeContext, pod: Pod, podNetwork: boolean): Promise<string> {
  const list = await get(node, "/api/v1/services");
  const slices = podNetwork ? await get(node, "/apis/discovery.k8s.io/v1/endpointslices") : {};
  const lines = [readFileSync("/etc/hosts", "utf8").trimEnd(), "# mini-kubelet: Pod, Services"];
  lines.push(`${pod.status?.podIP ?? NODE_IP} ${pod.metadata.name}`);
  for (const s of (list?.["items"] ?? []) as ServiceObject[]) {
    const { name, namespace } = s.metadata;
    const names = [`${name}.${namespace}.svc.${CLUSTER_DOMAIN}`, `${name}.${namespace}.svc`];
    names.push(`${name}.${namespace}`, ...(namespace === pod.metadata.namespace ? [name] : []));
    for (const address of serviceAddresses(
      s,
      podNetwork,
      (slices?.["items"] ?? []) as EndpointSlice[],
    )) {
      lines.push(`${address} ${names.join(" ")}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** What cluster DNS answers for a Service's name. */
function serviceAddresses(
  s: ServiceObject,
  podNetwork: boolean,
  slices: readonly EndpointSlice[],
): string[] {
  if (!podNetwork) return [NODE_IP];
  if (s.spec.clusterIP && s.spec.clusterIP !== "None") return [s.spec.clusterIP];
  const own = slices.filter(
    (sl) =>
      sl.metadata.namespace === s.metadata.namespace &&
      sl.metadata.labels?.["kubernetes.io/service-name"] === s.metadata.name &&
      sl.addressType === "IPv4",
  );
  const ready = own
    .flatMap((sl) => sl.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false);
  return [...new Set(ready.map((e) => e.addresses[0]).filter((a) => a !== undefined))];
}
