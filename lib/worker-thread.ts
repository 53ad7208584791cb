// A worker thread running a module of this project, from the build or from the sources. From dist/ the
// worker runs the compiled module; from the sources (tests, a checkout without a build) the worker first
// registers tsx, as the calling thread did, then imports the TypeScript module.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts `<name>.js` or `<name>.ts` beside the module at `base` (its import.meta.url). */
export function startWorker(base: string, name: string, options: WorkerOptions): Worker {
  const source = base.endsWith('.ts');
  const entry = new URL(`./${name}.${source ? 'ts' : 'js'}`, base);
  if (!source) return new Worker(entry, options);
  // tsx resolved from this project, not from the working directory the eval'd code would resolve it against
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`, { ...options, eval: true });
}

/**
 * A child process running `<name>.js` or `<name>.ts` beside the module at `base`, with an IPC channel. A
 * process, not a thread, where a limit is per process: a load run's UE sockets (one descriptor each,
 * RLIMIT_NOFILE) are spread over processes.
 */
export function startProcess(base: string, name: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const source = base.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./${name}.${source ? 'ts' : 'js'}`, base));
  return fork(entry, options.args ?? [], {
    ...(options.env ? { env: options.env } : {}),
    execArgv: source ? ['--import', import.meta.resolve('tsx')] : [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}
