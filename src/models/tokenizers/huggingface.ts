import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };

/**
 * `@huggingface/tokenizers` is published as ESM with a CommonJS build for Node's `require`.
 * Sift compiles to CommonJS, so it takes the CommonJS build at run time and only the types from
 * the ESM declaration.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as { Tokenizer: new (json: object, config: object) => HfTokenizer };

/** Token ids of one text, already truncated to the model's limit. */
export interface TokenizedText {
  inputIds: number[];
  attentionMask: number[];
  tokenTypeIds: number[];
}

/** A Hugging Face `tokenizer.json` (WordPiece, BPE, Unigram...) run in pure JavaScript. */
export class HuggingFaceTokenizer {
  private readonly tokenizer: HfTokenizer;
  /** Id used to pad short sequences: the tokenizer's padding token, else `[PAD]`, else 0. */
  readonly padId: number;

  /**
   * @param tokenizerJson parsed `tokenizer.json`
   * @param tokenizerConfig parsed `tokenizer_config.json`, or `{}`
   * @param maxLength tokens per text at most, special tokens included
   */
  constructor(
    tokenizerJson: { padding?: { pad_id?: number } | null },
    tokenizerConfig: object,
    private readonly maxLength: number,
  ) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.padId = tokenizerJson.padding?.pad_id ?? this.tokenizer.token_to_id('[PAD]') ?? 0;
  }

  encode(text: string): TokenizedText {
    const encoding = this.tokenizer.encode(text, { return_token_type_ids: true });
    let { ids, attention_mask: mask, token_type_ids: types } = encoding;
    if (ids.length > this.maxLength) {
      // Keep the final special token (e.g. [SEP]) so the model still sees a well-formed sequence.
      const last = ids.length - 1;
      const keep = (values: number[]) => [...values.slice(0, this.maxLength - 1), values[last]];
      ids = keep(ids);
      mask = keep(mask);
      types = keep(types);
    }
    return { inputIds: ids, attentionMask: mask, tokenTypeIds: types };
  }
}
