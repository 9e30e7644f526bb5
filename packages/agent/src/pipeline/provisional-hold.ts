/**
 * Records of processes captured provisionally (from their listen() on, before discovery has
 * decided; see packages/ebpf-native, provisionalOnListen), kept until the decision: replayed
 * when the process is selected, dropped when it is not. Bounded in processes and records;
 * what does not fit is counted.
 */
import type { HttpEventRecord } from "@beyla-ts/ebpf-native";

export interface ProvisionalHoldOptions {
  /** Processes waiting for a decision at once. Default 256. */
  maxProcesses?: number;
  /** Records kept over all of them. Default 4096. */
  maxRecords?: number;
}

export class ProvisionalHold {
  readonly #waiting = new Map<number, HttpEventRecord[]>();
  readonly #maxProcesses: number;
  readonly #maxRecords: number;
  #records = 0;
  /** Records not kept: too many waiting. */
  overflow = 0;
  /** Records of processes discovery did not select. */
  rejected = 0;

  constructor(options: ProvisionalHoldOptions = {}) {
    this.#maxProcesses = options.maxProcesses ?? 256;
    this.#maxRecords = options.maxRecords ?? 4096;
  }

  /** `pid` started listening: its records are kept until decide(). */
  listened(pid: number): void {
    if (this.#waiting.has(pid)) return;
    if (this.#waiting.size >= this.#maxProcesses) return; // its records count as unknown
    this.#waiting.set(pid, []);
  }

  /** Keeps a copy of `record` when its process waits for a decision; false otherwise. */
  hold(record: HttpEventRecord): boolean {
    const kept = this.#waiting.get(record.pid);
    if (kept === undefined) return false;
    if (this.#records >= this.#maxRecords) {
      this.overflow++;
      return true;
    }
    kept.push(copyRecord(record));
    this.#records++;
    return true;
  }

  /** Discovery decided on `pid`: its kept records (to replay when selected), forgotten here. */
  decide(pid: number, selected: boolean): HttpEventRecord[] {
    const kept = this.#waiting.get(pid) ?? [];
    this.#waiting.delete(pid);
    this.#records -= kept.length;
    if (selected) return kept;
    this.rejected += kept.length;
    return [];
  }

  waiting(pid: number): boolean {
    return this.#waiting.has(pid);
  }
}

/** The record with its own copies of the byte fields (which are views into the drain buffer). */
function copyRecord(r: HttpEventRecord): HttpEventRecord {
  return {
    ...r,
    localAddr: r.localAddr.slice(),
    remoteAddr: r.remoteAddr.slice(),
    requestHead: r.requestHead.slice(),
  };
}
