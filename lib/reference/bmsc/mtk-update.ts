// MTK update of the reference BM-SC (TS 33.246 §6.3.3): a new MTK under the current (or named) MSK of a key
// group, one MTK message sent to every receiver of the group (point-to-multipoint, protocol §1.4: the same
// octets to all, no MIKEY ACK), with its COUNTER per MSK (protocol §6.1) and CSB ID (profile O10); and the
// periodic rekey when the configuration asks for it.
import { randomBytes } from 'node:crypto';
import { buildMtkMessage } from '../../mikey/index.ts';
import { ControlApiError, type Endpoint } from '../common/index.ts';
import { hex, hex32, isSubscribed, now, type BmscContext } from './context.ts';
import type { Deliveries } from './deliveries.ts';
import type { MikeySent } from './events.ts';
import { mskCounterName, type Msk } from './state.ts';

export class MtkUpdates {
  readonly #ctx: BmscContext;
  readonly #deliveries: Deliveries;
  #rekeyTimer?: NodeJS.Timeout;

  constructor(ctx: BmscContext, deliveries: Deliveries) {
    this.#ctx = ctx;
    this.#deliveries = deliveries;
  }

  /** Starts the periodic rekey (profile timers.rekeyMs) when the configuration asks for it. */
  startRekey(): void {
    if (!this.#ctx.config.mtkRekey) return;
    this.#rekeyTimer = setInterval(() => {
      this.update({}).catch((error) => this.#ctx.emit('warning', { time: now(), message: `MTK rekey: ${(error as Error).message}` }));
    }, this.#ctx.profile.timers.rekeyMs);
  }

  stopRekey(): void {
    if (this.#rekeyTimer) clearInterval(this.#rekeyTimer);
    this.#rekeyTimer = undefined;
  }

  /** A new MTK under the current (or named) MSK of each key group, sent to every receiver. */
  update(args: { keyDomainId?: Buffer; mskId?: number }): Promise<MikeySent[]> {
    const state = this.#ctx.state();
    let msks: Msk[];
    if (args.mskId !== undefined) {
      const domains = args.keyDomainId ? [args.keyDomainId] : state.groups().map((g) => g.keyDomainId);
      const found = domains.map((d) => state.find(d, args.mskId!)).find(Boolean);
      if (!found) return Promise.reject(new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', `no MSK ${hex32(args.mskId)}`));
      msks = [found];
    } else {
      msks = state.groups()
        .filter((g) => !args.keyDomainId || g.keyDomainId.equals(args.keyDomainId))
        .map((g) => g.msks.at(-1)).filter((m): m is Msk => !!m);
      if (args.keyDomainId && msks.length === 0) {
        return Promise.reject(new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', `no key group in domain ${hex(args.keyDomainId)}`));
      }
    }
    return this.#send(msks);
  }

  async #send(msks: Msk[]): Promise<MikeySent[]> {
    const { hooks, config, mikeyProfile } = this.#ctx;
    const sent: MikeySent[] = [];
    for (const msk of msks) {
      const targets = this.#targets(msk);
      if (targets.length === 0) continue;
      const applied: string[] = [];
      const repeat = hooks.apply('repeatMtkId', false, { mtkId: msk.mtkId });
      const { mtkId, mtk } = this.#ctx.state().nextMtk(msk, { repeatId: repeat.value });
      const counter = this.#deliveries.nextCounter(mskCounterName(msk.keyDomainId, msk.id), applied);
      const csb = hooks.apply('mtkCsbId', mikeyProfile.csbId.mtk === 'fixed-per-msk' ? msk.mtkCsbId : randomBytes(4).readUInt32BE(0), {});
      const csbId = csb.value;
      const v = hooks.apply('mtkV', false, {});
      applied.push(...repeat.applied, ...csb.applied, ...v.applied);
      const built = buildMtkMessage({
        msk: msk.key, mskRand: msk.rand, csbId, counter, keyDomainId: msk.keyDomainId, mskId: msk.id, mtkId, mtk, v: v.value,
        idi: config.nafFqdn, profile: mikeyProfile, mutate: this.#deliveries.keyMessageHook('mtk', mtk, applied),
      });
      const bytes = this.#deliveries.finish(built, applied);
      for (const to of targets) {
        await this.#ctx.send(bytes, to);
        this.#ctx.emit('mikey-out', {
          time: now(), kind: 'mtk', from: this.#ctx.mikeyEndpoint(), to, bytes,
          keyDomainId: msk.keyDomainId, mskId: msk.id, mtkId, csbId, counter, v: v.value, attempt: 1, faults: [...new Set(applied)],
        });
        sent.push({
          kind: 'mtk', to, keyDomainId: hex(msk.keyDomainId), mskId: hex32(msk.id),
          mtkId: mtkId.toString(16).padStart(mikeyProfile.ext.mtkIdLength * 2, '0'),
          csbId: hex32(csbId), counter, v: v.value, attempt: 1, length: bytes.length,
        });
      }
    }
    return sent;
  }

  /** Receivers of a key group: the configured list, else every subscribed user with a known address. */
  #targets(msk: Msk): Endpoint[] {
    if (this.#ctx.config.mtkTargets) return this.#ctx.config.mtkTargets;
    const out = new Map<string, Endpoint>();
    for (const [btid, rec] of this.#ctx.users) {
      const to = isSubscribed(rec.user, msk.keyDomainId, msk.keyGroup) ? this.#ctx.mikeyTarget(btid) : undefined;
      if (to) out.set(`${to.address} ${to.port}`, to);
    }
    return [...out.values()];
  }
}
