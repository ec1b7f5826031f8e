/**
 * The pure part of `mine2hpc curtail`: the manual Job's name and object, built from a
 * curtailment CronJob the way `kubectl create job --from=cronjob/NAME` builds it.
 */
import { describe, expect, it } from "vitest";
import {
  INSTANTIATE_ANNOTATION,
  JOB_NAME_MAX,
  findCurtailmentCronJob,
  jobFromCronJob,
  manualJobName,
  utcStamp,
  WINDOW_ANNOTATION,
  type CronJobSource,
} from "../src/live/curtail.js";
import { renderCurtailment } from "../src/render/curtailment.js";
import { IMAGES } from "../src/render/versions.js";
import { RUNTIME_BUNDLE } from "../src/render/runtime-bundle.js";
import { samplePlan } from "./helpers/sample-plan.js";

const AT = new Date(Date.UTC(2026, 0, 5, 7, 8, 9));

describe("manualJobName", () => {
  it("appends -manual- and the UTC time, zero-padded", () => {
    expect(utcStamp(AT)).toBe("20260105070809");
    expect(manualJobName("curtail-grid-flex-4cp-afternoon-start", AT)).toBe("curtail-grid-flex-4cp-afternoon-start-manual-20260105070809");
  });

  it("uses UTC whatever the local zone (a dispatch at 23:30 Central is the next day's stamp)", () => {
    expect(utcStamp(new Date("2026-07-01T23:30:05-05:00"))).toBe("20260702043005");
  });

  it("keeps the stamp and shortens the CronJob part to 63 characters, without a trailing dash", () => {
    // CronJob names reach 52 characters; the suffix is 22, so 41 remain for the CronJob part.
    const name = manualJobName("curtail-a-very-long-feed-name-winter-m-1a2b3c4d-end", AT);
    expect(name).toBe("curtail-a-very-long-feed-name-winter-m-1a-manual-20260105070809");
    expect(name).toHaveLength(JOB_NAME_MAX);
    // Cut after "dashx-": the dash goes, a name part must not end with one.
    expect(manualJobName("curtail-feed-window-cut-right-at-a-dashx-yz-start", AT)).toBe("curtail-feed-window-cut-right-at-a-dashx-manual-20260105070809");
  });
});

describe("findCurtailmentCronJob", () => {
  const plan = samplePlan();
  plan.curtailment[0]!.windows.push({ name: "winter-morning", schedule: "0 6 * 1,2,12 1-5", durationMinutes: 180 });
  const objects = renderCurtailment(plan);

  it("picks the feed's suspended manual CronJob for the phase, whatever the object order", () => {
    expect(findCurtailmentCronJob([...objects].reverse(), "grid-flex", "start")?.metadata.name).toBe("curtail-grid-flex-manual-start");
    expect(findCurtailmentCronJob(objects, "grid-flex", "end")?.metadata.name).toBe("curtail-grid-flex-manual-end");
    expect(findCurtailmentCronJob(objects, "grid-flex", "start")?.metadata.annotations).toEqual({ "mine2hpc.io/phase": "start", "mine2hpc.io/window": "manual" });
  });

  it("falls back to the first window by name when there is no manual CronJob (objects rendered before it existed)", () => {
    const windowsOnly = objects.filter((o) => o.metadata.annotations?.[WINDOW_ANNOTATION] !== "manual");
    expect(windowsOnly.filter((o) => o.kind === "CronJob").map((o) => o.metadata.name)).toEqual([
      "curtail-grid-flex-4cp-afternoon-start",
      "curtail-grid-flex-4cp-afternoon-end",
      "curtail-grid-flex-winter-morning-start",
      "curtail-grid-flex-winter-morning-end",
    ]);
    expect(findCurtailmentCronJob([...windowsOnly].reverse(), "grid-flex", "start")?.metadata.name).toBe("curtail-grid-flex-4cp-afternoon-start");
    expect(findCurtailmentCronJob(windowsOnly, "grid-flex", "end")?.metadata.name).toBe("curtail-grid-flex-4cp-afternoon-end");
  });

  it("finds the manual CronJob of a feed without windows", () => {
    const noWindows = samplePlan();
    noWindows.curtailment[0]!.windows = [];
    const rendered = renderCurtailment(noWindows);
    expect(rendered.filter((o) => o.kind === "CronJob").map((o) => o.metadata.name)).toEqual(["curtail-grid-flex-manual-start", "curtail-grid-flex-manual-end"]);
    expect(findCurtailmentCronJob(rendered, "grid-flex", "start")?.metadata.name).toBe("curtail-grid-flex-manual-start");
    expect(findCurtailmentCronJob(rendered, "grid-flex", "end")?.metadata.name).toBe("curtail-grid-flex-manual-end");
  });

  it("finds nothing for a firm feed, an unknown feed, or a feed with no window and nothing to shed", () => {
    expect(findCurtailmentCronJob(objects, "grid-firm", "start")).toBeUndefined();
    expect(findCurtailmentCronJob(objects, "no-such-feed", "end")).toBeUndefined();
    const idle = samplePlan();
    idle.curtailment[0]!.windows = [];
    for (const s of idle.curtailment[0]!.stages) s.targets = [];
    expect(renderCurtailment(idle)).toEqual([]);
    expect(findCurtailmentCronJob(renderCurtailment(idle), "grid-flex", "start")).toBeUndefined();
  });
});

