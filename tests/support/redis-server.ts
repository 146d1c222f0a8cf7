import { spawn, type ChildProcess } from 'node:child_process';
import { redisAnswers } from '../../src/supervision/private-redis';

/** A real redis-server of the test's own on `port`, so the test may kill it to simulate an outage. */
export interface TestRedisServer {
  url: string;
  kill(): Promise<void>;
}

export async function startRedisServer(port: number): Promise<TestRedisServer> {
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await redisAnswers(url, 200)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await redisAnswers(url, 500))) throw new Error(`test redis-server on port ${port} did not start`);
  return {
    url,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
