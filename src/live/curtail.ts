/**
 * The pure part of `mine2hpc curtail`: which rendered CronJob carries a feed's start or end
 * job, and the Job that runs it now — what `kubectl create job --from=cronjob/NAME` builds,
 * so the CronJob controller and people see the same kind of object either way.
 *
 * No I/O and no clock here: the caller passes the time, the tests pass a fixed one.
 */
import { LABELS } from "../plan/types.js";
import type { K8sObject } from "../render/objects.js";
import { MANUAL_WINDOW } from "../render/curtailment.js";

/** Annotation `kubectl create job --from=cronjob/…` sets; tools read it to tell manual runs from scheduled ones. */
export const INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate";

/** Annotation the curtailment renderer puts on each CronJob: `start` or `end`. */
export const PHASE_ANNOTATION = "mine2hpc.io/phase";

/** Annotation the curtailment renderer puts on each CronJob: the window it belongs to. */
export const WINDOW_ANNOTATION = "mine2hpc.io/window";

/** Job names become the `batch.kubernetes.io/job-name` label of its pods, and label values are at most 63 characters. */
export const JOB_NAME_MAX = 63;

/** Which half of a curtailment: shed the feed's load, or restore it. */
export type CurtailPhase = "start" | "end";

/**
 * The CronJob fields a manual Job is built from. Both a rendered CronJob and one read from
 * the API (as plain JSON) fit; `uid` exists only on the live one.
 */
export interface CronJobSource {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    jobTemplate: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: Record<string, unknown>;
    };
  };
}

/** The batch/v1 Job a manual run creates (plain JSON, what the API receives). */
export interface ManualJob extends K8sObject {
  apiVersion: "batch/v1";
  kind: "Job";
  metadata: K8sObject["metadata"] & {
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean }[];
  };
  spec: Record<string, unknown>;
}

/** `YYYYMMDDhhmmss` in UTC: sorts in time order and reads the same in every time zone. */
export function utcStamp(at: Date): string {
  const p = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
}

/**
 * `<cronjob>-manual-<UTC yyyymmddhhmmss>`, at most {@link JOB_NAME_MAX} characters. When too
 * long the CronJob part is shortened, not the stamp: two calls a minute apart must not get
 * the same name (the second create would fail with AlreadyExists).
 */
export function manualJobName(cronJobName: string, at: Date): string {
  const suffix = `-manual-${utcStamp(at)}`;
  const head = cronJobName.length + suffix.length <= JOB_NAME_MAX ? cronJobName : cronJobName.slice(0, JOB_NAME_MAX - suffix.length).replace(/-+$/, "");
  return `${head}${suffix}`;
}

/** Keys sorted, so the printed and sent objects are the same byte for byte run to run. */
function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The Job that runs `cronJob`'s template now, named `name`. Like kubectl's `--from=cronjob`:
 * the template's spec unchanged, its annotations plus `instantiate: manual`, and — when the
 * CronJob came from the API and so has a uid — a controller ownerReference to it, so the
 * CronJob's `concurrencyPolicy: Forbid` and history limits count the manual run too and
 * deleting the CronJob deletes it. Labels: the CronJob's own (feed, component: the rendered
 * template has none of its own) with the template's winning, so
 * `kubectl get jobs -l mine2hpc.io/feed=FEED` lists scheduled and manual runs alike.
 */
export function jobFromCronJob(cronJob: CronJobSource, name: string): ManualJob {
  const template = cronJob.spec.jobTemplate;
  const labels = sortedRecord({ ...(cronJob.metadata.labels ?? {}), ...(template.metadata?.labels ?? {}) });
  const annotations = sortedRecord({ ...(template.metadata?.annotations ?? {}), [INSTANTIATE_ANNOTATION]: "manual" });
  const metadata: ManualJob["metadata"] = {
    name,
    ...(cronJob.metadata.namespace !== undefined ? { namespace: cronJob.metadata.namespace } : {}),
    labels,
    annotations,
  };
  if (cronJob.metadata.uid !== undefined) {
    metadata.ownerReferences = [{ apiVersion: "batch/v1", kind: "CronJob", name: cronJob.metadata.name, uid: cronJob.metadata.uid, controller: true }];
  }
  return { apiVersion: "batch/v1", kind: "Job", metadata, spec: structuredClone(template.spec) };
}

/**
 * The rendered CronJob that runs `phase` for `feed`: the feed's suspended `manual` one, which
 * exists whether or not the feed has windows; else (objects rendered before the manual
 * CronJobs existed) the one of the first window by name — every CronJob of a feed runs the
 * same `curtail.sh PHASE FEED`, only the schedule differs.
 * Found by its feed label and phase annotation, not by rebuilding its name, so a change to
 * the renderer's naming cannot make `curtail` look for a CronJob that does not exist.
 * Undefined for a firm or unknown feed, and for a feed with neither a window nor anything
 * to shed (the renderer makes no CronJob for it then).
 */
export function findCurtailmentCronJob(objects: readonly K8sObject[], feed: string, phase: CurtailPhase): K8sObject | undefined {
  return objects
    .filter((o) => o.kind === "CronJob" && o.metadata.labels?.[LABELS.feed] === feed && o.metadata.annotations?.[PHASE_ANNOTATION] === phase)
    .sort((a, b) => {
      // The feed's suspended manual CronJob first; else the first window by name.
      const wa = a.metadata.annotations?.[WINDOW_ANNOTATION] ?? "";
      const wb = b.metadata.annotations?.[WINDOW_ANNOTATION] ?? "";
      if ((wa === MANUAL_WINDOW) !== (wb === MANUAL_WINDOW)) return wa === MANUAL_WINDOW ? -1 : 1;
      return wa < wb ? -1 : wa > wb ? 1 : 0;
    })[0];
}
