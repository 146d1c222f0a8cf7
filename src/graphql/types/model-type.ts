import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType('Model', { simpleResolvers: true, description: 'A text-classification model the server can run.' })
export class ModelType {
  @Field({ description: 'Stable name used to select the model, e.g. "sentiment".' })
  name!: string;

  @Field({ description: 'Content hash of the model files; part of every cache key, so a new version never serves stale results.' })
  version!: string;

  @Field(() => [String])
  labels!: string[];

  @Field({ description: 'True for the model used when a request names none.' })
  isDefault!: boolean;

  @Field(() => Int, { description: 'Longest text (in characters) a request may send to this model.' })
  maxTextLength!: number;
}
