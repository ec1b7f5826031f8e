/**
 * Curtailment: CronJobs that shed a non-firm feed's load at the start of each scheduled
 * window (e.g. ERCOT 4CP afternoons) in the plan's stage order, and restore it at the end.
 *
 * Each job runs the curtailment controller (src/runtime/curtail/) from the runtime bundle
 * on the pinned stock Node image: `node /opt/mine2hpc/runtime.mjs curtail start|end --feed F`.
 * It commands every miner through its firmware's API (read back), lowers GPU caps through the
 * override label (confirmed by the power agents' condition), holds and drains the tier's
 * ClusterQueues, posts an Event with the confirmed kW and fails (Job retry) when a stage
 * falls short. Targets come from a ConfigMap (`<feed>.targets.json`: addresses and watts, no
 * secret); miner credentials from the Secret {@link MINER_CREDENTIALS_SECRET}, mounted as a file.
 */
import { createHash } from "node:crypto";
import { LABELS, POWER_UNVERIFIED_TAINT, type FarmPlan } from "../plan/types.js";
import { IMAGES, NAMESPACES } from "./versions.js";
import { compareStrings, objectMeta, type K8sObject } from "./objects.js";
import { RUNTIME_BUNDLE, RUNTIME_MOUNT_PATH, RUNTIME_SHA_ANNOTATION, runtimeCommand } from "./runtime-bundle.js";
import { POWER_AGENT_NAME } from "./power-agent.js";
// The same module the job parses the targets with, so the file format cannot drift; pure (plan in, JSON data out).
import { feedTargets } from "../runtime/curtail/targets.js";
import { CREDENTIALS_DIR, TARGETS_DIR, targetsKey } from "../runtime/curtail/command.js";
import { CREDENTIALS_KEY } from "../runtime/curtail/credentials.js";

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

/** Secret with the miners' API credentials (file {@link CREDENTIALS_KEY}); optional in the pod: LuxOS and webhooks need none. */
export const MINER_CREDENTIALS_SECRET = "mine2hpc-miner-credentials";

/**
 * ConfigMap the curtailment jobs mount the runtime bundle from: the power agent's, which carries
 * the same bundle and is rendered with these objects on every site (PowerPools renders both, also
 * where no GPU node runs the agent). One copy of the ~110 KB bundle instead of two, in the cluster
 * and in Pulumi's state, where a ConfigMap is kept three times (issue 11).
 */
export const CURTAILMENT_RUNTIME_CONFIGMAP = POWER_AGENT_NAME;


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

/** Miner credentials as the Secret holds them: most specific entry wins (src/runtime/curtail/credentials.ts). */
export interface MinerCredentialsSpec {
  default?: { user: string; password: string };
  byDriver?: Record<string, { user: string; password: string }>;
  byHost?: Record<string, { user: string; password: string }>;
}

/**
 * The Secret the curtailment jobs mount: {@link MINER_CREDENTIALS_SECRET} with one file,
 * `credentials.yaml` (JSON, which is YAML), in `stringData`. Called by the Pulumi program
 * with the stack's secret config; never rendered into goldens, plans or ConfigMaps.
 */
export function renderMinerCredentialsSecret(credentials: MinerCredentialsSpec): K8sObject {
  const sorted = (r: Record<string, { user: string; password: string }> | undefined) =>
    r === undefined ? undefined : Object.fromEntries(Object.entries(r).sort(([a], [b]) => compareStrings(a, b)).map(([k, v]) => [k, { user: v.user, password: v.password }]));
  const body = {
    ...(credentials.default ? { default: { user: credentials.default.user, password: credentials.default.password } } : {}),
    ...(credentials.byDriver ? { byDriver: sorted(credentials.byDriver) } : {}),
    ...(credentials.byHost ? { byHost: sorted(credentials.byHost) } : {}),
  };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: objectMeta(MINER_CREDENTIALS_SECRET, { namespace: NAMESPACES.mine2hpc, labels: { "app.kubernetes.io/name": CURTAILMENT_NAME, "app.kubernetes.io/component": "curtailment" } }),
    type: "Opaque",
    stringData: { [CREDENTIALS_KEY]: `${JSON.stringify(body, null, 2)}\n` },
  };
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

  const data: Record<string, string> = {};
  const nodes = new Set<string>();
  const queues = new Set<string>();
  const cronJobs: K8sObject[] = [];
  for (const c of [...feeds].sort((a, b) => compareStrings(a.feed, b.feed))) {
    const t = feedTargets(plan, c.feed)!;
    // Compact JSON: the job parses it, and the ConfigMap is kept three times in Pulumi's state.
    data[targetsKey(c.feed)] = `${JSON.stringify(t)}\n`;
    t.gpuNodes.forEach((n) => nodes.add(n.hostname));
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
    // The summary Event on the job's own pod: create in this namespace only.
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(true), rules: [{ apiGroups: [""], resources: ["events"], verbs: ["create"] }] },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: meta(true),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: CURTAILMENT_NAME },
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
            // The bundle's sha256: a Job started after a bundle change visibly runs the new code.
            metadata: { labels: podLabels, annotations: { [RUNTIME_SHA_ANNOTATION]: RUNTIME_BUNDLE.sha256 } },
            spec: {
              serviceAccountName: CURTAILMENT_NAME,
              restartPolicy: "Never",
              // The credentials file is root-owned, mode 0440: group 65534 lets the non-root process read it.
              securityContext: { fsGroup: 65534 },
              // No power-tier toleration: the job runs on firm nodes, not on the ones it drains.
              // It uses no GPU, so a node whose caps are not yet verified may run it.
              tolerations: [{ key: POWER_UNVERIFIED_TAINT.key, operator: "Exists", effect: POWER_UNVERIFIED_TAINT.effect }],
              containers: [
                {
                  name: "curtail",
                  image: IMAGES.runtime,
                  imagePullPolicy: "IfNotPresent",
                  command: runtimeCommand("curtail"),
                  args: [o.phase, "--feed", o.feed],
                  env: [
                    {
                      name: "ASIC_WEBHOOK_URL",
                      valueFrom: { configMapKeyRef: { name: ASIC_WEBHOOK_CONFIGMAP, key: ASIC_WEBHOOK_KEY, optional: true } },
                    },
                    // The summary Event is about this pod (downward API).
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                    { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
                  ],
                  securityContext: {
                    runAsNonRoot: true,
                    runAsUser: 65534,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  // Thousands of miner connections (200 in flight) fit in this; measured by bench/miners.ts.
                  resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
                  volumeMounts: [
                    { name: "runtime", mountPath: RUNTIME_MOUNT_PATH, readOnly: true },
                    { name: "targets", mountPath: TARGETS_DIR, readOnly: true },
                    { name: "credentials", mountPath: CREDENTIALS_DIR, readOnly: true },
                  ],
                },
              ],
              volumes: [
                { name: "runtime", configMap: { name: CURTAILMENT_RUNTIME_CONFIGMAP, defaultMode: 0o444 } },
                { name: "targets", configMap: { name: CURTAILMENT_NAME } },
                // Optional: a site whose miners are LuxOS or behind a webhook needs no credentials.
                { name: "credentials", secret: { secretName: MINER_CREDENTIALS_SECRET, optional: true, defaultMode: 0o440 } },
              ],
            },
          },
        },
      },
    },
  };
}
