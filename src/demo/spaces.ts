import type { SpaceSpec } from '../emulators/slack/index.ts';

/**
 * Two standalone workspaces (Alpha, Beta) and one Enterprise Grid org with two workspaces, for the install
 * story of the demo and the install-by-OAuth tests. Ids never repeat across them (nor with the emulator's
 * default workspace), as in Slack.
 */

export const DEMO_OAUTH_APP = { clientId: '1111.2222', clientSecret: 'client-secret-1234' };

export const DEMO_SPACES: SpaceSpec[] = [
  {
    teamId: 'T0ALPHA',
    users: [{ id: 'U0ALPHAADM', name: 'ann', email: 'ann@alpha.example', isAdmin: true, isPrimaryOwner: true }],
    channels: [{ id: 'C0ALPHA', name: 'alpha-admins', isPrivate: false, members: ['U0ALPHAADM'] }],
  },
  {
    teamId: 'T0BETA',
    users: [{ id: 'U0BETAADM', name: 'ben', email: 'ben@beta.example', isAdmin: true, isPrimaryOwner: true }],
    channels: [{ id: 'C0BETA', name: 'beta-admins', isPrivate: false, members: ['U0BETAADM'] }],
  },
  {
    teamId: 'T0GRID1',
    enterpriseId: 'E0GRID',
    teams: ['T0GRID1', 'T0GRID2'],
    users: [
      { id: 'W0ORGADM', name: 'oona', email: 'oona@grid.example', orgRole: 'owner', teamId: 'T0GRID1' },
      { id: 'W0MEMBER2', name: 'max', email: 'max@grid.example', teamId: 'T0GRID2' },
      // A workspace admin of one workspace is not an admin of the org's directory.
      { id: 'W0WSADM2', name: 'wes', email: 'wes@grid.example', isAdmin: true, teamId: 'T0GRID2' },
    ],
    channels: [
      { id: 'C0GRID1', name: 'grid-one', isPrivate: false, members: ['W0ORGADM'] },
      { id: 'C0GRID2', name: 'grid-two', isPrivate: false, members: ['W0MEMBER2'] },
    ],
  },
];
