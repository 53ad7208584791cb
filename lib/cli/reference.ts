// `mbms-conform reference bmsc|ue`: runs the reference BM-SC or reference UE standalone, so a UE vendor can
// develop against the reference BM-SC and a BM-SC vendor against the reference UE. One log line per
// protocol event on stdout (no key material), clean shutdown on SIGINT/SIGTERM.
// Exit codes: 0 after a clean shutdown, 2 for usage, configuration or socket errors.

import { parseArgs } from 'node:util';
import {
  ReferenceBmsc, loadBmscConfig, formatEndpoint, ReferenceConfigError, ReferenceListenError, ReferenceStateError,
  UnknownFaultError, BMSC_FAULTS, type Endpoint,
} from '../reference/index.ts';
import { ReferenceUe, loadUeConfig, UE_FAULTS, type UeConfig } from '../reference/ue/index.ts';
import { ProfileError } from '../mbms/index.ts';

const USAGE = `usage: mbms-conform reference bmsc --config FILE [options]
       mbms-conform reference ue   --config FILE [options]

Runs a reference implementation on real sockets until SIGINT/SIGTERM.

bmsc options:
  --config FILE        BM-SC configuration (YAML or JSON), e.g. fixtures/reference/bmsc.yaml
  --http-port N        MSK request server port (overrides http.port)
  --mikey-port N       MIKEY source/ACK port (overrides mikey.port)
  --control-port N     control API port (overrides control.port)
  --state-file PATH    keys and counters file (overrides stateFile)
  --fault NAME         activate a fault (repeatable); --list-faults shows them

ue options:
  --config FILE        UE configuration (YAML or JSON), e.g. fixtures/reference/ue.yaml
  --bmsc-url URL       BM-SC origin (overrides bmscUrl)
  --mikey-port N       UE MIKEY port (overrides mikey.port)
  --control-port N     control API port (overrides control.port)
  --state-file PATH    counters file (overrides statePath)
  --fault NAME         activate a fault (repeatable)
  --request            run one MSK request for the configured services after start

common:
  --list-faults        print the role's fault table and exit
  --quiet              no per-event log lines
`;

type Log = (line: string) => void;

export async function referenceCommand(argv: string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (role === '--help' || role === '-h' || role === 'help') { process.stdout.write(USAGE); return 0; }
  if (role !== 'bmsc' && role !== 'ue') {
    process.stderr.write(`mbms-conform reference: expected 'bmsc' or 'ue'${role ? `, got '${role}'` : ''}\n${USAGE}`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        'http-port': { type: 'string' },
        'mikey-port': { type: 'string' },
        'control-port': { type: 'string' },
        'state-file': { type: 'string' },
        'bmsc-url': { type: 'string' },
        fault: { type: 'string', multiple: true },
        request: { type: 'boolean' },
        'list-faults': { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`mbms-conform reference: ${(error as Error).message}\n`);
    return 2;
  }
  if (args.help) { process.stdout.write(USAGE); return 0; }
  if (args['list-faults']) {
    for (const f of role === 'bmsc' ? BMSC_FAULTS : UE_FAULTS) {
      process.stdout.write(`${f.name.padEnd(30)} ${f.procedure.padEnd(15)} ${f.description}\n${' '.repeat(47)}violates ${f.violates}\n`);
    }
    return 0;
  }
  if (!args.config) {
    process.stderr.write(`mbms-conform reference ${role}: --config FILE is required\n`);
    return 2;
  }
  const log: Log = args.quiet ? () => undefined : (line) => process.stdout.write(`${new Date().toISOString()} ${role} ${line}\n`);
  try {
    const ports = {
      http: portOption(args['http-port'], '--http-port'),
      mikey: portOption(args['mikey-port'], '--mikey-port'),
      control: portOption(args['control-port'], '--control-port'),
    };
    const running = role === 'bmsc'
      ? await runBmsc(args.config, ports, args.fault ?? [], args['state-file'], log)
      : await runUe(args.config, ports, args.fault ?? [], args['state-file'], args['bmsc-url'], !!args.request, log);
    await untilSignal();
    log('stopping');
    await running.stop();
    log('stopped');
    return 0;
  } catch (error) {
    process.stderr.write(`mbms-conform reference ${role}: ${describeStartError(error)}\n`);
    return 2;
  }
}

function portOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) throw new ReferenceConfigError(`${name} must be a port 0..65535, got '${value}'`);
  return port;
}

