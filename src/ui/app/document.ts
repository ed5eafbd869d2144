import type { Host } from './host.ts';

/** Where the notebook's text stands relative to its file. */
export type SaveStatus =
  | { kind: 'saved' }
  | { kind: 'saving' }
  | { kind: 'unsaved'; recovered: boolean }
  | { kind: 'error'; message: string };

/** How long typing pauses before the recovery file is written, and a commit before autosave. */
const RECOVERY_DELAY_MS = 400;
const AUTOSAVE_DELAY_MS = 500;

/**
 * The notebook's file: its path, trust, and the text last saved. Committed edits (a cell run)
 * are autosaved; uncommitted typing goes to a recovery file at once, so closing the window or
 * a crash loses nothing. Every write is atomic on the host's side.
 */
export class NotebookDocument {
  private savedText: string;
  private recoveryTimer: ReturnType<typeof setTimeout> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private recovered = false;
  private shownDirty: boolean | undefined;

  constructor(
    private readonly host: Host,
    /** The file's absolute path. */
    public path: string,
    /** The text on disk. */
    text: string,
    /** The hash of the text on disk. */
    public sha256: string,
    /** Whether its code may run. */
    public trusted: boolean,
    /** The notebook's text as the editors show it. */
    private readonly current: () => string,
    private readonly onStatus: (status: SaveStatus) => void,
  ) {
    this.savedText = text;
  }

  /** True when the editors hold text the file does not. */
  get dirty(): boolean {
    return this.current() !== this.savedText;
  }

  /** Typing changed a cell: keep it in the recovery file soon. */
  drafted(): void {
    this.recovered = false;
    this.report();
    clearTimeout(this.recoveryTimer);
    this.recoveryTimer = setTimeout(() => void this.writeRecovery(), RECOVERY_DELAY_MS);
  }

  /** A cell was committed, added or removed: autosave soon. */
  committed(): void {
    this.report();
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.save(), AUTOSAVE_DELAY_MS);
  }

  /** Saves the editors' text to the file now (atomic on the host). */
  save(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saving = this.saving.then(async () => {
      const text = this.current();
      if (text === this.savedText) return this.report();
      this.onStatus({ kind: 'saving' });
      try {
        // The host decides trust (its folder, or the file it replaces was trusted).
        const { sha256, trusted } = await this.host.call('notebook.save', {
          path: this.path,
          text,
        });
        this.savedText = text;
        this.sha256 = sha256;
        this.trusted = trusted;
        this.recovered = false;
        this.report();
      } catch (error) {
        this.onStatus({ kind: 'error', message: (error as Error).message });
      }
    });
    return this.saving;
  }

  /** Saves under a new path, which becomes this document's path. */
  async saveAs(path: string): Promise<void> {
    await this.saving;
    this.path = path;
    this.savedText = '';
    await this.save();
  }

  /** Marks the trusted state (after the user trusted the notebook). */
  async trust(): Promise<void> {
    await this.host.call('notebook.trust', { path: this.path, sha256: this.sha256 });
    this.trusted = true;
  }

  /** Writes the recovery file before the page goes away, when there is anything unsaved. */
  flush(): void {
    clearTimeout(this.recoveryTimer);
    if (this.dirty) void this.writeRecovery(true);
  }

  /** Forgets the recovery file (the user discarded recovered edits). */
  async discardRecovery(): Promise<void> {
    await this.host.call('notebook.discardRecovery', { path: this.path });
  }

  private async writeRecovery(keepalive = false): Promise<void> {
    if (!this.dirty) return;
    try {
      await this.host.call(
        'notebook.recover',
        { path: this.path, text: this.current(), baseSha256: this.sha256 },
        { keepalive },
      );
      this.recovered = true;
      this.report();
    } catch (error) {
      this.onStatus({ kind: 'error', message: (error as Error).message });
    }
  }

  private report(): void {
    const dirty = this.dirty;
    // The shell hears only changes (in Electron each one is an IPC message).
    if (dirty !== this.shownDirty) this.host.setDirty(dirty, this.path);
    this.shownDirty = dirty;
    this.onStatus(dirty ? { kind: 'unsaved', recovered: this.recovered } : { kind: 'saved' });
  }
}
