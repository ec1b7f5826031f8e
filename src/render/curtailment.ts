/**
 * Curtailment: CronJobs that shed a non-firm feed's load at the start of each scheduled
 * window (e.g. ERCOT 4CP afternoons) in the plan's stage order, and restore it at the end.
 *
 * The jobs only talk to the Kubernetes API: they lower the node cap labels (the power agent
 * applies them), set the tier ClusterQueue's `stopPolicy`, and — since Kubernetes cannot
 * power off ASIC miners — call an optional webhook of the site's fleet tool.
 */
import { createHash } from "node:crypto";
import { LABELS, type FarmPlan, type FeedCurtailment } from "../plan/types.js";
import { IMAGES, NAMESPACES } from "./versions.js";
import { compareStrings, objectMeta, type K8sObject } from "./objects.js";

/** Name of the curtailment ServiceAccount, ClusterRole(Binding) and ConfigMap. */
export const CURTAILMENT_NAME = "mine2hpc-curtailment";

/**
 * ConfigMap the site operator may create (not managed by mine2hpc, so `pulumi up` never
 * reverts it) with key {@link ASIC_WEBHOOK_KEY}: a URL that receives
 * `{"feed","action":"asics-off"|"asics-on","hosts":[…]}` as a JSON POST. Absent or empty:
 * the jobs log the ASIC hostnames and the fleet tool must act.
 */
export const ASIC_WEBHOOK_CONFIGMAP = "mine2hpc-curtailment-webhook";
/** Key of the webhook URL in {@link ASIC_WEBHOOK_CONFIGMAP}. */
export const ASIC_WEBHOOK_KEY = "asic-webhook-url";


/** CronJob names are limited to 52 characters (the controller appends an 11-character suffix). */
const CRONJOB_NAME_MAX = 52;

export { MANUAL_WINDOW, windowSchedules, type WindowSchedules } from "../site/cron.js";
import { MANUAL_WINDOW, windowSchedules } from "../site/cron.js";

/**
 * A DNS-safe CronJob name, shortened with a content hash when too long. `part` numbers the
 * further end CronJobs of a window whose end days need several schedules (`…-end-2`).
 */
function cronJobName(feed: string, window: string, phase: "start" | "end", part = 1): string {
  const full = `curtail-${feed}-${window}-${phase}${part > 1 ? `-${part}` : ""}`;
  if (full.length <= CRONJOB_NAME_MAX) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const tail = `-${hash}-${phase}${part > 1 ? `-${part}` : ""}`;
  return `${full.slice(0, CRONJOB_NAME_MAX - tail.length).replace(/-+$/, "")}${tail}`;
}

/** What the start/end jobs of one feed act on, as ConfigMap text files. */
interface FeedTargets {
  stages: string[];
  asics: string[];
  minCaps: [string, number][];
  clusterQueues: string[];
}

function feedTargets(plan: FarmPlan, c: FeedCurtailment): FeedTargets {
  const stages = [...c.stages].sort((a, b) => a.order - b.order);
  const asicSet = new Set<string>();
  const capPools = new Set<string>();
  const drainQueues = new Set<string>();
  const poolQueue = new Map(plan.pools.map((p) => [p.name, p.clusterQueue]));
  for (const s of stages) {
    if (s.action === "asics-off") s.targets.forEach((h) => asicSet.add(h));
    if (s.action === "gpu-caps-to-min") s.targets.forEach((p) => capPools.add(p));
    if (s.action === "drain-queue") {
      for (const pool of s.targets) {
        const q = poolQueue.get(pool);
        if (q === undefined) throw new Error(`curtailment of feed ${c.feed} drains pool ${pool}, which the plan does not have`);
        drainQueues.add(q);
      }
    }
  }
  // Only nodes on this feed: a pool may span feeds, and the other feed is not curtailed.
  const capped = plan.nodes
    .filter((n) => n.feed === c.feed && n.pool !== undefined && capPools.has(n.pool) && n.gpu !== undefined)
    .sort((a, b) => compareStrings(a.hostname, b.hostname));
  return {
    stages: stages.map((s) => s.action),
    asics: [...asicSet].sort(compareStrings),
    minCaps: capped.map((n) => [n.hostname, n.gpu!.minWatts]),
    clusterQueues: [...drainQueues].sort(compareStrings),
  };
}

