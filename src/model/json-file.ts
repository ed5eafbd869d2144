import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.ts';

/** A parsed JSON object. */
export type JsonObject = Record<string, unknown>;

/** Reads a file that must hold one JSON object; errors (unreadable, malformed, not an object) name the file. */
export async function readJsonObject(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read (${(error as Error).message})`, { file: path });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON (${(error as Error).message})`, { file: path });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError('expected a JSON object', { file: path });
  }
  return value as JsonObject;
}
