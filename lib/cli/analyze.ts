// `mbms-conform analyze`: re-judges a recorded capture (pcap or pcapng) of any BM-SC and any UE against a
// profile and a keys file (docs/analyze.md). Prints a summary per procedure instance and per check (or
// JSON with --json) and writes Allure results.
// Exit: 0 every procedure instance PASS, 1 any FAIL / INCONC / ERROR (or no procedure found), 2 bad input,
// 3 the analysis itself failed (an internal error, a resource exhausted, the results not writable): never
// the code of a verdict, so CI does not read a crash as a FAIL.
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadProfile, ProfileError, type MbmsProfile } from '../mbms/index.ts';
import {
  AnalyzeInputError, analyzeCapture, exitCodeOf, formatSummary, loadKeys, procedureLine, summaryLine, writeAllureResults,
  type AnalyzeKeys, type ProcedureResult,
} from '../suite/offline/index.ts';
import { DEFAULT_ANALYZE_ALLURE_DIR } from '../suite/offline/allure.ts';

const USAGE = `usage: mbms-conform analyze <capture.pcap|capture.pcapng> --profile <profile.yaml> [--keys <keys.yaml>]
                           [--mikey-port <port>]... [--http-port <port>]... [--json]
                           [--allure-results <dir> | --no-allure] [--reader-thread on|off]
  --profile <file>        an mbms-conform profile (YAML/JSON, lib/mbms schema): MIKEY shape, timers, O1 port
  --keys <file>           secrets: Ks_NAF / MUK per B-TID and MSKs by (Key Domain ID, MSK ID) (docs/analyze.md);
                          without it MAC, decryption and Digest checks are INCONC
  --mikey-port <port>     UDP port of MIKEY to the UE (repeatable; default: the profile's ports.ueMikey, O1)
  --http-port <port>      TCP port of the BM-SC's HTTP server (repeatable; default: every TCP connection)
  --json                  newline-delimited JSON instead of the summary: a line per procedure instance as
                          it is judged, then a summary line (docs/analyze.md)
  --allure-results <dir>  where to write Allure results (default ${DEFAULT_ANALYZE_ALLURE_DIR})
  --no-allure             write no Allure results
  --reader-thread on|off  read and dissect the capture in a second thread while this one judges
                          (default: on for captures of 4 MiB and more)
exit: 0 all procedure instances PASS, 1 any FAIL/INCONC/ERROR, 2 bad input, 3 the analysis failed
`;

class UsageError extends Error {}

/** The judging thread's heap budget (lib/suite/offline/heap-budget.ts). */
const HEAP_BUDGET_MB = 64;

function port(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`${option} ${text}: not a port (1-65535)`);
  return n;
}

function input(message: string): number {
  process.stderr.write(`mbms-conform analyze: ${message}\n`);
  return 2;
}

export async function analyzeCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        'profile': { type: 'string' }, 'keys': { type: 'string' },
        'mikey-port': { type: 'string', multiple: true }, 'http-port': { type: 'string', multiple: true },
        'json': { type: 'boolean' }, 'allure-results': { type: 'string' }, 'no-allure': { type: 'boolean' }, 'reader-thread': { type: 'string' }, 'help': { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return input(`${(e as Error).message.split('\n')[0]}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no capture file given' : `one capture file expected, got ${positionals.length}`);
    const capture = positionals[0]!;
    if (!existsSync(capture)) throw new AnalyzeInputError(capture, 'no such file');
    if (statSync(capture).isDirectory()) throw new AnalyzeInputError(capture, 'is a directory');
    if (typeof values.profile !== 'string') throw new UsageError('--profile <profile.yaml> is required');
    let profile: MbmsProfile;
    try {
      profile = loadProfile(values.profile);
    } catch (e) {
      if (e instanceof ProfileError) return input(e.message.split('\n')[0]!);
      throw e;
    }
    const keys: AnalyzeKeys | undefined = typeof values.keys === 'string' ? loadKeys(values.keys) : undefined;
    const mikeyPorts = ((values['mikey-port'] ?? []) as string[]).map((p) => port(p, '--mikey-port'));
    const httpPorts = ((values['http-port'] ?? []) as string[]).map((p) => port(p, '--http-port'));
    const thread = values['reader-thread'];
    if (thread !== undefined && thread !== 'on' && thread !== 'off') throw new UsageError(`--reader-thread ${String(thread)}: on or off`);
    const readerThread = thread === undefined ? undefined : thread === 'on';

    // --json streams: every instance is written as it is judged
    const onJudged = values.json ? (p: ProcedureResult) => { process.stdout.write(procedureLine(p)); } : undefined;
    const result = await analyzeCapture(capture, { profile, keys, mikeyPorts, httpPorts, onJudged, readerThread, heapBudgetMb: HEAP_BUDGET_MB });

    if (!values['no-allure']) {
      const { ladderSvg } = await import('../report/index.ts'); // only when the report is written
      const dir = typeof values['allure-results'] === 'string' ? values['allure-results'] : DEFAULT_ANALYZE_ALLURE_DIR;
      writeAllureResults(result, dir, {
        attachments: (p) => [{
          name: 'ladder diagram', type: 'image/svg+xml', extension: 'svg',
          content: ladderSvg(p.events, {
            roles: { sut: 'bmsc', sutName: 'BM-SC (capture)', testerName: 'UE (capture)' },
            failingEvents: [...new Set(p.findings.filter((f) => f.verdict !== 'PASS' && f.verdict !== 'NOT-APPLICABLE').flatMap((f) => f.evidence.events))],
            title: `${p.id} ${p.title}`,
          }),
        }],
      });
    }
    if (values.json) process.stdout.write(summaryLine(result));
    else process.stdout.write(formatSummary(result));
    return exitCodeOf(result);
  } catch (e) {
    if (e instanceof UsageError) return input(`${e.message}\n${USAGE}`);
    if (e instanceof AnalyzeInputError) return input(e.message.split('\n')[0]!);
    // Not a verdict and not the input's fault: one line, code 3 (the stack with MBMS_DEBUG=1).
    const err = e as Error;
    const exhausted = err instanceof RangeError || /ENOMEM|ENOSPC|EMFILE/.test(String((err as NodeJS.ErrnoException).code ?? ''));
    process.stderr.write(`mbms-conform analyze: ${exhausted ? 'a resource ran out' : 'the analysis failed'}: ${err.message.split('\n')[0]}\n`);
    if (process.env.MBMS_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
    return 3;
  }
}
