import { execFileSync } from 'node:child_process';

/** A live (not zombie) child process, as `ps` sees it. */
export interface ChildProcessInfo {
  pid: number;
  args: string;
}

/** The live child processes of `parentPid`, read with `ps` (so the test sees what the system sees). */
export function childProcesses(parentPid: number): ChildProcessInfo[] {
  return execFileSync('ps', ['-e', '-o', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, stat]) => Number(ppid) === parentPid && stat !== undefined && !stat.startsWith('Z'))
    .map(([pid, , , ...args]) => ({ pid: Number(pid), args: args.join(' ') }));
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
