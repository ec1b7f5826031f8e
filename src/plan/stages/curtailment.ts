/**
 * Stage 6 of `planFarm`: for every non-firm feed, what can be shed when the utility calls,
 * in which stages and how fast (`curtail.ts`).
 */
import type { SiteSpec } from "../../site/schema.js";
import { cmpStr } from "../allocate.js";
import { curtailmentStages } from "../curtail.js";
import type { FeedCurtailment, FeedLoad, PlannedAsic } from "../types.js";
import type { PowerAllocation } from "./caps.js";
import type { PoolGroups } from "./pools.js";
import type { ResolvedMachine } from "./resolve.js";

/**
 * The curtailment plan of each non-firm feed, in site order: ASICs off, GPU caps to their
 * minimum, then jobs drained, with the facility watts each stage sheds (`curtailmentStages`)
 * and what stays on after the last stage.
 */
export function planCurtailment(
  site: SiteSpec,
  machines: readonly ResolvedMachine[],
  power: PowerAllocation,
  pools: PoolGroups,
  asics: readonly PlannedAsic[],
  feeds: readonly FeedLoad[],
): FeedCurtailment[] {
  const pue = site.power.pue;
  const byFeed: ResolvedMachine[][] = site.power.feeds.map(() => []);
  for (const r of machines) byFeed[r.feed]!.push(r);
  const apiOf = new Map(asics.map((a) => [a.hostname, a.minerApi]));
  const curtailment: FeedCurtailment[] = [];
  site.power.feeds.forEach((f, fi) => {
    if (f.tier === "firm") return;
    let asicW = 0;
    let capsW = 0;
    let drainW = 0;
    const asicHosts: string[] = [];
    const feedPools = new Set<string>();
    for (const r of byFeed[fi]!) {
      if (r.role === "asic") {
        asicW += power.wallOf.get(r.index)!;
        asicHosts.push(r.hostname);
      } else if (r.role === "gpu") {
        const g = r.gpu!;
        capsW += (r.gpuCount * (power.capOf.get(r.index)! - g.minWatts)) / r.psuEfficiency;
        drainW += (r.gpuCount * Math.max(0, g.minWatts - g.idleWatts)) / r.psuEfficiency;
        feedPools.add(pools.poolOf.get(r.index)!.name);
      }
    }
    const poolList = [...feedPools].sort(cmpStr);
    const stages = curtailmentStages({
      responseTimeSeconds: f.curtailment?.responseTimeSeconds ?? null,
      asicFacilityWatts: asicW * pue,
      capsToMinFacilityWatts: capsW * pue,
      drainFacilityWatts: drainW * pue,
      asicHostnames: asicHosts.sort(cmpStr),
      // Webhook or manual miners: no read-back, so no measured time (src/plan/curtail.ts).
      unconfirmedAsics: asicHosts.filter((h) => (apiOf.get(h)?.driver ?? "webhook") === "webhook").length,
      pools: poolList,
    });
    curtailment.push({
      feed: f.name,
      tier: f.tier,
      responseTimeSeconds: f.curtailment?.responseTimeSeconds ?? null,
      windows: (f.curtailment?.windows ?? []).map((w) => ({ name: w.name, schedule: w.schedule, durationMinutes: w.durationMinutes })),
      asicWebhook: f.curtailment?.asicWebhookUrl ?? null,
      pools: poolList,
      clusterQueues: poolList.length > 0 ? [f.tier] : [],
      stages,
      residualWatts: Math.max(0, feeds[fi]!.facilityWatts - stages[stages.length - 1]!.cumulativeShedWatts),
    });
  });
  return curtailment;
}
