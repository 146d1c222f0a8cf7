import { readModelDefinition } from '../../src/models/manifest';
import { ModelCatalog } from '../../src/models/model-catalog';
import { ModelRunner } from '../../src/models/model-runner';
import path from 'node:path';
import { BUNDLED_MODELS_DIR } from '../support/paths';

async function labels(model: string, texts: string[]): Promise<string[]> {
  const runner = await ModelRunner.load(await readModelDefinition(path.join(BUNDLED_MODELS_DIR, model)));
  try {
    const { labels: width, values } = await runner.score(texts);
    return texts.map((_, r) => {
      const row = Array.from(values.subarray(r * width, (r + 1) * width));
      return runner.definition.labels[row.indexOf(Math.max(...row))];
    });
  } finally {
    await runner.close();
  }
}

describe('bundled models', () => {
  it('are sentiment (the default) and question-type', async () => {
    const catalog = await ModelCatalog.load(BUNDLED_MODELS_DIR, 'sentiment');
    expect(catalog.info().map(({ name, labels, isDefault }) => ({ name, labels, isDefault }))).toEqual([
      { name: 'question-type', labels: ['ABBR', 'DESC', 'ENTY', 'HUM', 'LOC', 'NUM'], isDefault: false },
      { name: 'sentiment', labels: ['negative', 'positive'], isDefault: true },
    ]);
  });

  it('sentiment labels plain user text, contractions included', async () => {
    expect(
      await labels('sentiment', [
        'A gorgeous, witty and deeply moving film.',
        'The worst movie of the year: dull, lifeless and far too long.',
        "I didn't like it at all.",
        'One of the best performances I have ever seen!',
      ]),
    ).toEqual(['positive', 'negative', 'negative', 'positive']);
  });

  it('question-type tells people, places and numbers apart', async () => {
    expect(
      await labels('question-type', ['Who wrote Hamlet ?', 'Where is the Eiffel Tower ?', 'How many legs does a spider have ?', 'What does NASA stand for ?']),
    ).toEqual(['HUM', 'LOC', 'NUM', 'ABBR']);
  });
});
