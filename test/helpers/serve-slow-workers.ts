// `strangler serve` run as the CLI runs it, with workers that apply each state change late
// (startGateway's workerApplyDelayMs): node serve-slow-workers.js DELAY_MS [serve args...].
import { serveCommand } from '../../gateway/cli/serve';

const [delay, ...args] = process.argv.slice(2);
void serveCommand({ workerApplyDelayMs: Number(delay) }).run(args).then((code) => { process.exitCode = code; });
