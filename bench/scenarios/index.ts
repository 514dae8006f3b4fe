import { branchCreate } from './branch-create.js';
import { checkoutAdjacent } from './checkout.js';
import { snapshotCreate } from './snapshot-create.js';
import type { Scenario } from '../types.js';

/** Run in this order against each fixture; see Scenario for what each must leave behind. */
export const scenarios: Scenario[] = [snapshotCreate, branchCreate, checkoutAdjacent];
