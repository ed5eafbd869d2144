import { describe, expect, it } from 'vitest';
import { CancelledError, cancellation, throwIfCancelled } from './errors.ts';

describe('cancellation', () => {
  it('turns a bare abort() (a DOMException AbortError) into a CancelledError with the message', () => {
    const c = new AbortController();
    c.abort();
    expect(c.signal.reason).toBeInstanceOf(Error); // Node's DOMException is an Error
    const error = cancellation(c.signal, 'synthesis cancelled');
    expect(error).toBeInstanceOf(CancelledError);
    expect(error.message).toBe('synthesis cancelled');
  });

  it('keeps a reason that is an error of its own (a kernel cancel, a timeout)', () => {
    const c = new AbortController();
    const reason = new CancelledError('job 7 cancelled');
    c.abort(reason);
    expect(cancellation(c.signal)).toBe(reason);
    const timeout = AbortSignal.abort(new DOMException('late', 'TimeoutError'));
    expect(cancellation(timeout).name).toBe('TimeoutError');
  });

  it('a reason that is no error becomes a CancelledError', () => {
    expect(cancellation(AbortSignal.abort('stop'))).toBeInstanceOf(CancelledError);
  });

  it('throwIfCancelled throws only once aborted', () => {
    const c = new AbortController();
    expect(() => throwIfCancelled(c.signal)).not.toThrow();
    expect(() => throwIfCancelled(undefined)).not.toThrow();
    c.abort();
    expect(() => throwIfCancelled(c.signal, 'generation cancelled')).toThrow(CancelledError);
  });
});
