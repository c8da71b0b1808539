// The signal handling `serve` and `demo` share: SIGHUP reloads; SIGINT or SIGTERM stops
// gracefully and exits 0; a second stop signal exits 1 at once.
import { EXIT } from './command';

export interface StopHandlers {
  /** Prefix of the one line printed on a second signal, e.g. "strangler serve". */
  name: string;
  onHup(): void;
  /** SIGUSR1: reopen log files (logrotate), as nginx does. */
  onUsr1?(): void;
  /** Graceful stop; the returned promise settles when everything is closed. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** On a second signal, before exiting: kill what must not outlive the process. */
  force?(): void;
}

export function untilStopped(h: StopHandlers): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onHup = () => h.onHup();
    const onUsr1 = () => h.onUsr1?.();
    const onStop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${h.name}: ${signal} again, exiting without waiting\n`);
        h.force?.();
        process.exit(EXIT.FAIL);
      }
      stopping = true;
      void h.stop(signal).then(() => {
        process.off('SIGHUP', onHup);
        process.off('SIGUSR1', onUsr1);
        // Should some handle outlive close (a stuck upstream socket), do not hang the exit.
        setTimeout(() => process.exit(EXIT.OK), 2000).unref();
        resolve(EXIT.OK);
      });
    };
    process.on('SIGHUP', onHup);
    // Listening for SIGUSR1 also keeps it from starting Node's inspector.
    process.on('SIGUSR1', onUsr1);
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
  });
}
