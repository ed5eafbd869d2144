// Browser-safe: Notebook Kit's `FileAttachment(name)`, reading through the kernel instead of fetch.
import { tableFromIPC, type Table } from '@uwdata/flechette';
import * as aq from 'arquero';
import { autoType, dsvFormat } from 'd3';

/** How a file attachment reads: text or bytes, by path relative to the notebook's folder. */
export interface FileReader {
  /** The file as UTF-8 text. */
  text(path: string): Promise<string>;
  /** The file's bytes. */
  bytes(path: string): Promise<Uint8Array>;
}

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
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  arrow: 'application/vnd.apache.arrow.file',
};

/** A file's MIME type guessed from its extension, as Notebook Kit does. */
function guessMimeType(name: string): string {
  const extension = /\.([^./]+)$/.exec(name)?.[1]?.toLowerCase() ?? '';
  return MIME_TYPES[extension] ?? 'application/octet-stream';
}

/**
 * A file beside the notebook, with Notebook Kit's FileAttachment methods. Every read goes
 * through the kernel's `file` request (so the workspace policy applies and the manifest
 * records the file's hash), never `fetch`: the page cannot reach the notebook's folder.
 */
export class WorkbenchFile {
  /** The name as the cell gave it, without folders. */
  readonly name: string;
  /** The MIME type guessed from the extension. */
  readonly mimeType: string;

  constructor(
    /** The path as the cell gave it, relative to the notebook's folder. */
    readonly path: string,
    private readonly read: FileReader,
  ) {
    this.name = path.split('/').pop() ?? path;
    this.mimeType = guessMimeType(this.name);
  }

  /** The contents as text (UTF-8). */
  async text(): Promise<string> {
    return this.read.text(this.path);
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

  /** The contents as an Arquero table (CSV, TSV, JSON or Arrow). */
  async arquero(options: Record<string, unknown> = {}): Promise<unknown> {
    if (this.mimeType === 'application/json') return aq.fromJSON(await this.text());
    if (/\.arrow$/i.test(this.name)) return aq.fromArrow(await this.read.bytes(this.path));
    if (this.mimeType === 'text/csv' || this.mimeType === 'text/tab-separated-values') {
      const delimiter = this.mimeType === 'text/csv' ? ',' : '\t';
      return aq.fromCSV(await this.text(), { delimiter, ...options });
    }
    throw new Error(`FileAttachment('${this.path}').arquero(): not a CSV, TSV, JSON or Arrow file`);
  }

  /** The contents as bytes. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.read.bytes(this.path);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** The contents as a Blob of the file's MIME type. */
  async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.mimeType });
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

  /** An Arrow IPC file as an Arrow table (Flechette's, which Arquero reads too). */
  async arrow(): Promise<Table> {
    const bytes = await this.read.bytes(this.path);
    try {
      return tableFromIPC(bytes);
    } catch (error) {
      throw new Error(`FileAttachment('${this.path}').arrow(): ${(error as Error).message}`);
    }
  }

  /** An image element showing the file (through a `blob:` URL). */
  async image(props: Partial<HTMLImageElement> = {}): Promise<HTMLImageElement> {
    const image = Object.assign(document.createElement('img'), props);
    const url = await this.url();
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error(`FileAttachment('${this.path}'): not an image`));
      image.src = url;
    });
    return image;
  }
}

/** The `FileAttachment` builtin: `FileAttachment('data.csv')`, relative to the notebook's folder. */
export function fileAttachments(read: FileReader): (name: string) => WorkbenchFile {
  return (name: string) => {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('FileAttachment(name): name must be a non-empty path');
    }
    return new WorkbenchFile(name, read);
  };
}
