// The sub-commands of `mbms-conform`; each is loaded only when it runs.
import { registerCommand } from './main.ts';

registerCommand('run', 'run the conformance suites (default: both roles against the embedded references) and build the reports',
  async () => (await import('./run.ts')).runCommand);
registerCommand('decode', 'decode one MIKEY message (hex, stdin or --file), verify its MAC and decrypt it',
  async () => (await import('./decode.ts')).decodeCommand);
registerCommand('reference', 'run the reference BM-SC or reference UE standalone (reference bmsc|ue --config FILE)',
  async () => (await import('./reference.ts')).referenceCommand);
registerCommand('analyze', 're-judge a recorded capture (pcap or pcapng) offline against a profile',
  async () => (await import('./analyze.ts')).analyzeCommand);
registerCommand('report', 'generate the Allure report and certification summary from results (merges shards)',
  async () => (await import('./report.ts')).reportCommand);
registerCommand('load', 'complete 6.3.1 procedures against a BM-SC at a rate, every message judged (latency, errors, conformance under load)',
  async () => (await import('./load.ts')).loadCommand);
