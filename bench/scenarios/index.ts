import { branchCreate } from './branch-create.js';
import { checkoutAdjacent } from './checkout.js';
import { diffStatScenario } from './diff-stat.js';
import { firstSnapshot } from './first-snapshot.js';
import { queryLatency } from './query-latency.js';
import { remoteScan } from './remote-scan.js';
import { snapshotCreate } from './snapshot-create.js';
import { sharedStoresSnapshot } from './shared-stores.js';
import { streamMemory } from './stream-memory.js';
import type { RemoteScenario, Scenario } from '../types.js';

/** Run in this order against each fixture; see Scenario for what each must leave behind. */
export const scenarios: Scenario[] = [firstSnapshot, snapshotCreate, branchCreate, checkoutAdjacent, diffStatScenario, sharedStoresSnapshot];

/** Run in this order against the remote fixture, through one `openduck serve` child process. */
export const remoteScenarios: RemoteScenario[] = [remoteScan, queryLatency, streamMemory];
