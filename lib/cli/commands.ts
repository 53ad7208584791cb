// The sub-commands of `mbms-conform`; each is loaded only when it runs.
import { registerCommand } from './main.ts';

registerCommand('decode', 'decode one MIKEY message (hex, stdin or --file), verify its MAC and decrypt it',
  async () => (await import('./decode.ts')).decodeCommand);
