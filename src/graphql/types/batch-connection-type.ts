import { Field, ObjectType } from 'type-graphql';
import { BatchType } from './batch-type';

@ObjectType('BatchEdge', { simpleResolvers: true })
export class BatchEdgeType {
  @Field()
  cursor!: string;

  @Field(() => BatchType)
  node!: BatchType;
}

@ObjectType('PageInfo', { simpleResolvers: true })
export class PageInfoType {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType('BatchConnection', { simpleResolvers: true })
export class BatchConnectionType {
  @Field(() => [BatchEdgeType])
  edges!: BatchEdgeType[];

  @Field(() => PageInfoType)
  pageInfo!: PageInfoType;
}
