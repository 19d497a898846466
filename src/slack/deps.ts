import type { Logger } from '../logger.ts';
import type { AdminServices } from '../services/contract.ts';
import type { WhoisDeps } from '../services/whois.ts';
import type { AdminCheck } from './admin.ts';

/** What every listener may use; built once by the composition root. */
export interface ListenerDeps {
  services: AdminServices;
  adminCheck: AdminCheck;
  logger: Logger;
  /** The directory behind `/whois` and its card buttons; without it those listeners are not registered. */
  whois?: WhoisDeps;
}