const lines = (rows: string[]): string => (rows.length === 0 ? "" : `${rows.join("\n")}\n`);

/** The curtailment script, shared by every feed and window (`curtail.sh start|end FEED`). */
export function renderCurtailmentScript(): string {
  return `#!/usr/bin/env bash
# mine2hpc curtailment: sheds a feed's load at the start of a window and restores it at the end.
#   curtail.sh start FEED   run the feed's stages in plan order
#   curtail.sh end FEED     restore planned GPU caps, release the ClusterQueues, tell the fleet tool
# Targets come from DATA_DIR/FEED.{stages,asics,min-caps,cluster-queues,asic-webhook-url}.
# Caps are lowered through the override label, never the planned-cap label, so a
# \`pulumi up\` during a window (which owns the planned labels) does not undo the shedding.
# Every API call is an idempotent merge patch, so a retried Job does no harm.
set -euo pipefail

MODE="\${1:?usage: curtail.sh start|end FEED}"
FEED="\${2:?usage: curtail.sh start|end FEED}"
DATA_DIR="\${DATA_DIR:-/opt/mine2hpc}"
SA_DIR=/var/run/secrets/kubernetes.io/serviceaccount
API="https://\${KUBERNETES_SERVICE_HOST}:\${KUBERNETES_SERVICE_PORT}"
OVERRIDE_LABEL="${LABELS.gpuPowerCapOverride}"
FAILURES=0

log() {
  printf '%s curtail feed=%s mode=%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$FEED" "$MODE" "$*"
}

# Non-empty lines of one of the feed's data files (none when the file is absent).
data_lines() {
  local file="$DATA_DIR/$FEED.$1"
  if [[ -f "$file" ]]; then grep -v '^[[:space:]]*$' "$file" || true; fi
}

api_patch() {
  local path="$1" body="$2" token
  token="$(cat "$SA_DIR/token")"
  curl -fsS --max-time 20 --retry 3 --retry-delay 2 --cacert "$SA_DIR/ca.crt" \\
    -X PATCH -H "Authorization: Bearer \${token}" -H "Content-Type: application/merge-patch+json" \\
    --data "$body" "$API$path" >/dev/null
}

notify_fleet() {
  local action="$1" hosts=() host json url
  mapfile -t hosts < <(data_lines asics)
  if ((\${#hosts[@]} == 0)); then
    log "no ASIC miners on this feed"
    return 0
  fi
  # The operator's ConfigMap overrides the site file's URL (e.g. one that carries a token).
  url="\${ASIC_WEBHOOK_URL:-$(data_lines asic-webhook-url | head -n 1)}"
  if [[ -z "$url" ]]; then
    log "Kubernetes cannot power ASIC miners; the fleet tool must do \${action} for: \${hosts[*]}"
    return 0
  fi
  json=""
  for host in "\${hosts[@]}"; do json+="\${json:+,}\\"\${host}\\""; done
  if curl -fsS --max-time 30 --retry 3 -X POST -H "Content-Type: application/json" \\
    --data "{\\"feed\\":\\"\${FEED}\\",\\"action\\":\\"\${action}\\",\\"hosts\\":[\${json}]}" \\
    "$url" >/dev/null; then
    log "fleet webhook accepted \${action} for \${#hosts[@]} miners"
  else
    log "fleet webhook failed for \${action}; the fleet tool must act by hand: \${hosts[*]}"
    FAILURES=$((FAILURES + 1))
  fi
}

# Sets (start) or removes (end) every listed node's cap override label; the power agent
# on the node applies the override while it is present and the planned cap otherwise.
set_caps() {
  local action="$1" host watts value
  while read -r host watts; do
    if [[ "$action" == lower ]]; then value="\\"\${watts}\\""; else value=null; fi
    if api_patch "/api/v1/nodes/\${host}" "{\\"metadata\\":{\\"labels\\":{\\"\${OVERRIDE_LABEL}\\":\${value}}}}"; then
      log "node \${host}: \${OVERRIDE_LABEL}=\${value}"
    else
      log "node \${host}: patch failed"
      FAILURES=$((FAILURES + 1))
    fi
  done < <(data_lines min-caps)
}

set_stop_policy() {
  local policy="$1" queue
  while read -r queue; do
    if api_patch "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/\${queue}" "{\\"spec\\":{\\"stopPolicy\\":\\"\${policy}\\"}}"; then
      log "ClusterQueue \${queue}: stopPolicy=\${policy}"
    else
      log "ClusterQueue \${queue}: patch failed"
      FAILURES=$((FAILURES + 1))
    fi
  done < <(data_lines cluster-queues)
}

case "$MODE" in
  start)
    while read -r stage; do
      log "stage \${stage}"
      case "$stage" in
        asics-off) notify_fleet asics-off ;;
        gpu-caps-to-min) set_caps lower ;;
        drain-queue) set_stop_policy HoldAndDrain ;;
        *) log "unknown stage \${stage}"; FAILURES=$((FAILURES + 1)) ;;
      esac
    done < <(data_lines stages)
    ;;
  end)
    set_caps restore
    set_stop_policy None
    notify_fleet asics-on
    ;;
  *)
    echo "usage: curtail.sh start|end FEED" >&2
    exit 2
    ;;
esac

if ((FAILURES > 0)); then
  log "\${FAILURES} step(s) failed; the Job will retry"
  exit 1
fi
log "done"
`;
}

