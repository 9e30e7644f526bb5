/**
 * The mini-kubelet's stand-in for kube-proxy (mini-kubelet-network.ts starts it): a TCP proxy
 * in userspace, as kube-proxy's old userspace mode was, run inside a network namespace of its
 * own on the Pod bridge, where every address of the Service CIDR is local (a `local` route).
 * Pods route the Service CIDR to it, so a connection to a Service's ClusterIP and port lands
 * here and is spliced to one of the Service's ready endpoints (a Pod IP and port, or the API
 * server's Unix socket relay for the `kubernetes` Service).
 *
 * Run as `nsenter --net=<netns> node mini-kube-proxy.js` with an IPC channel. The parent sends
 * the whole rule set each time it changes (Rule[]); a rule without endpoints has no listener,
 * so a connection to it is refused, as kube-proxy rejects it. Answers { applied } or { error }.
 * Exits when the channel closes: a parent that dies takes it along.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** Where a Service port's connections go: a Pod's IP and port, or a Unix socket. */
export type Endpoint = { host: string; port: number } | { path: string };

export interface Rule {
  /** The ClusterIP and Service port. */
  ip: string;
  port: number;
  /** Ready endpoints, in the parent's order: the first one gets the connections. */
  endpoints: Endpoint[];
}

export type ProxyMessage = { applied: number } | { error: string };

interface Listener {
  server: Server;
  endpoints: Endpoint[];
}

const listeners = new Map<string, Listener>();

function reply(message: ProxyMessage): void {
  process.send?.(message);
}

async function apply(rules: readonly Rule[]): Promise<void> {
  const wanted = new Map(
    rules.filter((r) => r.endpoints.length > 0).map((r) => [`${r.ip}:${r.port}`, r]),
  );
  for (const [key, l] of listeners) {
    if (wanted.has(key)) continue;
    listeners.delete(key);
    l.server.close();
  }
  const opened: Promise<void>[] = [];
  for (const [key, rule] of wanted) {
    const known = listeners.get(key);
    if (known) {
      known.endpoints = rule.endpoints;
      continue;
    }
    const l: Listener = {
      server: createServer({ allowHalfOpen: true }, (c) => splice(c, l.endpoints)),
      endpoints: rule.endpoints,
    };
    listeners.set(key, l);
    opened.push(
      new Promise<void>((resolve, reject) => {
        l.server.once("error", reject);
        l.server.listen(rule.port, rule.ip, () => resolve());
      }).catch((e: unknown) => {
        listeners.delete(key);
        throw new Error(`listen ${key}: ${e instanceof Error ? e.message : String(e)}`);
      }),
    );
  }
  const failed = (await Promise.allSettled(opened)).find((r) => r.status === "rejected");
  if (failed) reply({ error: String((failed as PromiseRejectedResult).reason) });
  else reply({ applied: wanted.size });
}

/** One client connection, joined to the first endpoint in both directions, half-closes kept. */
function splice(client: Socket, endpoints: readonly Endpoint[]): void {
  const [to] = endpoints;
  if (to === undefined) {
    client.destroy();
    return;
  }
  const upstream =
    "path" in to
      ? connect({ path: to.path, allowHalfOpen: true })
      : connect({ host: to.host, port: to.port, allowHalfOpen: true });
  client.pipe(upstream);
  upstream.pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
}

let queue = Promise.resolve();
process.on("message", (rules: Rule[]) => {
  queue = queue.then(() => apply(rules));
});
process.on("disconnect", () => process.exit(0));
