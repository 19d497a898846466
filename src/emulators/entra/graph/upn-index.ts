import type { TenantStore } from '../tenant.ts';

/**
 * Users by lower-cased `userPrincipalName`, so `$filter=startswith(userPrincipalName,'…')` — what parallel
 * full reads partition the tenant by — finds its users without scanning the tenant for every page, as
 * Graph's own indexes do. Rebuilt when the tenant changed since; one index per store (a reset makes a new
 * store).
 */

const indexes = new WeakMap<TenantStore, UpnIndex>();

/** `startswith(userPrincipalName,'…')` alone, as Graph and the emulator's filter parser read it. */
const PREFIX_FILTER = /^\s*startswith\(\s*userPrincipalName\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/i;

export function upnPrefixOf(filter: string | null): string | null {
  const match = filter === null ? null : PREFIX_FILTER.exec(filter);
  return match ? match[1].replace(/''/g, "'") : null;
}

export function upnIndex(store: TenantStore): UpnIndex {
  let index = indexes.get(store);
  if (!index) {
    index = new UpnIndex(store);
    indexes.set(store, index);
  }
  return index;
}

class UpnIndex {
  private version = '';
  private upns: string[] = [];
  private slots: number[] = [];
  private readonly byPrefix = new Map<string, number[]>();

  constructor(private readonly store: TenantStore) {}

  /** Ascending positions (user slots) of the active users whose UPN starts with `prefix`, case-insensitively. */
  slotsWithPrefix(prefix: string): readonly number[] {
    this.refresh();
    const needle = prefix.toLowerCase();
    const cached = this.byPrefix.get(needle);
    if (cached) return cached;
    let low = 0;
    let high = this.upns.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.upns[mid] < needle) low = mid + 1;
      else high = mid;
    }
    const found: number[] = [];
    for (let i = low; i < this.upns.length && this.upns[i].startsWith(needle); i++) found.push(this.slots[i]);
    found.sort((a, b) => a - b);
    this.byPrefix.set(needle, found);
    return found;
  }

  private refresh(): void {
    const { store } = this;
    const version = `${store.seq}:${store.userSlots}`;
    if (version === this.version) return;
    const entries: [string, number][] = [];
    for (let slot = 0; slot < store.userSlots; slot++) {
      const user = store.userAt(slot);
      if (user) entries.push([user.userPrincipalName.toLowerCase(), slot]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    this.upns = entries.map((e) => e[0]);
    this.slots = entries.map((e) => e[1]);
    this.byPrefix.clear();
    this.version = version;
  }
}
