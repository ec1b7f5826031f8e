/**
 * The plan as people read it: text for a terminal, Markdown for a ticket or PR. Both
 * show the same sections: pools, feeds, circuits, curtailment, warnings.
 */
import type { FarmPlan } from "../../plan/types.js";
import { int, kw } from "./table.js";
import { docMarkdown, docText, type Doc, type Section } from "./doc.js";

/** The plan as a report: the same sections in text and Markdown. */
export function planDoc(plan: FarmPlan): Doc {
  const t = plan.totals;
  const servers = plan.nodes.filter((n) => n.k3sRole === "server").length;
  const heading = `Site ${plan.site.name} — ${plan.site.gridRegion}, ${plan.site.timezone}, PUE ${plan.site.pue}`;
  const summary = [
    `${t.machines} machines: ${t.nodes} Kubernetes nodes (${servers} server${servers === 1 ? "" : "s"}, ${t.nodes - servers} agents), ${t.asics} ASIC miners; ${t.gpus} GPUs`,
    `IT load ${kw(t.itWatts)} kW, facility ${kw(t.facilityWatts)} kW, stranded ${kw(t.strandedWatts)} kW; GPU throughput ${int(t.throughputTflops)} TFLOPS (dense FP16)`,
    `k3s ${plan.kubernetes.version}, API ${plan.kubernetes.apiEndpoint}:6443, CNI ${plan.network.cni}, fabric ${plan.network.fabric}, GPU driver ${plan.gpuOperator.driverMode}`,
    // A version change rolls through the system-upgrade-controller with exactly these limits.
    `upgrades roll servers one by one, agents ${plan.kubernetes.rollout.agentBatch} at a time (maxUnavailable ${plan.kubernetes.rollout.maxUnavailable})`,
    ...stateSummary(plan),
  ];
  const out: Section[] = [];
  out.push({
    title: "Pools",
    table: {
      headers: ["POOL", "TIER", "NODES", "GPUS", "CAP W", "TFLOPS", "WORKLOAD", "QUEUE"],
      align: ["left", "left", "right", "right", "right", "right", "left", "left"],
      rows: plan.pools.map((p) => [
        p.name,
        p.tier,
        String(p.nodes.length),
        String(p.gpus),
        p.capWatts.min === p.capWatts.max ? String(p.capWatts.min) : `${p.capWatts.min}-${p.capWatts.max}`,
        int(p.throughputTflops),
        p.timeSlicingReplicas > 1 ? `${p.workload} x${p.timeSlicingReplicas}` : p.workload,
        p.clusterQueue,
      ]),
    },
    ...(plan.pools.length === 0 ? { lines: ["(no GPU nodes)"] } : {}),
  });
  // Boards whose Max Power Limit differs from the catalog's (gpuMaxWatts): the cap the planner could give them.
  const ownMax = plan.nodes.filter((n) => n.gpu?.maxFromMachine === true);
  if (ownMax.length > 0) {
    out.push({
      title: "GPU max power limits set per machine (gpuMaxWatts)",
      table: {
        headers: ["NODE", "MODEL", "GPUS", "TDP W", "MAX W", "CAP W"],
        align: ["left", "left", "right", "right", "right", "right"],
        rows: ownMax.map((n) => [n.hostname, n.gpu!.model, String(n.gpu!.count), String(n.gpu!.tdpWatts), String(n.gpu!.maxWatts), String(n.gpu!.capWatts)]),
      },
    });
  }
  out.push({
    title: "Feeds",
    table: {
      headers: ["FEED", "TIER", "CAPACITY kW", "IT kW", "FACILITY kW", "LOAD", "STRANDED kW"],
      align: ["left", "left", "right", "right", "right", "right", "right"],
      rows: plan.feeds.map((f) => [f.name, f.tier, kw(f.capacityWatts), kw(f.itWatts), kw(f.facilityWatts), `${f.loadPercent.toFixed(1)}%`, kw(f.strandedWatts)]),
    },
  });
  out.push({
    title: "Circuits",
    table: {
      // PHASES W: L1/L2/L3 load of a three-phase circuit (each within V / √3 × A × derating), "-" for single-phase.
      headers: ["CIRCUIT", "FEED", "USABLE W", "LOAD W", "PHASES W", "ASIC W", "LOAD", "STRANDED W", "MACHINES"],
      align: ["left", "left", "right", "right", "right", "right", "right", "right", "right"],
      rows: plan.circuits.map((c) => [
        c.id,
        c.feed,
        int(c.usableWatts),
        int(c.loadWatts),
        c.phaseWatts ? c.phaseWatts.map((w) => int(w)).join("/") : "-",
        int(c.asicWatts),
        `${c.loadPercent.toFixed(1)}%`,
        int(c.strandedWatts),
        String(c.machines.length),
      ]),
    },
  });
  const curtail: string[] = [];
  for (const c of plan.curtailment) {
    const rt = c.responseTimeSeconds === null ? "no required response time" : `response within ${c.responseTimeSeconds} s`;
    curtail.push(`${c.feed} (${c.tier}, ${rt})`);
    for (const w of c.windows) curtail.push(`  window ${w.name}: "${w.schedule}" for ${w.durationMinutes} min (${plan.site.timezone})`);
    for (const s of c.stages) {
      if (s.targets.length === 0) {
        curtail.push(`  ${s.order}. ${s.action.padEnd(16)} nothing to shed on this feed (no ${s.action === "asics-off" ? "ASIC miners" : "GPU pools"})`);
        continue;
      }
      const ok = c.responseTimeSeconds === null ? "" : s.meetsResponseTime ? "  meets response time" : "  LATE";
      curtail.push(
        `  ${s.order}. ${s.action.padEnd(16)} sheds ${kw(s.shedWatts).padStart(8)} kW (total ${kw(s.cumulativeShedWatts)} kW) after ${s.completeAfterSeconds} s${ok}`,
      );
    }
    curtail.push(`  residual load ${kw(c.residualWatts)} kW`);
  }
  out.push({ title: "Curtailment", lines: curtail.length > 0 ? curtail : ["(all feeds firm: nothing to curtail)"], code: true });
  out.push({ title: "Warnings", lines: plan.warnings.length > 0 ? plan.warnings.map((w) => `- ${w}`) : ["(none)"] });
  return { heading, summary, sections: out };
}

