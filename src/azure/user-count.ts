import { AzureError } from './errors.ts';
import type { GraphSend } from './graph-transport.ts';
import { queryString } from './odata-query.ts';

/**
 * How many people "import everyone" would read: users with an enabled account (guests included, as the
 * sync reads them). `$count` on directory objects is an advanced query: Graph refuses it (400) without
 * `ConsistencyLevel: eventual`, and the number it gives is eventually consistent, so it is an estimate.
 */
export async function countUsers(send: GraphSend): Promise<number> {
  const answer = await send({
    method: 'GET',
    url: `/users${queryString({ $filter: 'accountEnabled eq true', $count: 'true', $top: 1, $select: 'id' })}`,
    headers: { ConsistencyLevel: 'eventual' },
    purpose: 'counting users',
  });
  const count = (answer.body as { '@odata.count'?: unknown } | undefined)?.['@odata.count'];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new AzureError('graph_unavailable', 'Microsoft Graph answered the user count without a number.', {
      path: '/users',
    });
  }
  return count;
}
