/**
 * A site diff for people: Markdown that fits a pull-request comment, or plain text for a
 * terminal. Both start with one line of counts so a reviewer sees the size of the change first.
 */
import type { FieldChange, SecretChange, SiteDiff, ValueChange } from "./compare.js";

/** GitHub rejects comments over 65,536 characters; stay under with room for the trim note. */
export const MAX_COMMENT_CHARS = 64_000;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The one-line summary of counts both formats start with. */
export function summaryLine(diff: SiteDiff): string {
  const s = diff.summary;
  return [
    `${s.resourcesAdded} added, ${s.resourcesChanged} changed, ${s.resourcesRemoved} removed ${s.resourcesAdded + s.resourcesChanged + s.resourcesRemoved === 1 ? "resource" : "resources"}`,
    `${plural(s.rebootstraps, "machine")} re-bootstrapped`,
    ...(s.statesChanged > 0 ? [`${plural(s.statesChanged, "machine state")} changed`] : []),
    ...(s.secretsChanged > 0 ? [`${plural(s.secretsChanged, "secret")} changed`] : []),
    `${plural(s.poolsChanged, "pool")} changed`,
    `${plural(s.capsMoved, "node cap")} moved`,
    `${plural(s.circuitsMoved, "circuit")} and ${plural(s.feedsMoved, "feed")} moved`,
  ].join(" · ");
}

