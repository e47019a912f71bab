/**
 * Where the API token is kept: for the tab (`sessionStorage`), and on the
 * device (`localStorage`) only when the person ticked "Remember on this
 * device". Pure over the two stores, so the rule is tested without a browser.
 */

/** The part of the Web Storage API used here. */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The key under which both stores keep the token. */
export const TOKEN_KEY = "claude-sandbox.token";

/** The token kept for this tab, else the one remembered on the device, else null. */
export function readToken(tab: TokenStore, device: TokenStore): { token: string; remembered: boolean } | null {
  const forTab = tab.getItem(TOKEN_KEY);
  const onDevice = device.getItem(TOKEN_KEY);
  if (forTab) return { token: forTab, remembered: onDevice === forTab };
  if (onDevice) {
    tab.setItem(TOKEN_KEY, onDevice);
    return { token: onDevice, remembered: true };
  }
  return null;
}

/** Keeps `token` for the tab, and on the device only when `remember`; a device copy of an earlier token is removed otherwise. */
export function saveToken(token: string, remember: boolean, tab: TokenStore, device: TokenStore): void {
  tab.setItem(TOKEN_KEY, token);
  if (remember) device.setItem(TOKEN_KEY, token);
  else device.removeItem(TOKEN_KEY);
}

/** Forgets the token everywhere (sign out, or a token the API refused). */
export function forgetToken(tab: TokenStore, device: TokenStore): void {
  tab.removeItem(TOKEN_KEY);
  device.removeItem(TOKEN_KEY);
}
