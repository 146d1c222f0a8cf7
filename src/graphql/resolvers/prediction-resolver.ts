import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { requireScope } from '../../auth/authenticator';
import type { GraphQLContext } from '../context';
import { ModelType } from '../types/model-type';
import { PredictionType } from '../types/prediction-type';

/** Online predictions and the model list: thin calls into `PredictionService`. */
@Resolver()
export class PredictionResolver {
  @Query(() => PredictionType, { description: 'Label one text; answered from the shared cache when present, else by running the model.' })
  predict(
    @Arg('text', () => String) text: string,
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @Ctx() { predictions, principal }: GraphQLContext,
  ): Promise<PredictionType> {
    requireScope(principal, 'predict');
    return predictions.predict(text, model, { owner: principal.rateKey });
  }

  @Query(() => [PredictionType], { description: 'Label many texts in one call; cached texts are not run again. Results are in input order.' })
  predictMany(
    @Arg('texts', () => [String]) texts: string[],
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @Ctx() { predictions, principal }: GraphQLContext,
  ): Promise<PredictionType[]> {
    requireScope(principal, 'predict');
    return predictions.predictMany(texts, model, { owner: principal.rateKey });
  }

  @Query(() => PredictionType, { nullable: true, description: 'The cached prediction for this text, or null; never runs the model.' })
  cachedPrediction(
    @Arg('text', () => String) text: string,
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @Ctx() { predictions, principal }: GraphQLContext,
  ): Promise<PredictionType | null> {
    requireScope(principal, 'predict');
    return predictions.cachedPrediction(text, model);
  }

  @Query(() => [ModelType])
  models(@Ctx() { predictions, principal }: GraphQLContext): ModelType[] {
    requireScope(principal, 'predict');
    return predictions.models();
  }
}
