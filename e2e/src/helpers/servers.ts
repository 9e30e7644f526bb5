import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, start, waitForPort, type Child } from "./processes.js";

/** The Node `http` fixture server (e2e/fixtures/node-server.mjs) on `host`:`port`. */
export async function startNodeServer(port: number, host = "127.0.0.1"): Promise<Child> {
  const child = start(process.execPath, [
    join(REPO_ROOT, "e2e", "fixtures", "node-server.mjs"),
    String(port),
    host,
  ]);
  await waitForPort(port, 10_000, host);
  return child;
}

/** Python's http.server serving `dir` on `port`. */
export async function startPythonServer(port: number, dir: string): Promise<Child> {
  const child = start("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], {
    cwd: dir,
  });
  await waitForPort(port);
  return child;
}

export interface Nginx {
  child: Child;
  root: string;
  accessLog: string;
}

/** nginx (Debian) in the foreground with one worker, its own prefix, logs and document root. */
export async function startNginx(port: number): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), "beyla-nginx-"));
  chmodSync(prefix, 0o755); // the worker runs as an unprivileged user and must read the root
  const root = join(prefix, "html");
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(join(prefix, "logs"));
  const accessLog = join(prefix, "logs", "access.log");
  const conf = join(prefix, "nginx.conf");
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log;
events { worker_connections 256; }
http {
  access_log ${accessLog};
  client_body_temp_path ${prefix}/tmp;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location = /status500 { return 500 "boom\\n"; }
  }
}
`,
  );
  const child = start("nginx", ["-p", prefix, "-c", conf]);
  await waitForPort(port);
  return { child, root, accessLog };
}
