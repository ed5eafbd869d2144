// Browser-safe: Notebook Kit's `FileAttachment(name)`, reading through the kernel instead of fetch.
import * as aq from 'arquero';
import { autoType, dsvFormat } from 'd3';
import type { FileContent } from '../kernel/protocol.ts';

/** Options of {@link WorkbenchFile.dsv}, as in Notebook Kit. */
export interface DsvOptions {
  /** The column separator (default `,`). */
  delimiter?: string;
  /** Rows as arrays instead of objects. */
  array?: boolean;
  /** Convert numbers, booleans and dates (`'auto'` is treated as `true`: d3's `autoType`). */
  typed?: boolean | 'auto';
}

/** Parsed rows (objects, or arrays with `array: true`); object rows carry their `columns`. */
export type DsvRows = (Record<string, unknown> | unknown[])[] & { columns?: string[] };

const MIME_TYPES: Record<string, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  txt: 'text/plain',
  md: 'text/markdown',
  html: 'text/html',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  jsonl: 'application/jsonl',
  js: 'text/javascript',
};

/** A file's MIME type guessed from its extension, as Notebook Kit does. */
function guessMimeType(name: string): string {
  const extension = /\.([^./]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';
  return MIME_TYPES[extension] ?? 'application/octet-stream';
}

/**
 * A file beside the notebook, with Notebook Kit's FileAttachment methods. Every read goes
 * through the kernel's `file` request (so the workspace policy applies and the manifest
 * records the file's hash); the kernel serves text, so binary formats are refused by name.
 */
export class WorkbenchFile {
  /** The name as the cell gave it, without folders. */
  readonly name: string;
  /** The MIME type guessed from the extension. */
  readonly mimeType: string;

  constructor(
    /** The path as the cell gave it, relative to the notebook's folder. */
    readonly path: string,
    private readonly read: (path: string) => Promise<FileContent>,
  ) {
    this.name = path.split('/').pop() ?? path;
    this.mimeType = guessMimeType(this.name);
  }

  /** The contents as text (UTF-8). */
  async text(): Promise<string> {
    return (await this.read(this.path)).text;
  }

  /** The contents parsed as JSON; a parse error names the file. */
  async json(): Promise<unknown> {
    const text = await this.text();
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new SyntaxError(`${this.path}: ${(error as Error).message}`);
    }
  }

  /** The contents as delimiter-separated values: rows with a `columns` array. */
  async dsv({ delimiter = ',', array = false, typed = false }: DsvOptions = {}): Promise<DsvRows> {
    const format = dsvFormat(delimiter);
    const text = await this.text();
    const row = (typed ? autoType : undefined) as never;
    return (array ? format.parseRows(text, row) : format.parse(text, row)) as DsvRows;
  }

  /** The contents as comma-separated values. */
  csv(options: Omit<DsvOptions, 'delimiter'> = {}): ReturnType<WorkbenchFile['dsv']> {
    return this.dsv({ ...options, delimiter: ',' });
  }

  /** The contents as tab-separated values. */
  tsv(options: Omit<DsvOptions, 'delimiter'> = {}): ReturnType<WorkbenchFile['dsv']> {
    return this.dsv({ ...options, delimiter: '\t' });
  }

  /** The contents as an Arquero table (CSV, TSV or JSON). */
  async arquero(options: Record<string, unknown> = {}): Promise<unknown> {
    if (this.mimeType === 'application/json') return aq.fromJSON(await this.text());
    if (this.mimeType === 'text/csv' || this.mimeType === 'text/tab-separated-values') {
      const delimiter = this.mimeType === 'text/csv' ? ',' : '\t';
      return aq.fromCSV(await this.text(), { delimiter, ...options });
    }
    throw new Error(`FileAttachment('${this.path}').arquero(): not a CSV, TSV or JSON file`);
  }

  /** The contents as bytes (of the UTF-8 text the kernel serves). */
  async arrayBuffer(): Promise<ArrayBuffer> {
    return new TextEncoder().encode(await this.text()).buffer as ArrayBuffer;
  }

  /** The contents as a Blob of the file's MIME type. */
  async blob(): Promise<Blob> {
    return new Blob([await this.text()], { type: this.mimeType });
  }

  /** A `blob:` URL of the contents (for images and links; the page's policy allows blob:). */
  async url(): Promise<string> {
    return URL.createObjectURL(await this.blob());
  }

  /** The contents parsed as an XML document. */
  async xml(mimeType: DOMParserSupportedType = 'application/xml'): Promise<Document> {
    return new DOMParser().parseFromString(await this.text(), mimeType);
  }

  /** The contents parsed as an HTML document. */
  html(): Promise<Document> {
    return this.xml('text/html');
  }

  /** Arrow IPC files are binary, which the kernel's file request does not serve yet. */
  async arrow(): Promise<never> {
    throw new Error(
      `FileAttachment('${this.path}').arrow(): binary files cannot be read yet ` +
        '(the kernel serves text files); use .csv(), .tsv() or .json()',
    );
  }
}

/** The `FileAttachment` builtin: `FileAttachment('data.csv')`, relative to the notebook's folder. */
export function fileAttachments(
  read: (path: string) => Promise<FileContent>,
): (name: string) => WorkbenchFile {
  return (name: string) => {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('FileAttachment(name): name must be a non-empty path');
    }
    return new WorkbenchFile(name, read);
  };
}
