import { describe, expect, it } from 'vitest';
import { nameMatcher, OutputFilter, renderAugmentPrompt, splitAnswer } from '../../runner/data/augment/llm.ts';

describe('splitting an answer into outputs', () => {
  it('one output per non-blank line, without numbering, bullets or quotes', () => {
    expect(splitAnswer('1. A thin loop.\n\n2) "A bold bar."\n- A slanted line\n• 2.5 mm thick stroke\n3.', true)).toEqual([
      'A thin loop.',
      'A bold bar.',
      'A slanted line',
      '2.5 mm thick stroke',
      '',
    ]);
  });
  it('the whole answer is one output when the prompt does not ask for {n}', () => {
    expect(splitAnswer('A thin loop\nthat leans left.', false)).toEqual(['A thin loop that leans left.']);
  });
  it('fills the prompt placeholders', () => {
    expect(renderAugmentPrompt('Give {n} of {class_name}: {text}', { index: 0, label: 1, text: 'a bar' }, 'bar', 3)).toBe('Give 3 of bar: a bar');
  });
});

describe('class names in outputs', () => {
  it('word class names match whole words and plurals only', () => {
    const m = nameMatcher('cat');
    expect(m.test('A small cat sits.')).toBe(true);
    expect(m.test('Two Cats.')).toBe(true);
    expect(m.test('A category of shapes.')).toBe(false);
    expect(nameMatcher('sea turtle').test('a sea  turtle swims')).toBe(true);
  });

  it("numeric class names (MNIST) match as a noun, not as a count", () => {
    const seven = nameMatcher('7');
    for (const t of ['A handwritten digit 7 with a bar.', 'This is a seven.', 'It looks like a 7, slanted.', 'The seven leans right.', 'the number seven']) expect(seven.test(t)).toBe(true);
    for (const t of ['It has seven pieces.', 'The seven closed loops.', 'A seven-segment look.', 'Drawn in 7 strokes.', '17 pixels wide']) expect(seven.test(t)).toBe(false);
    const one = nameMatcher('1');
    for (const t of ['It has one closed loop.', 'A one-stroke figure.', 'one piece', 'The one loop sits high.']) expect(one.test(t)).toBe(false);
    expect(one.test('a handwritten digit one')).toBe(true);
  });
});

describe('OutputFilter', () => {
  it('drops and counts empty, duplicate, off-class and own-class outputs', () => {
    const f = new OutputFilter(['ring', 'bar'], false, ['A thin round stroke.']);
    expect(f.accept('   ', 0)).toBe(false);
    expect(f.accept('a thin ROUND stroke', 0)).toBe(false); // duplicate of a training text, up to case and punctuation
    expect(f.accept('A bold curve.', 0)).toBe(true);
    expect(f.accept('A bold curve!', 1)).toBe(false); // duplicate of a kept output
    expect(f.accept('A long bar.', 0)).toBe(false); // names another class
    expect(f.accept('A perfect ring.', 0)).toBe(false); // names its own class, which the dataset texts never do
    expect(f.counts).toEqual({ empty: 1, refusal: 0, duplicate: 2, off_class: 1, names_class: 1, failed: 0 });
  });

  it('lets an output name its own class when the dataset texts do', () => {
    const f = new OutputFilter(['ring', 'bar'], true, []);
    expect(f.accept('A perfect ring.', 0)).toBe(true);
    expect(f.accept('A ring next to a bar.', 0)).toBe(false);
  });
});

describe('the shared filter: refusals and number words', () => {
  it('drops refusals, and names of a digit class as a noun or a bracketed number word', async () => {
    const { isRefusal } = await import('../../runner/data/llm/filter.ts');
    for (const t of ["I'm sorry, but I can't help with that.", 'Sorry, I cannot describe this image.', 'As an AI language model, I cannot see images.', 'I am unable to view the picture.', 'No image was provided.']) {
      expect(isRefusal(t), t).toBe(true);
    }
    for (const t of ['A bold stroke that curves sharply at the top.', 'The loop is not closed and the stroke looks sorry-thin.']) expect(isRefusal(t), t).toBe(false);
    const f = new OutputFilter(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], false, []);
    expect(f.accept('This is a handwritten digit 7 (seven), drawn with a thick stroke.', 7)).toBe(false);
    expect(f.accept('A thick stroke shaped like a (seven) with a short bar.', 7)).toBe(false);
    expect(f.accept('One long stroke with two short bars, slanting right.', 7)).toBe(true);
    expect(f.accept("I'm sorry, I can't identify this.", 7)).toBe(false);
    expect(f.counts).toMatchObject({ names_class: 2, refusal: 1 });
  });
});
