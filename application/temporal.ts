import type { Client } from '@temporalio/client';
import type { SlipwayConfig } from '../config/env';

/** A connection to this Slipway's Temporal namespace, with the configuration naming its task queues. */
export interface TemporalAccess {
  client: Client;
  config: SlipwayConfig;
}
