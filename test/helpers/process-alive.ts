// Whether a process still runs: a zombie counts as gone, since one whose parent has exited may
// wait a while for a reaper, and checking it with kill(pid, 0) would say it lives.
import { existsSync, readFileSync } from 'node:fs';

export function alive(pid: number): boolean {
  try {
    return existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false; // exited between the two reads
  }
}
