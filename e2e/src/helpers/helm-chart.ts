/**
 * What charts/beyla renders with its default values for release "beyla" in namespace
 * "beyla-system": the objects, and the exact RBAC rules and capabilities the tests expect.
 */

export const RELEASE = "beyla";
export const NAMESPACE = "beyla-system";
export const CRD = "beylainstrumentations.beyla.io";
export const AGENT = "beyla-agent";
export const OPERATOR = "beyla-operator";
export const AGENT_SA = `system:serviceaccount:${NAMESPACE}:${AGENT}`;
export const OPERATOR_SA = `system:serviceaccount:${NAMESPACE}:${OPERATOR}`;

export interface ObjectRef {
  kind: string;
  name: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
}

/** Every object of the release, CRD included (`helm install` applies crds/ first). */
export const RELEASE_OBJECTS: readonly ObjectRef[] = [
  { kind: "CustomResourceDefinition", name: CRD },
  { kind: "PriorityClass", name: AGENT },
  { kind: "ServiceAccount", name: AGENT, namespace: NAMESPACE },
  { kind: "ServiceAccount", name: OPERATOR, namespace: NAMESPACE },
  { kind: "ConfigMap", name: AGENT, namespace: NAMESPACE },
  { kind: "ClusterRole", name: AGENT },
  { kind: "ClusterRole", name: OPERATOR },
  { kind: "ClusterRoleBinding", name: AGENT },
  { kind: "ClusterRoleBinding", name: OPERATOR },
  { kind: "Role", name: `${AGENT}-kubeadm-config`, namespace: "kube-system" },
  { kind: "RoleBinding", name: `${AGENT}-kubeadm-config`, namespace: "kube-system" },
  { kind: "Role", name: OPERATOR, namespace: NAMESPACE },
  { kind: "RoleBinding", name: OPERATOR, namespace: NAMESPACE },
  { kind: "Service", name: AGENT, namespace: NAMESPACE },
  { kind: "Service", name: OPERATOR, namespace: NAMESPACE },
  { kind: "DaemonSet", name: AGENT, namespace: NAMESPACE },
  { kind: "Deployment", name: OPERATOR, namespace: NAMESPACE },
  { kind: "PodDisruptionBudget", name: OPERATOR, namespace: NAMESPACE },
];

/** "Kind namespace/name", sorted: one line per object, for exact comparisons. */
export function refLines(refs: readonly ObjectRef[]): string[] {
  return refs.map((r) => `${r.kind} ${r.namespace ?? ""}/${r.name}`).sort();
}

export const AGENT_CAPABILITIES = [
  "BPF",
  "PERFMON",
  "SYS_PTRACE",
  "DAC_READ_SEARCH",
  "CHECKPOINT_RESTORE",
  "NET_RAW",
];

/** The agent container's securityContext, exactly. */
export const AGENT_SECURITY_CONTEXT = {
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"], add: AGENT_CAPABILITIES },
  seccompProfile: { type: "RuntimeDefault" },
};

