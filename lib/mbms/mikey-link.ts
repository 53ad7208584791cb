// The one place lib/mbms reaches into lib/mikey: the MIKEY part of the profile (O7-O16, O20) is lib/mikey's
// MikeyProfile, embedded as is.
import { defaultMikeyProfile as frozenDefaults, type MikeyProfile } from '../mikey/index.ts';

export type { MikeyProfile };

/** A mutable deep copy of lib/mikey's §9 defaults. */
export function defaultMikeyProfile(): MikeyProfile {
  return structuredClone(frozenDefaults) as MikeyProfile;
}
