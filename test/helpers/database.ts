/** Each test file that needs PostgreSQL starts its own throwaway server (about 1–2 s). */
export {
  startThrowawayDatabase as startTestDatabase,
  type ThrowawayDatabase as TestDatabase,
} from '../../src/db/throwaway.ts';
