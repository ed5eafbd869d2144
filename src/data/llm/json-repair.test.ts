import { describe, expect, it } from 'vitest';
import { parseJsonObject } from './json-repair.ts';

describe('parseJsonObject(reply)', () => {
  it('parses clean JSON', () => {
    expect(parseJsonObject('{"score": 7}')).toEqual({ score: 7 });
  });

  it('strips code fences and trailing commas', () => {
    expect(parseJsonObject('```json\n{"a": 1, "b": [1, 2,],}\n```')).toEqual({ a: 1, b: [1, 2] });
  });

  it('takes the first balanced object out of surrounding prose', () => {
    const reply =
      'Here you go: {"question1": "Why {this}?", "question2": "b"} Hope it helps {not json}';
    expect(parseJsonObject(reply)).toEqual({ question1: 'Why {this}?', question2: 'b' });
  });

  it('maps Python literals outside strings only', () => {
    expect(parseJsonObject('{"x": True, "y": None, "z": "True, None"}')).toEqual({
      x: true,
      y: null,
      z: 'True, None',
    });
  });

  it('keeps escaped quotes inside strings', () => {
    expect(parseJsonObject('{"q": "say \\"hi\\", ok",}')).toEqual({ q: 'say "hi", ok' });
  });

  it('quotes unquoted keys', () => {
    expect(parseJsonObject('{score: 7, label: "high"}')).toEqual({ score: 7, label: 'high' });
  });

  it('reads single-quoted strings, braces inside them included', () => {
    expect(parseJsonObject("Sure. {'q': 'Why {this}?', 'ok': True} Done.")).toEqual({
      q: 'Why {this}?',
      ok: true,
    });
  });

  it('closes a reply cut off mid-object', () => {
    expect(parseJsonObject('{"unterminated": 1')).toEqual({ unterminated: 1 });
    expect(parseJsonObject('```json\n{"q": "What causes')).toEqual({ q: 'What causes' });
    expect(parseJsonObject('{"a": {"b": [1, 2')).toEqual({ a: { b: [1, 2] } });
  });

  it('returns undefined when there is no object', () => {
    expect(parseJsonObject('quality high, difficulty medium')).toBeUndefined();
    expect(parseJsonObject('[1, 2]')).toBeUndefined();
  });
});