/**
 * ServiceAccount, ClusterRole (patch/get on exactly the nodes and ClusterQueues the jobs
 * touch), ClusterRoleBinding, ConfigMap (script + per-feed targets), and for every non-firm
 * feed with a window or something to shed: a suspended `manual` start/end CronJob pair (the
 * template `mine2hpc curtail` starts for an unscheduled dispatch) and a start and an end
 * CronJob per window. [] when no non-firm feed has either.
 * Lives in the power agent's namespace (rendered by {@link renderPowerAgent}).
 */
export function renderCurtailment(plan: FarmPlan): K8sObject[] {
  // Every non-firm feed with something to shed gets the objects, windows or not: its
  // suspended "manual" CronJobs are what `mine2hpc curtail` starts for an unscheduled dispatch.
  const feeds = plan.curtailment.filter((c) => c.tier !== "firm" && (c.windows.length > 0 || c.stages.some((st) => st.targets.length > 0)));
  if (feeds.length === 0) return [];
  const ns = NAMESPACES.mine2hpc;
  const appLabels = { "app.kubernetes.io/name": CURTAILMENT_NAME, "app.kubernetes.io/component": "curtailment" };

  const data: Record<string, string> = { "curtail.sh": renderCurtailmentScript() };
  const nodes = new Set<string>();
  const queues = new Set<string>();
  const cronJobs: K8sObject[] = [];
  for (const c of [...feeds].sort((a, b) => compareStrings(a.feed, b.feed))) {
    const t = feedTargets(plan, c);
    data[`${c.feed}.stages`] = lines(t.stages);
    data[`${c.feed}.asics`] = lines(t.asics);
    data[`${c.feed}.min-caps`] = lines(t.minCaps.map(([h, w]) => `${h} ${w}`));
    data[`${c.feed}.cluster-queues`] = lines(t.clusterQueues);
    data[`${c.feed}.asic-webhook-url`] = lines(c.asicWebhook === null ? [] : [c.asicWebhook]);
    t.minCaps.forEach(([h]) => nodes.add(h));
    t.clusterQueues.forEach((q) => queues.add(q));

    for (const phase of ["start", "end"] as const) {
      cronJobs.push(
        cronJob(plan, {
          name: cronJobName(c.feed, MANUAL_WINDOW, phase),
          feed: c.feed,
          window: MANUAL_WINDOW,
          phase,
          // Never fires on its own (suspended); a valid schedule is still required.
          schedule: "0 0 1 1 *",
          suspend: true,
          startingDeadlineSeconds: 3600,
          labels: appLabels,
        }),
      );
    }
    for (const w of [...c.windows].sort((a, b) => compareStrings(a.name, b.name))) {
      const schedules = windowSchedules(c.feed, w);
      // One start; the end may take several schedules (their union is the day after each start).
      const runs = [
        { phase: "start" as const, part: 1, schedule: schedules.start },
        ...schedules.end.map((schedule, i) => ({ phase: "end" as const, part: i + 1, schedule })),
      ];
      for (const { phase, part, schedule } of runs) {
        cronJobs.push(
          cronJob(plan, {
            name: cronJobName(c.feed, w.name, phase, part),
            feed: c.feed,
            window: w.name,
            phase,
            schedule,
            // Late is better than never inside the window; an end job may run up to an hour late.
            startingDeadlineSeconds: phase === "start" ? Math.min(w.durationMinutes * 60, 3600) : 3600,
            labels: appLabels,
          }),
        );
      }
    }
  }

  const rules: Record<string, unknown>[] = [];
  if (nodes.size > 0) {
    rules.push({ apiGroups: [""], resources: ["nodes"], resourceNames: [...nodes].sort(compareStrings), verbs: ["get", "patch"] });
  }
  if (queues.size > 0) {
    rules.push({
      apiGroups: ["kueue.x-k8s.io"],
      resources: ["clusterqueues"],
      resourceNames: [...queues].sort(compareStrings),
      verbs: ["get", "patch"],
    });
  }
  const meta = (namespaced: boolean) => objectMeta(CURTAILMENT_NAME, { ...(namespaced ? { namespace: ns } : {}), labels: appLabels });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(true) },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: meta(false), rules },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: meta(false),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: CURTAILMENT_NAME },
      subjects: [{ kind: "ServiceAccount", name: CURTAILMENT_NAME, namespace: ns }],
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(true), data },
    ...cronJobs,
  ];
}