/**
 * Machines that are not simply active, one line per state: what `pulumi up` does with them.
 * Nothing when every machine is active and none is retired.
 */
export function stateSummary(plan: FarmPlan): string[] {
  const byState = (state: string) => plan.nodes.filter((n) => n.state === state).map((n) => n.hostname);
  const retired = plan.retired.filter((r) => r.k3sRole !== "asic").map((r) => r.hostname);
  const lines: string[] = [];
  const list = (hosts: string[]) => (hosts.length <= 8 ? hosts.join(", ") : `${hosts.slice(0, 8).join(", ")} and ${hosts.length - 8} more`);
  const cordoned = byState("cordoned");
  const offline = byState("offline");
  if (cordoned.length + offline.length + retired.length === 0) return lines;
  lines.push(`machine states: ${plan.nodes.length - cordoned.length - offline.length} active, ${cordoned.length} cordoned, ${offline.length} offline, ${retired.length} retired`);
  if (cordoned.length > 0) lines.push(`cordoned (drained, stay installed, not upgraded): ${list(cordoned)}`);
  if (offline.length > 0) lines.push(`offline (nothing reaches them; power still planned): ${list(offline)}`);
  if (retired.length > 0) lines.push(`retired (removed from the cluster, uninstalled when they answer): ${list(retired)}`);
  return lines;
}

/** The plan for a terminal. */
export function planText(plan: FarmPlan): string {
  return docText(planDoc(plan));
}

/** The plan as Markdown, for a ticket or a PR comment. */
export function planMarkdown(plan: FarmPlan): string {
  return docMarkdown(planDoc(plan));
}
