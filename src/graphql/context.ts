import type { BatchService } from '../batches/batch-service';
import type { PredictionService } from '../predictions/prediction-service';

/** What every resolver gets: the transport-free services it delegates to. */
export interface GraphQLContext {
  predictions: PredictionService;
  batches: BatchService;
}