/** One line for the errors a user can fix: bad configuration, busy port, unreadable state. */
function describeStartError(error: unknown): string {
  if (error instanceof ReferenceListenError) {
    const hint = error.systemCode === 'EADDRINUSE' ? ' (another process uses it; pick another port)' : '';
    return `${error.message}${hint}`;
  }
  if (error instanceof ReferenceConfigError || error instanceof ProfileError || error instanceof UnknownFaultError
    || error instanceof ReferenceStateError) {
    return error.message;
  }
  return (error as Error)?.stack ?? String(error);
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

const ep = (e: Endpoint): string => formatEndpoint(e);
const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

async function runBmsc(configPath: string, ports: { http?: number; mikey?: number; control?: number },
  faults: string[], stateFile: string | undefined, log: Log): Promise<{ stop(): Promise<void> }> {
  const config = loadBmscConfig(configPath, {
    ...(ports.http !== undefined ? { httpPort: ports.http } : {}),
    ...(ports.mikey !== undefined ? { mikeyPort: ports.mikey } : {}),
    ...(ports.control !== undefined ? { controlPort: ports.control } : {}),
    ...(stateFile ? { stateFile } : {}),
    faults,
  });
  const bmsc = new ReferenceBmsc(config);
  bmsc.on('http-request', (e) => log(`http-request #${e.id} ${ep(e.remote)} ${e.method} ${e.target} (${e.body.length} B${
    e.headers.some(([n]) => n.toLowerCase() === 'authorization') ? ', with Authorization' : ''})`));
  bmsc.on('http-response', (e) => log(`http-response #${e.requestId} ${e.status} ${e.outcome}${e.btid ? ` btid=${e.btid}` : ''} (${e.body.length} B)`));
  bmsc.on('mikey-out', (e) => log(`mikey-out ${e.kind} -> ${ep(e.to)}${e.btid ? ` btid=${e.btid}` : ''} domain=${e.keyDomainId.toString('hex')} msk=${hex32(e.mskId).slice(2)}${
    e.mtkId !== undefined ? ` mtk=${e.mtkId}` : ''} csb=${hex32(e.csbId)} counter=${e.counter} V=${e.v ? 1 : 0} attempt=${e.attempt} (${e.bytes.length} B)${
    e.faults.length ? ` faults=${e.faults.join(',')}` : ''}`));
  bmsc.on('ack-in', (e) => log(`ack-in <- ${ep(e.from)} btid=${e.btid} csb=${hex32(e.csbId)} counter=${e.counter}${e.macValid ? '' : ' (bad MAC accepted: fault)'}`));
  bmsc.on('ack-rejected', (e) => log(`ack-rejected <- ${ep(e.from)}${e.csbId !== undefined ? ` csb=${hex32(e.csbId)}` : ''}${e.counter !== undefined ? ` counter=${e.counter}` : ''}: ${e.reason}`));
  bmsc.on('ack-timeout', (e) => log(`ack-timeout btid=${e.btid} after ${e.attempts} transmissions`));
  bmsc.on('warning', (e) => log(`warning ${e.message}`));
  const endpoints = await bmsc.start();
  log(`listening http=${ep(endpoints.http)} mikey=${ep(endpoints.mikey)} control=${ep(endpoints.control)} naf=${config.nafFqdn}` +
    ` users=${config.users.length} faults=${bmsc.faults.active().join(',') || 'none'}${config.stateFile ? ` state=${config.stateFile}` : ''}`);
  return bmsc;
}

async function runUe(configPath: string, ports: { mikey?: number; control?: number }, faults: string[],
  stateFile: string | undefined, bmscUrl: string | undefined, request: boolean, log: Log): Promise<{ stop(): Promise<void> }> {
  const loaded = loadUeConfig(configPath);
  const config: UeConfig = {
    ...loaded,
    ...(bmscUrl ? { bmscUrl } : {}),
    ...(stateFile ? { statePath: stateFile } : {}),
    faults: [...(loaded.faults ?? []), ...faults],
  };
  if (ports.mikey !== undefined) config.mikey = { address: loaded.mikey?.address ?? '127.0.0.1', port: ports.mikey };
  if (ports.control !== undefined) config.control = { address: loaded.control?.address ?? '127.0.0.1', port: ports.control };
  const ue = new ReferenceUe(config);
  ue.on('mikey-in', (e) => log(`mikey-in <- ${ep(e.from)} (${e.bytes.length} B)`));
  ue.on('key-installed', (e) => log(`key-installed ${e.kind} domain=${e.keyDomainId} msk=${e.mskId}${e.mtkId ? ` mtk=${e.mtkId}` : ''}${e.evictedMskId ? ` evicted=${e.evictedMskId}` : ''}`));
  ue.on('discarded', (e) => log(`discarded ${e.messageKind} <- ${ep(e.from)} ${e.reason}: ${e.detail}`));
  ue.on('ack-out', (e) => log(`ack-out -> ${ep(e.to)} csb=${hex32(e.csbId)}${e.counter !== undefined ? ` counter=${e.counter}` : ''}${e.reAck ? ' (re-ACK)' : ''}`));
  ue.on('error-out', (e) => log(`error-out -> ${ep(e.to)} error=${e.errorNo}`));
  ue.on('http-request', (e) => log(`http-request ${e.method} ${e.target} reason=${e.reason} (${e.body.length} B)`));
  ue.on('http-response', (e) => log(`http-response ${e.status}${e.error ? ` error=${e.error}` : ''} (${e.body.length} B)`));
  ue.on('msk-request-done', (e) => log(`msk-request-done http=${e.httpStatus} accepted=${e.accepted} exchanges=${e.exchanges} results=${
    e.results.map((r) => `${hex32(r.mskId).slice(2)}:${r.status}`).join(',') || 'none'}${e.problem ? ` problem=${e.problem}` : ''}`));
  const endpoints = await ue.start();
  log(`listening mikey=${ep(endpoints.mikey)} control=${ep(endpoints.control)} bmsc=${config.bmscUrl} btid=${ue.btid ?? 'none'}` +
    ` faults=${ue.faults.active().join(',') || 'none'}`);
  if (request) void ue.requestMsks().catch((error) => log(`msk-request failed: ${(error as Error).message}`));
  return ue;
}
