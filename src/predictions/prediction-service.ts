import { ErrorCodes, userError } from '../errors';
import { textHash, type PredictionCache } from '../cache/prediction-cache';
import type { ModelCatalog, ModelInfo } from '../models/model-catalog';
import type { ModelDefinition } from '../models/manifest';
import { distinctIndex, scoreThroughCache } from './cached-scoring';
import { toPrediction, type Prediction } from './prediction';
import { textProblem } from './text-rules';

/**
 * Runs one text through a model and gives its probabilities in label order. `owner` says whose
 * text it is, so that model runs are shared fairly between clients (see RunGatherer).
 */
export type TextScorer = (model: string, text: string, owner: string) => Promise<ArrayLike<number>>;

/** Who asks for a prediction: the principal's rate key (its API key, or its address with auth off). */
export interface Asker {
  owner: string;
}

export interface PredictionServiceOptions {
  catalog: ModelCatalog;
  cache: PredictionCache;
  scorer: TextScorer;
  /** Most texts one `predictMany` may send. */
  maxTextsPerRequest: number;
  /**
   * `SIFT_CACHED_PREDICTION`: false refuses `cachedPrediction` with CACHED_PREDICTION_OFF. The
   * cache is shared, so the query tells anyone whether anyone labelled a text before. Default on.
   */
  cachedPredictionOn?: boolean;
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

  async predict(text: string, modelName: string | null | undefined, asker: Asker): Promise<Prediction> {
    const [prediction] = await this.labelled([text], modelName, asker, 'text');
    return prediction;
  }

  /** Labels every text, in input order. */
  predictMany(texts: readonly string[], modelName: string | null | undefined, asker: Asker): Promise<Prediction[]> {
    return this.labelled(texts, modelName, asker, 'texts');
  }

  /** @param field how the request named its texts, for error messages */
  private async labelled(texts: readonly string[], modelName: string | null | undefined, asker: Asker, field: string): Promise<Prediction[]> {
    const model = this.options.catalog.resolve(modelName);
    this.checkTexts(texts, model, field);
    const { distinct, positions } = distinctIndex(texts);
    const scored = await scoreThroughCache(this.options.cache, model, distinct, (misses) =>
      Promise.all(misses.map((text) => this.options.scorer(model.name, text, asker.owner))),
    );
    return texts.map((text, i) => {
      const { scores, cached } = scored[positions[i]];
      return toPrediction(text, scores, model, cached);
    });
  }

  /** The cached prediction, or null; never runs the model. */
  async cachedPrediction(text: string, modelName?: string | null): Promise<Prediction | null> {
    if (this.options.cachedPredictionOn === false) {
      throw userError(ErrorCodes.CACHED_PREDICTION_OFF, 'cachedPrediction is turned off on this server (SIFT_CACHED_PREDICTION=off); ask predict, which answers from the cache too, or runs the model.');
    }
    const model = this.options.catalog.resolve(modelName);
    this.checkTexts([text], model, 'text');
    const { cache } = this.options;
    const [scores] = await cache.read(model, [textHash(text)]);
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
