// The one place lib/mbms reaches into lib/mikey for the MIKEY part of the profile (O7-O16, O20).
// Until lib/mikey publishes its profile, the MIKEY section is carried as an opaque JSON object.
export type MikeyProfile = Record<string, unknown>;

export function defaultMikeyProfile(): MikeyProfile {
  return {};
}
