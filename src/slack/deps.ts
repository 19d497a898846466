import type { Logger } from '../logger.ts';
import type { AdminCheck } from './admin.ts';
import type { AdminServices } from './services.ts';

/** What every listener may use; built once by the composition root. */
export interface ListenerDeps {
  services: AdminServices;
  adminCheck: AdminCheck;
  logger: Logger;
}
