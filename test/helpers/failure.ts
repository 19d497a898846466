import { expect } from 'vitest';

/** The error `promise` rejects with; fails the test when it resolves or rejects with another type. */
export async function failureOf<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  expect(outcome).not.toHaveProperty('resolved');
  const { error } = outcome as { error: unknown };
  expect(error).toBeInstanceOf(type);
  return error as E;
}
