import type { Logger } from '../logger.ts';
import type { AdminServices } from '../services/contract.ts';
import type { UninstallService } from '../services/uninstall.ts';
import type { WhoisDeps } from '../services/whois.ts';
import type { AdminCheck } from './admin.ts';
import type { GuestCheck } from './guests.ts';

/** What every listener may use; built once by the composition root. */
export interface ListenerDeps {
  services: AdminServices;
  adminCheck: AdminCheck;
  /** Whether the person using /whois is a Slack guest: one for the command and its card buttons (one cache). */
  guestCheck: GuestCheck;
  logger: Logger;
  /** The directory behind `/whois` and its card buttons; without it those listeners are not registered. */
  whois?: WhoisDeps;
  /** Forgets an installation on `app_uninstalled` / `tokens_revoked`; without it those events are ignored. */
  uninstall?: UninstallService;
  /** Whether a source belongs to an installation; requests naming another installation's source are refused. */
  ownsSource?: (installation: string, sourceId: string) => Promise<boolean>;
}
