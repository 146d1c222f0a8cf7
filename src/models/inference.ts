import type { ScoreMatrix } from './model-runner';

/** Whether the loaded models can run, in the words `/readyz` reports. */
export interface InferenceReadiness {
  ok: boolean;
  detail: string;
}

/** Runs groups of texts through the loaded models (`InferencePool` on threads, `LocalInference` on the calling thread). */
export interface Inference {
  score(model: string, texts: string[]): Promise<ScoreMatrix>;
  /** Whether every place that runs models has them loaded. */
  readiness(): InferenceReadiness;
  close(): Promise<void>;
}
