import { z } from 'zod';

/** File names inside a model folder `models/<name>/`. */
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';

const positive = (what: string) => z.int({ error: `${what} must be a whole number above 0` }).min(1, { error: `${what} must be a whole number above 0` });

const graphName = (what: string) => z.string({ error: `${what} must name a graph input or output` }).min(1, { error: `${what} must name a graph input or output` });

/** Class labels by index: at least two, none empty, none twice. */
const LABELS_PROBLEM = 'labels must be an array of at least two non-empty strings';
export const labelsSchema = z
  .array(z.string({ error: LABELS_PROBLEM }).min(1, { error: LABELS_PROBLEM }), { error: LABELS_PROBLEM })
  .min(2, { error: LABELS_PROBLEM })
  .refine((labels) => new Set(labels).size === labels.length, { error: 'labels lists a label twice' });

/** Which output of the ONNX graph holds the scores, and whether softmax is still to be applied. */
const outputSchema = z.object(
  {
    name: graphName('output.name'),
    kind: z.enum(['logits', 'probabilities'], { error: 'output.kind must be "logits" or "probabilities"' }),
  },
  { error: 'output must be {"name": "<graph output>", "kind": "logits" | "probabilities"}' },
);

/** The largest feature id an int32 tensor holds. */
const MAX_BUCKETS = 2 ** 31 - 1;

/** Options of the bundled models' tokenizer: hashed word n-grams (see tokenizers/hashed-ngrams.ts). */
export const hashedNgramsOptionsSchema = z.object({
  kind: z.literal('hashed-ngrams'),
  /** Size of the hashed feature space; feature ids run from 1 to `buckets` (0 is padding), an int32 tensor's values. */
  buckets: positive('tokenizer.buckets').max(MAX_BUCKETS, { error: `tokenizer.buckets must be at most ${MAX_BUCKETS}: feature ids go to the model as 32-bit integers` }),
  /** Longest word n-gram to use (1 = words only, 2 = words and pairs, ...). */
  maxNgram: positive('tokenizer.maxNgram'),
  lowercase: z.boolean({ error: 'tokenizer.lowercase must be true or false' }),
  /** Words read from one text at most; the rest is ignored. */
  maxTokens: positive('tokenizer.maxTokens'),
  /** `binary`: each distinct feature weighs 1; `l2`: 1/sqrt(distinct features), so long texts do not dominate. */
  weighting: z.enum(['binary', 'l2'], { error: 'tokenizer.weighting must be "binary" or "l2"' }),
});

/** Tokenizer options of a Hugging Face transformer classifier exported to ONNX. */
export const huggingFaceTokenizerSchema = z.object({
  kind: z.literal('huggingface'),
  /** The `tokenizer.json` of the checkpoint, relative to the model folder. */
  file: z.string({ error: 'tokenizer.file must name the tokenizer file, e.g. "tokenizer.json"' }).min(1),
  /** Optional `tokenizer_config.json`, relative to the model folder. */
  configFile: z.string().min(1).optional(),
  /** Tokens per text at most (the model's position limit); longer texts are truncated. */
  maxLength: positive('tokenizer.maxLength'),
});

const common = {
  format: z.literal(1, { error: 'format must be 1' }),
  description: z.string().optional(),
  maxTextLength: positive('maxTextLength'),
  output: outputSchema,
};

/** A bundled-style model: hashed n-gram features into a linear graph. */
export const hashedNgramsManifestSchema = z.object({
  ...common,
  labels: labelsSchema,
  tokenizer: hashedNgramsOptionsSchema,
  /** Graph inputs: int32 [rows, width] feature ids and float32 [rows, width] weights. */
  inputs: z.object({ ids: graphName('inputs.ids'), weights: graphName('inputs.weights') }, { error: 'inputs must be {"ids", "weights"} graph input names' }),
});

/** A Hugging Face transformer classifier exported to ONNX. */
export const huggingFaceManifestSchema = z.object({
  ...common,
  /** Labels by class index; when absent they come from `config.json` `id2label`. */
  labels: labelsSchema.optional(),
  tokenizer: huggingFaceTokenizerSchema,
  /** Graph inputs: int64 [rows, tokens] each; `tokenTypeIds` only when the graph takes it. */
  inputs: z.object(
    { inputIds: graphName('inputs.inputIds'), attentionMask: graphName('inputs.attentionMask'), tokenTypeIds: graphName('inputs.tokenTypeIds').optional() },
    { error: 'inputs must be {"inputIds", "attentionMask", optional "tokenTypeIds"} graph input names' },
  ),
});

/** The kind of tokenizer decides which of the two manifest shapes applies. */
const kindSchema = z.object({
  tokenizer: z.object(
    { kind: z.enum(['hashed-ngrams', 'huggingface'], { error: 'tokenizer.kind must be "hashed-ngrams" or "huggingface"' }) },
    { error: 'tokenizer must be an object with a "kind"' },
  ),
});

export type HashedNgramsOptions = z.infer<typeof hashedNgramsOptionsSchema>;
export type HuggingFaceTokenizerOptions = z.infer<typeof huggingFaceTokenizerSchema>;
export type HashedNgramsManifest = z.infer<typeof hashedNgramsManifestSchema>;
export type HuggingFaceManifest = z.infer<typeof huggingFaceManifestSchema>;
export type ModelManifest = HashedNgramsManifest | HuggingFaceManifest;

/** Which of the two shapes a manifest has (TypeScript cannot narrow the union by `tokenizer.kind` itself). */
export function isHashedNgramsManifest(manifest: ModelManifest): manifest is HashedNgramsManifest {
  return manifest.tokenizer.kind === 'hashed-ngrams';
}

/** The first problem of a parse, in words: where in the file, and what it must be. */
function firstProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.join('.');
  // Sift's own messages name the field; zod's defaults do not.
  return where === '' || issue.message.includes(where.replace(/\.\d+$/, '')) ? issue.message : `${where}: ${issue.message}`;
}

/** Checks a parsed manifest.json; throws the first problem found as a message (see manifest.ts). */
export function parseManifest(raw: unknown): ModelManifest {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('must hold a JSON object');
  const kind = kindSchema.safeParse(raw);
  if (!kind.success) throw new Error(firstProblem(kind.error));
  const schema = kind.data.tokenizer.kind === 'hashed-ngrams' ? hashedNgramsManifestSchema : huggingFaceManifestSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(firstProblem(parsed.error));
  return parsed.data;
}

/** Labels of a Hugging Face checkpoint's `config.json`: `id2label` ({"0": "NEGATIVE", ...}) in id order. */
export function parseId2Label(raw: unknown): string[] {
  const config = z.object({ id2label: z.record(z.string(), z.string()) }, { error: 'has no "id2label" object, and manifest.json lists no "labels"' }).safeParse(raw);
  if (!config.success) throw new Error('has no "id2label" object, and manifest.json lists no "labels"');
  const ids = Object.keys(config.data.id2label).map(Number).sort((a, b) => a - b);
  if (ids.some((id, position) => id !== position)) throw new Error('has "id2label" ids that are not 0, 1, 2, ...');
  const labels = labelsSchema.safeParse(ids.map((id) => config.data.id2label[String(id)]));
  if (!labels.success) throw new Error(firstProblem(labels.error));
  return labels.data;
}