describe("jobFromCronJob", () => {
  const rendered = findCurtailmentCronJob(renderCurtailment(samplePlan()), "grid-flex", "start")!;
  const live = { ...rendered, metadata: { ...rendered.metadata, uid: "0b5e1f7c-1111-4a2b-9c3d-222233334444" } } as unknown as CronJobSource;

  it("builds the Job kubectl create job --from=cronjob builds, with the CronJob's labels", () => {
    const job = jobFromCronJob(live, "curtail-grid-flex-manual-start-manual-20260105070809");
    expect(job).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "curtail-grid-flex-manual-start-manual-20260105070809",
        namespace: "mine2hpc-system",
        labels: {
          "app.kubernetes.io/component": "curtailment",
          "app.kubernetes.io/managed-by": "mine2hpc",
          "app.kubernetes.io/name": "mine2hpc-curtailment",
          "app.kubernetes.io/part-of": "mine2hpc",
          "mine2hpc.io/feed": "grid-flex",
        },
        annotations: { "cronjob.kubernetes.io/instantiate": "manual" },
        ownerReferences: [
          { apiVersion: "batch/v1", kind: "CronJob", name: "curtail-grid-flex-manual-start", uid: "0b5e1f7c-1111-4a2b-9c3d-222233334444", controller: true },
        ],
      },
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 900,
        ttlSecondsAfterFinished: 604800,
        template: {
          metadata: {
            labels: {
              "app.kubernetes.io/name": "mine2hpc-curtailment",
              "app.kubernetes.io/component": "curtailment",
              "app.kubernetes.io/part-of": "mine2hpc",
              "mine2hpc.io/feed": "grid-flex",
            },
            annotations: { "mine2hpc.io/runtime-sha256": RUNTIME_BUNDLE.sha256 },
          },
          spec: {
            serviceAccountName: "mine2hpc-curtailment",
            restartPolicy: "Never",
            securityContext: { fsGroup: 65534 },
            tolerations: [{ key: "mine2hpc.io/power-unverified", operator: "Exists", effect: "NoSchedule" }],
            containers: [
              {
                name: "curtail",
                image: IMAGES.runtime,
                imagePullPolicy: "IfNotPresent",
                command: ["node", "/opt/mine2hpc/runtime.mjs", "curtail"],
                args: ["start", "--feed", "grid-flex"],
                env: [
                  {
                    name: "ASIC_WEBHOOK_URL",
                    valueFrom: { configMapKeyRef: { name: "mine2hpc-curtailment-webhook", key: "asic-webhook-url", optional: true } },
                  },
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
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "256Mi" } },
                volumeMounts: [
                  { name: "runtime", mountPath: "/opt/mine2hpc", readOnly: true },
                  { name: "targets", mountPath: "/etc/mine2hpc/curtailment", readOnly: true },
                  { name: "credentials", mountPath: "/etc/mine2hpc/miner-credentials", readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "runtime", configMap: { name: "mine2hpc-power-agent", defaultMode: 0o444 } },
              { name: "targets", configMap: { name: "mine2hpc-curtailment" } },
              { name: "credentials", secret: { secretName: "mine2hpc-miner-credentials", optional: true, defaultMode: 0o440 } },
            ],
          },
        },
      },
    });
    // Sorted keys: the printed YAML and the request body are stable run to run.
    expect(Object.keys(job.metadata.labels!)).toEqual([...Object.keys(job.metadata.labels!)].sort());
  });

  it("copies the template's spec, so changing the Job leaves the CronJob alone", () => {
    const job = jobFromCronJob(live, "x");
    (job.spec as { backoffLimit: number }).backoffLimit = 0;
    expect((live.spec.jobTemplate.spec as { backoffLimit: number }).backoffLimit).toBe(3);
  });

  it("has no ownerReference without a uid (a rendered, not yet applied CronJob)", () => {
    const job = jobFromCronJob(rendered as unknown as CronJobSource, "x");
    expect(job.metadata.ownerReferences).toBeUndefined();
    expect(Object.keys(job.metadata)).toEqual(["name", "namespace", "labels", "annotations"]);
  });

  it("lets the template's labels and annotations win, but always marks the run manual", () => {
    const cron: CronJobSource = {
      metadata: { name: "c", namespace: "ns", uid: "u", labels: { a: "cron", b: "cron" } },
      spec: {
        jobTemplate: {
          metadata: { labels: { b: "template" }, annotations: { [INSTANTIATE_ANNOTATION]: "scheduled", note: "kept" } },
          spec: { backoffLimit: 1 },
        },
      },
    };
    expect(jobFromCronJob(cron, "c-manual-1")).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "c-manual-1",
        namespace: "ns",
        labels: { a: "cron", b: "template" },
        annotations: { [INSTANTIATE_ANNOTATION]: "manual", note: "kept" },
        ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: "c", uid: "u", controller: true }],
      },
      spec: { backoffLimit: 1 },
    });
  });
});
