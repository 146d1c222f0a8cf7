import { eventually } from './api';
import { startSiftUp, type SiftUp } from './sift-up';

/**
 * The API alone (`sift up` with no workers) in a process of its own on a fixed port, so a test can
 * SIGKILL it and start it again on the same address, as a crash and a restart would.
 */
export interface ApiProcess {
  url: string;
  /** SIGKILL, then the API again on the same port (resolves once it answers /readyz). */
  restart(): Promise<void>;
  /** SIGKILL, without starting it again. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  /** Everything the running API process printed. */
  output(): string;
}

async function ready(env: Record<string, string>, port: number): Promise<SiftUp> {
  const api = startSiftUp({ ...env, PORT: String(port), SIFT_WORKERS: '0' });
  try {
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, 30_000, 'the API to be ready');
  } catch (error) {
    await api.kill();
    throw new Error(`${(error as Error).message}; it printed:\n${api.output()}`);
  }
  return api;
}

/** Starts the API on `port` with `env` (SIFT_KEY_PREFIX, SIFT_MODELS_DIR, ...) and waits until it is ready. */
export async function startApiProcess(port: number, env: Record<string, string>): Promise<ApiProcess> {
  let api = await ready(env, port);
  return {
    url: `http://127.0.0.1:${port}`,
    restart: async () => {
      await api.kill();
      api = await ready(env, port);
    },
    kill: () => api.kill(),
    stop: async () => {
      await api.stop();
    },
    output: () => api.output(),
  };
}
