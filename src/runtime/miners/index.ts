/**
 * Miner drivers by name. Each file cites the firmware's wire format it speaks.
 */
import { antminerDriver } from "./antminer.js";
import { braiinsDriver } from "./braiins.js";
import { luxosDriver } from "./luxos.js";
import type { DriverName, MinerDriver } from "./types.js";
import { webhookDriver } from "./webhook.js";
import { whatsminerDriver } from "./whatsminer.js";

/** Every driver, by its {@link DriverName}. */
export const DRIVERS: Record<DriverName, MinerDriver> = {
  luxos: luxosDriver,
  braiins: braiinsDriver,
  antminer: antminerDriver,
  whatsminer: whatsminerDriver,
  webhook: webhookDriver,
};

export * from "./types.js";
export { postWebhook, redactUrl, WEBHOOK_NOTE, type WebhookAction } from "./webhook.js";
export { TransportError, RefusedError } from "./net.js";
