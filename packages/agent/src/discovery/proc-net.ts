import { readFileSync } from "node:fs";

const TCP_LISTEN = "0A";

/**
 * Parses /proc/<pid>/net/tcp or tcp6 text: socket inode -> local port, listening sockets only.
 * Malformed lines are skipped (the kernel format is stable, but never trust it to crash us).
 */
export function parseListeningSockets(text: string, into: Map<string, number>): void {
  const lines = text.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    // Most lines are connections: only the state column can read " 0A " (every other column
    // is longer or not hex), so they are skipped without splitting.
    if (!line.includes(" 0A ")) continue;
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10 || cols[3] !== TCP_LISTEN) continue;
    const local = cols[1]!;
    const colon = local.lastIndexOf(":");
    const port = Number.parseInt(local.slice(colon + 1), 16);
    const inode = cols[9]!;
    if (colon > 0 && Number.isInteger(port) && inode !== "0") {
      into.set(inode, port);
    }
  }
}

/** Listening TCP sockets (inode -> port) of the network namespace that `pid` lives in. */
export function listeningSocketsOf(pid: number): Map<string, number> {
  const sockets = new Map<string, number>();
  for (const file of ["tcp", "tcp6"]) {
    try {
      parseListeningSockets(readFileSync(`/proc/${pid}/net/${file}`, "utf8"), sockets);
    } catch {
      // tcp6 is absent when IPv6 is disabled; the process may also have exited
    }
  }
  return sockets;
}
