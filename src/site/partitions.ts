/**
 * Partitioned stacks: which partition (Pulumi stack) holds each Kubernetes agent of a site.
 *
 * A site is partitioned when it has a `partitions` block or any machine sets `partition`. The
 * cluster stack then holds the servers and everything cluster-wide; each partition's stack holds
 * its gpu and cpu machines (their bootstrap, install record, node patch, drain or removal). The
 * plan is still computed for the whole site: power is shared, so one partition's caps depend on
 * every other's load.
 *
 * Rule: a machine's own `partition` field wins; else `partitions.by` names the machine's feed,
 * circuit or rack, mapped through `partitions.groups` when given (each value its own partition
 * otherwise). Pure: the validator reports the problems, the planner uses the assignment.
 */
import type { Problem } from "./problems.js";
import type { SiteSpec } from "./schema.js";

/** DNS-1123 label: partition names become stack names (`<stack>-<partition>`) and resource-free ids. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The name the cluster stack's part has; a partition may not take it. */
export const CLUSTER_PART = "cluster";

/**
 * Most partitions a site may have: GitHub Actions runs at most 256 jobs from one matrix
 * ("A matrix will generate a maximum of 256 jobs per workflow run",
 * https://docs.github.com/en/actions/how-tos/write-workflows/choose-what-workflows-do/run-job-variations),
 * and the preview workflow runs one job per partition.
 */
export const MAX_PARTITIONS = 256;

/** The partition of every Kubernetes agent of a partitioned site. */
export interface PartitionAssignment {
  /** What decided it (`machine` when only machine fields set partitions). */
  by: "machine" | "feed" | "circuit" | "rack";
  /** Partition names, sorted (group names without machines included: their stacks exist). */
  names: string[];
  /** Partition of each gpu/cpu machine (retired ones included), by hostname. */
  byHost: Map<string, string>;
}

/** Whether the site splits into partitions at all. */
export function isPartitioned(spec: SiteSpec): boolean {
  return spec.partitions !== undefined || spec.machines.some((m) => m.partition !== undefined);
}

/**
 * Resolves every agent's partition. Returns null for a site without partitions. Problems (each
 * with the site path it comes from) are pushed to `problems`; machines with a problem get no
 * partition.
 */
export function resolvePartitions(spec: SiteSpec, problems: Problem[] = [], skip: ReadonlySet<number> = new Set()): PartitionAssignment | null {
  if (!isPartitioned(spec)) return null;
  const rule = spec.partitions;
  const by = rule?.by ?? "machine";
  const groupOf = new Map<string, string>();
  const names = new Set<string>();

  if (rule?.groups !== undefined) {
    if (by === "machine") {
      problems.push({
        message: "partitions.groups maps feeds, circuits or racks to partitions, but partitions.by is machine",
        fix: "set partitions.by to feed, circuit or rack, or remove partitions.groups and set partition on each gpu/cpu machine",
        path: ["partitions", "groups"],
      });
    }
    const known = by === "feed" ? new Set(spec.power.feeds.map((f) => f.name)) : by === "circuit" ? new Set(spec.power.circuits.map((c) => c.id)) : null;
    for (const [name, values] of Object.entries(rule.groups)) {
      names.add(name);
      values.forEach((value, k) => {
        const prior = groupOf.get(value);
        if (prior !== undefined) {
          problems.push({
            message: `${by} '${value}' is in partitions ${prior} and ${name}`,
            fix: `list '${value}' under one partition only`,
            path: ["partitions", "groups", name, k],
          });
          return;
        }
        if (known !== null && !known.has(value)) {
          problems.push({
            message: `partitions.groups.${name} lists unknown ${by} '${value}'`,
            fix: `list ${by === "feed" ? "names under power.feeds" : "ids under power.circuits"}, or remove '${value}'`,
            path: ["partitions", "groups", name, k],
          });
          return;
        }
        groupOf.set(value, name);
      });
    }
  }

  const feedOf = new Map(spec.power.circuits.map((c) => [c.id, c.feed]));
  const byHost = new Map<string, string>();
  spec.machines.forEach((m, i) => {
    // Machines that failed the shape checks are reported there already.
    if (skip.has(i)) return;
    if (m.role === "control-plane" || m.role === "asic") {
      if (m.partition !== undefined) {
        problems.push({
          message: `${m.hostname} is ${m.role === "asic" ? "an ASIC miner (no Pulumi resources)" : "a control-plane machine (servers stay in the cluster stack)"} but sets partition`,
          fix: "remove partition from this machine: only gpu and cpu machines belong to partitions",
          path: ["machines", i, "partition"],
        });
      }
      return;
    }
    let name = m.partition;
    if (name === undefined && by !== "machine") {
      const value = by === "feed" ? feedOf.get(m.circuit) : by === "circuit" ? m.circuit : m.rack;
      // An unknown circuit is reported by the machine checks; nothing to add here.
      if (value === undefined) return;
      if (rule?.groups !== undefined) {
        name = groupOf.get(value);
        if (name === undefined) {
          problems.push({
            message: `${m.hostname} is on ${by} '${value}', which no partition under partitions.groups lists`,
            fix: `add '${value}' to one partition under partitions.groups, or set partition on ${m.hostname}`,
            path: ["machines", i, by === "feed" ? "circuit" : by],
          });
          return;
        }
      } else if (!DNS_LABEL.test(value)) {
        problems.push({
          message: `${m.hostname}'s ${by} '${value}' cannot name a partition (partition names are DNS labels: they become stack names)`,
          fix: `map it with partitions.groups (e.g. {hall-a: ['${value}']}), or set partition on ${m.hostname}`,
          path: ["machines", i, by],
        });
        return;
      } else {
        name = value;
      }
    }
    if (name === undefined) {
      problems.push({
        message: `${m.hostname} has no partition, but the site is partitioned: every gpu and cpu machine belongs to one`,
        fix: `set partition on ${m.hostname} (e.g. partition: hall-a), or give the site a rule such as partitions: {by: feed}`,
        path: ["machines", i],
      });
      return;
    }
    if (name === CLUSTER_PART) {
      problems.push({
        message: `${m.hostname}: partition name '${CLUSTER_PART}' is the cluster stack's own`,
        fix: "name the partition after its hall, row or feed (e.g. hall-a)",
        path: m.partition !== undefined ? ["machines", i, "partition"] : ["partitions"],
      });
      return;
    }
    names.add(name);
    byHost.set(m.hostname, name);
  });

  if (names.has(CLUSTER_PART) && rule?.groups?.[CLUSTER_PART] !== undefined) {
    problems.push({ message: `partition name '${CLUSTER_PART}' is the cluster stack's own`, fix: "rename that group (e.g. hall-a)", path: ["partitions", "groups", CLUSTER_PART] });
  }
  names.delete(CLUSTER_PART);
  if (names.size > MAX_PARTITIONS) {
    problems.push({
      message: `the site has ${names.size} partitions; the preview workflow runs one job each and GitHub Actions runs at most ${MAX_PARTITIONS} jobs from one matrix`,
      fix: `group them with partitions.groups (e.g. by hall or feed) into at most ${MAX_PARTITIONS} partitions`,
      path: ["partitions"],
    });
  }
  return { by, names: [...names].sort(), byHost };
}