export const AGENT_CLUSTER_RULES = [
  { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
  { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get"] },
  { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
  { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
];

export const AGENT_KUBEADM_RULES = [
  {
    apiGroups: [""],
    resources: ["configmaps"],
    resourceNames: ["kubeadm-config"],
    verbs: ["get"],
  },
];

export const OPERATOR_CLUSTER_RULES = [
  { apiGroups: ["beyla.io"], resources: ["beylainstrumentations"], verbs: ["list", "watch"] },
  { apiGroups: ["beyla.io"], resources: ["beylainstrumentations/status"], verbs: ["patch"] },
  { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
];

export const OPERATOR_NAMESPACE_RULES = [
  { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    resourceNames: [OPERATOR],
    verbs: ["get", "update"],
  },
];

/**
 * `kubectl auth can-i` answers for each ServiceAccount: what it needs is allowed, its
 * neighbours (other verbs, namespaces, names) are not.
 */
export const PERMISSIONS: readonly { as: string; args: string[]; allowed: boolean }[] = [
  { as: AGENT_SA, args: ["list", "pods", "--all-namespaces"], allowed: true },
  { as: AGENT_SA, args: ["watch", "pods", "--all-namespaces"], allowed: true },
  { as: AGENT_SA, args: ["get", "pods", "-n", "default"], allowed: false },
  { as: AGENT_SA, args: ["delete", "pods", "-n", "default"], allowed: false },
  { as: AGENT_SA, args: ["get", "replicasets.apps", "-n", "default"], allowed: true },
  { as: AGENT_SA, args: ["list", "replicasets.apps", "--all-namespaces"], allowed: false },
  { as: AGENT_SA, args: ["get", "jobs.batch", "-n", "default"], allowed: true },
  { as: AGENT_SA, args: ["get", "nodes"], allowed: true },
  { as: AGENT_SA, args: ["list", "nodes"], allowed: false },
  { as: AGENT_SA, args: ["create", "tokenreviews.authentication.k8s.io"], allowed: true },
  { as: AGENT_SA, args: ["get", "configmaps/kubeadm-config", "-n", "kube-system"], allowed: true },
  { as: AGENT_SA, args: ["get", "configmaps/kube-proxy", "-n", "kube-system"], allowed: false },
  { as: AGENT_SA, args: ["list", "configmaps", "-n", "kube-system"], allowed: false },
  { as: AGENT_SA, args: ["get", "secrets", "-n", NAMESPACE], allowed: false },
  { as: AGENT_SA, args: ["list", "beylainstrumentations.beyla.io", "-A"], allowed: false },
  { as: OPERATOR_SA, args: ["list", "beylainstrumentations.beyla.io", "-A"], allowed: true },
  { as: OPERATOR_SA, args: ["watch", "beylainstrumentations.beyla.io", "-A"], allowed: true },
  {
    as: OPERATOR_SA,
    args: ["get", "beylainstrumentations.beyla.io", "-n", "demo"],
    allowed: false,
  },
  {
    as: OPERATOR_SA,
    args: ["patch", "beylainstrumentations.beyla.io", "--subresource=status", "-n", "demo"],
    allowed: true,
  },
  {
    as: OPERATOR_SA,
    args: ["update", "beylainstrumentations.beyla.io", "--subresource=status", "-n", "demo"],
    allowed: false,
  },
  {
    as: OPERATOR_SA,
    args: ["update", "beylainstrumentations.beyla.io", "-n", "demo"],
    allowed: false,
  },
  {
    as: OPERATOR_SA,
    args: ["delete", "beylainstrumentations.beyla.io", "-n", "demo"],
    allowed: false,
  },
  { as: OPERATOR_SA, args: ["list", "pods", "-n", NAMESPACE], allowed: true },
  { as: OPERATOR_SA, args: ["watch", "pods", "-n", NAMESPACE], allowed: true },
  { as: OPERATOR_SA, args: ["list", "pods", "-n", "default"], allowed: false },
  {
    as: OPERATOR_SA,
    args: ["create", "leases.coordination.k8s.io", "-n", NAMESPACE],
    allowed: true,
  },
  {
    as: OPERATOR_SA,
    args: ["update", `leases.coordination.k8s.io/${OPERATOR}`, "-n", NAMESPACE],
    allowed: true,
  },
  {
    as: OPERATOR_SA,
    args: ["update", "leases.coordination.k8s.io/other", "-n", NAMESPACE],
    allowed: false,
  },
  { as: OPERATOR_SA, args: ["create", "tokenreviews.authentication.k8s.io"], allowed: true },
  // Secrets only when operator.rbac.headersSecrets names them (HEADERS_SECRETS_PERMISSIONS).
  { as: OPERATOR_SA, args: ["get", "secrets", "-n", NAMESPACE], allowed: false },
  { as: OPERATOR_SA, args: ["get", "secrets", "-n", "demo"], allowed: false },
  { as: OPERATOR_SA, args: ["list", "secrets", "-A"], allowed: false },
  { as: OPERATOR_SA, args: ["watch", "secrets", "-A"], allowed: false },
];

/** `operator.rbac.headersSecrets` for the test that sets it. */
export const HEADERS_SECRETS = [{ namespace: "demo", names: ["otlp-auth"] }];

/** The Role `<release>-operator-headers-secrets` it makes in namespace demo. */
export const OPERATOR_HEADERS_SECRETS_RULES = [
  { apiGroups: [""], resources: ["secrets"], resourceNames: ["otlp-auth"], verbs: ["get"] },
];

/** With HEADERS_SECRETS: get on that one Secret by name, nothing more. */
export const HEADERS_SECRETS_PERMISSIONS: readonly {
  as: string;
  args: string[];
  allowed: boolean;
}[] = [
  { as: OPERATOR_SA, args: ["get", "secrets/otlp-auth", "-n", "demo"], allowed: true },
  { as: OPERATOR_SA, args: ["get", "secrets/other", "-n", "demo"], allowed: false },
  { as: OPERATOR_SA, args: ["list", "secrets", "-n", "demo"], allowed: false },
  { as: OPERATOR_SA, args: ["watch", "secrets", "-n", "demo"], allowed: false },
  { as: OPERATOR_SA, args: ["update", "secrets/otlp-auth", "-n", "demo"], allowed: false },
  { as: OPERATOR_SA, args: ["get", "secrets/otlp-auth", "-n", "default"], allowed: false },
  { as: OPERATOR_SA, args: ["get", "secrets/otlp-auth", "-n", NAMESPACE], allowed: false },
  { as: AGENT_SA, args: ["get", "secrets/otlp-auth", "-n", "demo"], allowed: false },
];
