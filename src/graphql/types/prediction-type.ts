import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType('LabelScore', { simpleResolvers: true })
export class LabelScoreType {
  @Field()
  label!: string;

  @Field(() => Float, { description: 'Probability in [0, 1].' })
  score!: number;
}

@ObjectType('Prediction', { simpleResolvers: true })
export class PredictionType {
  @Field()
  text!: string;

  @Field({ description: 'The most probable label.' })
  label!: string;

  @Field(() => Float, { description: 'Probability of `label`.' })
  score!: number;

  @Field(() => [LabelScoreType], { description: 'Every label with its probability, most probable first; the scores sum to 1.' })
  scores!: LabelScoreType[];

  @Field()
  model!: string;

  @Field()
  modelVersion!: string;

  @Field({ description: 'True when the result came from the shared cache instead of running the model.' })
  cached!: boolean;
}