function cronJob(
  plan: FarmPlan,
  o: {
    name: string;
    feed: string;
    window: string;
    phase: "start" | "end";
    schedule: string;
    startingDeadlineSeconds: number;
    labels: Record<string, string>;
    /** A suspended CronJob never runs on schedule; Jobs are created from it by hand (`mine2hpc curtail`). */
    suspend?: boolean;
  },
): K8sObject {
  const podLabels = { ...o.labels, "app.kubernetes.io/part-of": "mine2hpc", "mine2hpc.io/feed": o.feed };
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: objectMeta(o.name, {
      namespace: NAMESPACES.mine2hpc,
      labels: { ...o.labels, [LABELS.feed]: o.feed },
      annotations: { "mine2hpc.io/window": o.window, "mine2hpc.io/phase": o.phase },
    }),
    spec: {
      schedule: o.schedule,
      ...(o.suspend ? { suspend: true } : {}),
      timeZone: plan.site.timezone,
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: o.startingDeadlineSeconds,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 900,
          ttlSecondsAfterFinished: 7 * 24 * 3600,
          template: {
            metadata: { labels: podLabels },
            spec: {
              serviceAccountName: CURTAILMENT_NAME,
              restartPolicy: "Never",
              // No power-tier toleration: the job runs on firm nodes, not on the ones it drains.
              containers: [
                {
                  name: "curtail",
                  image: IMAGES.agent,
                  imagePullPolicy: "IfNotPresent",
                  command: ["/bin/bash", "/opt/mine2hpc/curtail.sh", o.phase, o.feed],
                  env: [
                    {
                      name: "ASIC_WEBHOOK_URL",
                      valueFrom: { configMapKeyRef: { name: ASIC_WEBHOOK_CONFIGMAP, key: ASIC_WEBHOOK_KEY, optional: true } },
                    },
                  ],
                  securityContext: {
                    runAsNonRoot: true,
                    runAsUser: 65534,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
                  volumeMounts: [{ name: "curtailment", mountPath: "/opt/mine2hpc", readOnly: true }],
                },
              ],
              volumes: [{ name: "curtailment", configMap: { name: CURTAILMENT_NAME } }],
            },
          },
        },
      },
    },
  };
}