function hasChanges(diff: SiteDiff): boolean {
  const s = diff.summary;
  return Object.values(s).some((n) => n > 0) || (diff.partitions?.moves.length ?? 0) + (diff.partitions?.movedResources.length ?? 0) > 0 || diff.plan.version !== null || diff.plan.readdressed.length > 0 || diff.plan.nodes.added.length + diff.plan.nodes.removed.length + diff.plan.asics.added.length + diff.plan.asics.removed.length > 0;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "(none)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

const arrow = (before: unknown, after: unknown) => (same(before, after) ? show(after) : `${show(before)} → ${show(after)}`);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const short = (hash: string | null) => (hash === null ? "(none)" : hash.slice(0, 12));

/** Markdown code span that survives backticks in the value. */
function code(v: unknown): string {
  const text = show(v).replace(/\r?\n/g, "⏎");
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** Table cell text: pipes would split the cell. */
const cell = (text: string) => text.replace(/\|/g, "\\|");

function rebootstrapWhy(r: SiteDiff["rebootstraps"][number]): string {
  if (r.reason === "added") return "new machine: bootstrap (installs k3s and joins)";
  if (r.reason === "removed") return "machine removed: uninstall runs (leaves the cluster)";
  if (r.reason === "forgotten") return `left partition stack ${r.stack ?? ""}: forgotten there (retainOnDelete: nothing runs on the host; retire it to uninstall)`;
  if (r.reason === "readdressed") return "re-addressed: bootstrap runs at the new address (in place; nothing runs through the old one)";
  if (r.reason === "reencoded") {
    return `bootstrap re-runs once: command encoding changed, host config unchanged (config ${short(r.configAfter)}; idempotent; hosts that are down will fail this up: use --continue-on-error)`;
  }
  return `host config changed: bootstrap runs again (config ${short(r.configBefore)} → ${short(r.configAfter)})`;
}

/**
 * What a changed stack secret does on the next `pulumi up`, in words; the value is never known
 * here (ciphertexts are compared). Token facts from https://docs.k3s.io/cli/token: the server
 * token is the PBKDF2 passphrase of the datastore's bootstrap data and cannot simply change;
 * `k3s token rotate` replaces it, after which every server and any agent that joined with the
 * old token must restart with the new one; the agent token is changed on all servers.
 */
export function secretEffect(c: SecretChange): string {
  const how = c.change === "set" ? "now set in the stack file (was generated and kept in state)" : c.change === "removed" ? "removed from the stack file (a new one is generated)" : "set again (its encrypted value differs)";
  switch (c.key) {
    case "mine2hpc:k3sToken":
      return (
        `k3s server token ${how}: every server's bootstrap runs again with it, but a running cluster refuses a new server token ` +
        "(k3s encrypts its bootstrap data with it), so servers fail to restart and server joins break (agents join with the agent token). Rotate it on the cluster first: " +
        "'k3s token rotate --token OLD --new-token NEW' on one server, then merge this change so pulumi up gives every server the new token " +
        "(snapshots taken before need the old one; docs.k3s.io/cli/token). If it was set again with the same value, nothing breaks."
      );
    case "mine2hpc:k3sAgentToken":
      return (
        `k3s agent token ${how}: every server and agent bootstrap runs again with it (servers first); agents that this pulumi up ` +
        "cannot reach (offline, failing) keep the old token and cannot rejoin after a restart until they are reached (docs.k3s.io/cli/token#agent)."
      );
    case "mine2hpc:sshPrivateKey":
      return `SSH private key ${how}: every remote command connects with it, so every machine must already accept its public key (authorized_keys), or its bootstrap fails to connect.`;
    case "mine2hpc:minerCredentials":
      return `miner credentials ${how}: the curtailment jobs' Kubernetes Secret is replaced; the miners must accept them, or the next curtailment fails to command them.`;
    default:
      return `secret ${c.key} ${how}.`;
  }
}

/** The secret lines both formats print: one per changed secret, and the re-encryption caveat. */
function secretLines(diff: SiteDiff): string[] {
  const s = diff.secrets;
  return [
    ...s.changed.map((c) => `${c.key}: ${secretEffect(c)}`),
    ...(s.reencrypted ? ["The stack's secrets provider, key or passphrase salt changed too, which re-encrypts every secret: a changed ciphertext alone does not prove a changed value ('pulumi config get --show-secrets KEY' on both sides does)."] : []),
  ];
}

/** What a state change does on the next `pulumi up`. */
export function stateWhy(c: SiteDiff["plan"]["states"][number]): string {
  const from = c.before ?? "new";
  const to = c.after ?? "gone";
  const what =
    c.after === "cordoned"
      ? "cordoned and drained from the first server; stays installed"
      : c.after === "offline"
        ? "nothing reaches it (no SSH); its last state is kept and its power stays planned"
        : c.after === "retired"
          ? "drained and removed from the cluster from the first server (Node, node password), then uninstalled when it answers"
          : c.after === "active" && c.before === "cordoned"
            ? "uncordoned"
            : c.after === "active" && c.before === "offline"
              ? "reached again: its bootstrap runs if anything changed meanwhile"
              : c.after === null
                ? "leaves the site"
                : "";
  return `${from} → ${to}${what ? `: ${what}` : ""}`;
}

/** A stack as the partition lines name it. */
const stackPart = (stack: string, partition: string | null) => `${stack} (${partition === null ? "cluster" : `partition ${partition}`})`;

/**
 * The partition lines both formats print: each stack a `pulumi up` must run in, with what it
 * changes, then each machine that changes stack and what that does on the hosts.
 */
export function partitionLines(diff: SiteDiff): string[] {
  const d = diff.partitions;
  if (d === undefined) return [];
  const counts = (t: NonNullable<SiteDiff["partitions"]>["touched"][number]) =>
    [t.added > 0 ? `${t.added} added` : "", t.changed > 0 ? `${t.changed} changed` : "", t.removed > 0 ? `${t.removed} removed` : "", t.movedIn > 0 ? `${t.movedIn} moved in` : "", t.movedOut > 0 ? `${t.movedOut} moved out` : ""]
      .filter((x) => x !== "")
      .join(", ");
  const stackOf = (partition: string | null) => d.touched.find((t) => t.partition === partition)?.stack ?? (partition === null ? "the cluster stack" : `the ${partition} stack`);
  return [
    ...(d.touched.length === 0 ? ["no stack changes: no pulumi up needed"] : d.touched.map((t) => `${stackPart(t.stack, t.partition)}: ${counts(t)}`)),
    ...d.moves.map(
      (m) =>
        `${m.hostname} moves ${m.from ?? "cluster"} → ${m.to ?? "cluster"}: ${stackOf(m.to)} bootstraps it (same host config: k3s keeps running), ${stackOf(m.from)} forgets it (nothing runs on the host); 'pulumi state move --source ${stackOf(m.from)} --dest ${stackOf(m.to)} <its URNs>' first makes both no-ops`,
    ),
  ];
}

/** The lifecycle lines both formats print before the details: version, states, addresses. */
function lifecycleLines(diff: SiteDiff): string[] {
  const p = diff.plan;
  return [
    ...(p.version ? [`${p.version.line} (system-upgrade-controller; no host bootstrap runs)`] : []),
    ...p.states.map((c) => `${c.hostname}: ${stateWhy(c)}`),
    ...p.readdressed.map((r) => `${r.hostname}: re-addressed: ${r.before} → ${r.after}`),
  ];
}

/** `[stack] ` before a resource of a partitioned site's diff (several stacks at once); nothing otherwise. */
const inStack = (r: { stack?: string }) => (r.stack !== undefined ? `[${r.stack}] ` : "");

function fieldText(c: FieldChange): string {
  return `${c.field} ${show(c.before)} → ${show(c.after)}`;
}

function inputLine(c: ValueChange, md: boolean): string {
  return md ? `  - ${code(c.key)}: ${code(c.before)} → ${code(c.after)}` : `      ${c.key}: ${show(c.before)} → ${show(c.after)}`;
}

/**
 * Markdown for a PR comment. Longer than `maxChars`, it is cut at a line boundary and ends with
 * a note saying how many lines were left out.
 */
export function diffMarkdown(diff: SiteDiff, maxChars: number = MAX_COMMENT_CHARS): string {
  const lines: string[] = [];
  const title = `**mine2hpc diff** · stack \`${diff.stack}\` · \`${diff.base.ref}\` → working tree: ${summaryLine(diff)}`;
  lines.push(title, "");
  if (!diff.base.stackExists) lines.push(`Stack \`${diff.stack}\` does not exist at \`${diff.base.ref}\`: everything below is new.`, "");
  if (!hasChanges(diff)) {
    lines.push(`No changes: the working tree plans and previews the same as \`${diff.base.ref}\`.`);
    return lines.join("\n") + "\n";
  }
  const p = diff.plan;
  const secrets = secretLines(diff);
  if (secrets.length > 0) {
    lines.push("### Secrets (names only; values never read)", "");
    for (const l of secrets) lines.push(`- ⚠ ${l}`);
    lines.push("");
  }
  const lifecycle = lifecycleLines(diff);
  if (lifecycle.length > 0) {
    lines.push("### Lifecycle", "");
    for (const l of lifecycle) lines.push(`- ${l}`);
    lines.push("");
  }
  const partitions = partitionLines(diff);
  if (partitions.length > 0) {
    lines.push("### Partitions (stacks)", "");
    for (const l of partitions) lines.push(`- ${l}`);
    lines.push("");
  }
  if (diff.rebootstraps.length > 0) {
    lines.push("### Machines re-bootstrapped", "", "| machine | why |", "|---|---|");
    for (const r of diff.rebootstraps) lines.push(`| \`${r.hostname}\` | ${cell(rebootstrapWhy(r))} |`);
    lines.push("");
  }
  if (p.nodes.added.length + p.nodes.removed.length + p.asics.added.length + p.asics.removed.length > 0) {
    lines.push("### Machines", "");
    for (const h of p.nodes.added) lines.push(`- added node \`${h}\``);
    for (const h of p.nodes.removed) lines.push(`- removed node \`${h}\``);
    for (const h of p.asics.added) lines.push(`- added ASIC miner \`${h}\``);
    for (const h of p.asics.removed) lines.push(`- removed ASIC miner \`${h}\``);
    lines.push("");
  }
  if (diff.summary.poolsChanged > 0) {
    lines.push("### Pools", "", "| pool | change |", "|---|---|");
    for (const x of p.pools.added) lines.push(`| \`${x.name}\` | added: ${x.nodes} nodes, ${x.gpus} GPUs, caps ${x.capWatts.min}–${x.capWatts.max} W |`);
    for (const x of p.pools.removed) lines.push(`| \`${x.name}\` | removed: ${x.nodes} nodes, ${x.gpus} GPUs, caps ${x.capWatts.min}–${x.capWatts.max} W |`);
    for (const x of p.pools.changed) lines.push(`| \`${x.name}\` | ${cell(x.changes.map(fieldText).join("; "))} |`);
    lines.push("");
  }
  if (p.caps.length > 0) {
    lines.push("### Node GPU caps", "", "| node | pool | GPUs | cap per GPU (W) |", "|---|---|---:|---:|");
    for (const c of p.caps) lines.push(`| \`${c.hostname}\` | ${c.pool ?? "—"} | ${arrow(c.gpusBefore, c.gpusAfter)} | ${arrow(c.capWattsBefore, c.capWattsAfter)} |`);
    lines.push("");
  }
  if (diff.summary.circuitsMoved > 0) {
    lines.push("### Circuits", "", "| circuit | feed | usable W | load W | load % |", "|---|---|---:|---:|---:|");
    for (const c of p.circuits.moved) {
      lines.push(`| \`${c.id}\` | ${c.feed} | ${arrow(c.usableWatts.before, c.usableWatts.after)} | ${arrow(c.loadWatts.before, c.loadWatts.after)} | ${arrow(c.loadPercent.before, c.loadPercent.after)} |`);
    }
    for (const id of p.circuits.added) lines.push(`| \`${id}\` | added | | | |`);
    for (const id of p.circuits.removed) lines.push(`| \`${id}\` | removed | | | |`);
    lines.push("");
  }
  if (diff.summary.feedsMoved > 0) {
    lines.push("### Feeds", "", "| feed | capacity W | IT W | facility W | load % |", "|---|---:|---:|---:|---:|");
    for (const f of p.feeds.moved) {
      lines.push(
        `| \`${f.name}\` | ${arrow(f.capacityWatts.before, f.capacityWatts.after)} | ${arrow(f.itWatts.before, f.itWatts.after)} | ${arrow(f.facilityWatts.before, f.facilityWatts.after)} | ${arrow(f.loadPercent.before, f.loadPercent.after)} |`,
      );
    }
    for (const n of p.feeds.added) lines.push(`| \`${n}\` | added | | | |`);
    for (const n of p.feeds.removed) lines.push(`| \`${n}\` | removed | | | |`);
    lines.push("");
  }
  if (p.totals.length > 0) lines.push(`Site totals: ${p.totals.map(fieldText).join("; ")}.`, "");
  for (const w of p.warnings.added) lines.push(`> ⚠ new warning: ${w}`);
  for (const w of p.warnings.removed) lines.push(`> resolved warning: ${w}`);
  if (p.warnings.added.length + p.warnings.removed.length > 0) lines.push("");
  const r = diff.resources;
  const moved = diff.partitions?.movedResources ?? [];
  if (r.added.length + r.removed.length + r.changed.length + moved.length > 0) {
    lines.push("### Resources (offline preview; secrets masked)", "");
    for (const x of r.added) lines.push(`- **add** ${inStack(x)}\`${x.type}\` \`${x.name}\``);
    for (const x of r.removed) lines.push(`- **remove** ${inStack(x)}\`${x.type}\` \`${x.name}\``);
    for (const x of moved) lines.push(`- **move** \`${x.type}\` \`${x.name}\`: ${x.fromStack} → ${x.toStack}`);
    for (const x of r.changed) {
      lines.push(`- **change** ${inStack(x)}\`${x.type}\` \`${x.name}\``);
      for (const c of x.inputs) lines.push(inputLine(c, true));
      for (const d of x.dependsOn.added) lines.push(`  - now depends on \`${d}\``);
      for (const d of x.dependsOn.removed) lines.push(`  - no longer depends on \`${d}\``);
      if (x.protect) lines.push(`  - protect: \`${x.protect.before}\` → \`${x.protect.after}\``);
    }
    lines.push("", `${r.unchanged} resources unchanged. \`pulumi preview\` is the source of truth.`);
  }
  return trimLines(lines, maxChars);
}

/**
 * Joins lines, cutting at a line boundary so the text (note included) stays within `maxChars`.
 */
export function trimLines(lines: readonly string[], maxChars: number): string {
  const full = lines.join("\n") + "\n";
  if (full.length <= maxChars) return full;
  const note = (n: number) => `\n(… ${n} more lines trimmed; run mine2hpc diff locally for the full list)\n`;
  // The note's length depends on the count; reserve room for the longest count possible.
  const reserve = note(lines.length).length;
  let used = 0;
  let kept = 0;
  while (kept < lines.length && used + (lines[kept] ?? "").length + 1 + reserve <= maxChars) {
    used += (lines[kept] ?? "").length + 1;
    kept++;
  }
  return lines.slice(0, kept).join("\n") + "\n" + note(lines.length - kept);
}

/** Plain text for a terminal; never trimmed. */
export function diffText(diff: SiteDiff): string {
  const lines: string[] = [`mine2hpc diff: stack ${diff.stack}, ${diff.base.ref} (${diff.base.commit.slice(0, 12)}) → working tree`, summaryLine(diff), ""];
  if (!diff.base.stackExists) lines.push(`Stack ${diff.stack} does not exist at ${diff.base.ref}: everything below is new.`, "");
  if (!hasChanges(diff)) {
    lines.push(`No changes: the working tree plans and previews the same as ${diff.base.ref}.`);
    return lines.join("\n") + "\n";
  }
  const p = diff.plan;
  const section = (title: string, body: string[]) => {
    if (body.length > 0) lines.push(`${title}:`, ...body.map((b) => `  ${b}`), "");
  };
  section("Secrets (names only; values never read)", secretLines(diff));
  section("Lifecycle", lifecycleLines(diff));
  section("Partitions (stacks)", partitionLines(diff));
  section("Machines re-bootstrapped", diff.rebootstraps.map((r) => `${r.hostname}: ${rebootstrapWhy(r)}`));
  section("Machines", [
    ...p.nodes.added.map((h) => `+ node ${h}`),
    ...p.nodes.removed.map((h) => `- node ${h}`),
    ...p.asics.added.map((h) => `+ ASIC miner ${h}`),
    ...p.asics.removed.map((h) => `- ASIC miner ${h}`),
  ]);
  section("Pools", [
    ...p.pools.added.map((x) => `+ ${x.name}: ${x.nodes} nodes, ${x.gpus} GPUs, caps ${x.capWatts.min}-${x.capWatts.max} W`),
    ...p.pools.removed.map((x) => `- ${x.name}: ${x.nodes} nodes, ${x.gpus} GPUs, caps ${x.capWatts.min}-${x.capWatts.max} W`),
    ...p.pools.changed.map((x) => `~ ${x.name}: ${x.changes.map(fieldText).join("; ")}`),
  ]);
  section("Node GPU caps", p.caps.map((c) => `${c.hostname} (${c.pool ?? "no pool"}): GPUs ${arrow(c.gpusBefore, c.gpusAfter)}, cap ${arrow(c.capWattsBefore, c.capWattsAfter)} W`));
  section("Circuits", [
    ...p.circuits.moved.map((c) => `${c.id} (${c.feed}): usable ${arrow(c.usableWatts.before, c.usableWatts.after)} W, load ${arrow(c.loadWatts.before, c.loadWatts.after)} W, ${arrow(c.loadPercent.before, c.loadPercent.after)} %`),
    ...p.circuits.added.map((id) => `+ ${id}`),
    ...p.circuits.removed.map((id) => `- ${id}`),
  ]);
  section("Feeds", [
    ...p.feeds.moved.map((f) => `${f.name}: capacity ${arrow(f.capacityWatts.before, f.capacityWatts.after)} W, IT ${arrow(f.itWatts.before, f.itWatts.after)} W, facility ${arrow(f.facilityWatts.before, f.facilityWatts.after)} W, ${arrow(f.loadPercent.before, f.loadPercent.after)} %`),
    ...p.feeds.added.map((n) => `+ ${n}`),
    ...p.feeds.removed.map((n) => `- ${n}`),
  ]);
  section("Site totals", p.totals.map(fieldText));
  section("Warnings", [...p.warnings.added.map((w) => `+ ${w}`), ...p.warnings.removed.map((w) => `- ${w}`)]);
  const r = diff.resources;
  section("Resources (offline preview; secrets masked)", [
    ...r.added.map((x) => `+ ${inStack(x)}${x.type}  ${x.name}`),
    ...r.removed.map((x) => `- ${inStack(x)}${x.type}  ${x.name}`),
    ...(diff.partitions?.movedResources ?? []).map((x) => `> ${x.type}  ${x.name}: ${x.fromStack} → ${x.toStack}`),
    ...r.changed.flatMap((x) => [
      `~ ${inStack(x)}${x.type}  ${x.name}`,
      ...x.inputs.map((c) => inputLine(c, false).slice(2)),
      ...x.dependsOn.added.map((d) => `    now depends on ${d}`),
      ...x.dependsOn.removed.map((d) => `    no longer depends on ${d}`),
      ...(x.protect ? [`    protect: ${x.protect.before} → ${x.protect.after}`] : []),
    ]),
  ]);
  lines.push(`${r.unchanged} resources unchanged. 'pulumi preview' is the source of truth.`);
  return lines.join("\n") + "\n";
}
