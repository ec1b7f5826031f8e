/**
 * The mine2hpc Pulumi program: stack config → site → plan → FarmCluster.
 *
 * The only place that reads stack config. It loads, validates and plans the site before
 * creating anything, so an invalid site throws its SiteError (every problem, with file:line
 * and fix) while no resource has been registered. Kept small so tests can `await import()`
 * it after `pulumi.runtime.setMocks`.
 */
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { FarmCluster } from "./components/farm-cluster.js";
import { planFarm } from "./plan/index.js";
import { loadAndValidate } from "./site/load.js";

const config = new pulumi.Config("mine2hpc");
// Pulumi runs the program in the project directory, which is where stack paths are relative to.
const projectRoot = process.cwd();
const siteFile = resolve(projectRoot, config.require("site"));
const inventory = config.get("inventory");
const sshPrivateKey = config.requireSecret("sshPrivateKey");

// Throws SiteError for an invalid or unplannable site: nothing below has run yet.
const site = loadAndValidate(siteFile, inventory ? { inventory: resolve(projectRoot, inventory) } : {});
const plan = planFarm(site.spec);

// Presence only (the value stays inside the secret Output): a missing token is generated once
// and kept in state, so every later `up` joins nodes with the same one.
const hasConfiguredToken = (pulumi.runtime.getConfig("mine2hpc:k3sToken") ?? "") !== "";
const k3sToken: pulumi.Output<string> = hasConfiguredToken
  ? config.requireSecret("k3sToken")
  : new random.RandomPassword(`${plan.site.name}-k3s-token`, { length: 48, special: false }).result;

const farm = new FarmCluster(plan.site.name, { plan, sshPrivateKey, k3sToken });

/** Address clients use for the Kubernetes API. */
export const apiEndpoint = farm.apiEndpoint;
/** Admin kubeconfig (secret): `pulumi stack output --show-secrets kubeconfig > kubeconfig`. */
export const kubeconfig = farm.kubeconfig;
/** Pools: name, nodes, GPUs, cap range in W. */
export const pools = farm.pools;
/** Circuit loads: id, load and usable power in W, load %. */
export const circuitLoads = farm.circuitLoads;
