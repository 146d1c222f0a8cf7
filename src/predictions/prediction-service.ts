import { ErrorCodes, userError } from '../errors';
import type { PredictionCache } from '../cache/prediction-cache';
import type { ModelCatalog, ModelInfo } from '../models/model-catalog';
import type { ModelDefinition } from '../models/manifest';
import { toPrediction, type Prediction } from './prediction';
import { textProblem } from './text-rules';

/** Runs one text through a model and gives its probabilities in label order. */
export type TextScorer = (model: string, text: string) => Promise<ArrayLike<number>>;

export interface PredictionServiceOptions {
  catalog: ModelCatalog;
  cache: PredictionCache;
  scorer: TextScorer;
  /** Most texts one `predictMany` may send. */
  maxTextsPerRequest: number;
}

/**
 * Online predictions: check the input, answer from the shared cache, run the model on the misses
 * (each distinct text once) and fill the cache. Knows nothing of GraphQL, HTTP or threads.
 */
export class PredictionService {
  constructor(private readonly options: PredictionServiceOptions) {}

  models(): ModelInfo[] {
    return this.options.catalog.info();
  }

  async predict(text: string, modelName?: string | null): Promise<Prediction> {
    const [prediction] = await this.predictMany([text], modelName, 'text');
    return prediction;
  }

  /**
   * Labels every text, in input order.
   * @param field how the request named its texts, for error messages
   */
  async predictMany(texts: readonly string[], modelName?: string | null, field = 'texts'): Promise<Prediction[]> {
    const model = this.options.catalog.resolve(modelName);
    this.checkTexts(texts, model, field);
    const { cache } = this.options;
    const distinct = [...new Set(texts)];
    const keys = distinct.map((text) => cache.key(model, text));
    const cached = await cache.read(keys);
    const known = new Map<string, Prediction>();
    const misses: number[] = [];
    distinct.forEach((text, i) => {
      const scores = cached[i];
      if (scores) known.set(text, toPrediction(text, scores, model, true));
      else misses.push(i);
    });
    const fresh = await Promise.all(misses.map((i) => this.options.scorer(model.name, distinct[i])));
    misses.forEach((i, m) => known.set(distinct[i], toPrediction(distinct[i], fresh[m], model, false)));
    await cache.write(misses.map((i, m) => ({ key: keys[i], scores: fresh[m] })));
    return texts.map((text) => known.get(text)!);
  }

  /** The cached prediction, or null; never runs the model. */
  async cachedPrediction(text: string, modelName?: string | null): Promise<Prediction | null> {
    const model = this.options.catalog.resolve(modelName);
    this.checkTexts([text], model, 'text');
    const { cache } = this.options;
    const [scores] = await cache.read([cache.key(model, text)]);
    return scores ? toPrediction(text, scores, model, true) : null;
  }

  private checkTexts(texts: readonly string[], model: ModelDefinition, field: string): void {
    const limit = this.options.maxTextsPerRequest;
    if (texts.length === 0) throw userError(ErrorCodes.BAD_LIST_SIZE, `${field} is empty; send at least one text.`);
    if (texts.length > limit) {
      throw userError(ErrorCodes.BAD_LIST_SIZE, `${field} has ${texts.length} texts, more than the limit of ${limit} a request; split them, or submit a batch.`);
    }
    texts.forEach((text, i) => {
      const problem = textProblem(text, model.maxTextLength);
      if (!problem) return;
      // A list names the offending entry, so a client can point at it.
      if (field === 'text') throw userError(problem.code, `text: ${problem.message}`);
      throw userError(problem.code, `${field}[${i}]: ${problem.message}`, { index: i });
    });
  }
}
