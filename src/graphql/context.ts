import type { Principal } from '../auth/principal';
import type { BatchService } from '../batches/batch-service';
import type { PredictionService } from '../predictions/prediction-service';

/** The transport-free services every resolver delegates to, the same for every request. */
export interface GraphQLServices {
  predictions: PredictionService;
  batches: BatchService;
}

/** What every resolver gets: the services, and who is asking (found at the edge, per request or socket). */
export interface GraphQLContext extends GraphQLServices {
  principal: Principal;
}
