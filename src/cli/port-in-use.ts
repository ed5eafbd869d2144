import { InputError } from '../core/errors.ts';

/** Rethrows a server's failure to bind, naming `--port` when the port is taken. */
export function explainListenError(error: NodeJS.ErrnoException, port: number | undefined): never {
  if (error.code !== 'EADDRINUSE') throw error;
  throw new InputError(`port ${port} is in use; pick another (--port 0 picks a free one)`, {
    field: '--port',
  });
}
