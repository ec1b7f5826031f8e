/**
 * Cross-field checks of a schema-valid site: what zod cannot see one field at a time
 * (catalog lookups, uniqueness, references between feeds, circuits and machines, address
 * plans). Every problem carries a `path`; the loader turns it into file:line.
 *
 * Problems come out in document order of a site written top to bottom (metadata, power,
 * network, machines, then whole-site checks), and within a list in list order, so the
 * output is deterministic and reads like the file.
 */
import { quoted } from "./input.js";
import { TZ_NAMES } from "./tz-names.js";
import { resolvePartitions } from "./partitions.js";
import {
  ASICS,
  GPUS,
  isAmdGpuName,
  MODEL_MIN_FRACTION,
  nearestName,
  normalizeModelName,
  relativeThroughput,
  siteCatalog,
  spellingsOf,
  type AsicSpec,
  type GpuSpec,
  type HardwareCatalog,
} from "./catalog.js";
import { formatRange, parseAddressPool, parseCidr, parseIpv4, rangeContains, rangesOverlap, rangeWithin, type Ipv4Range } from "./net.js";
import type { Problem } from "./problems.js";
import type { SiteSpec } from "./schema.js";
import { MANUAL_WINDOW, windowProblems } from "./cron.js";

/** The cross-field problems of a site's `catalog` block alone (what `validateSite` reports for it). */
export function validateCatalog(spec: Pick<SiteSpec, "catalog">): Problem[] {
  const problems: Problem[] = [];
  checkCatalog(spec, problems);
  return problems;
}

/** Options of {@link validateSite}. */
export interface ValidateOptions {
  /**
   * Indices of machines that failed the schema (their problems are reported already). They
   * are left out of every cross-field check, and the control-plane count, which they could
   * change, is not checked, so a person sees a site's other problems in the same run.
   */
  skipMachines?: ReadonlySet<number>;
  /**
   * Strict mode (`validate --strict`, CI): a machine pulumi up would reach over SSH without a
   * pinned host key is an error instead of a plan warning.
   * @default false
   */
  strict?: boolean;
}

/** Returns every cross-field problem of `spec` (empty when the site is sound). */
export function validateSite(spec: SiteSpec, opts: ValidateOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const skip = opts.skipMachines ?? new Set<number>();
  checkTimezone(spec, problems);
  checkApiEndpoint(spec, problems);
  const feedNames = checkFeeds(spec, problems);
  const circuitIds = checkCircuits(spec, feedNames, problems);
  const nodeSubnet = checkNetwork(spec, skip, problems);
  checkTenants(spec, problems);
  checkCatalog(spec, problems);
  checkMachines(spec, skip, circuitIds, nodeSubnet, problems);
  checkLifecycle(spec, skip, opts.strict === true, problems);
  checkMirror(spec, problems);
  resolvePartitions(spec, problems, skip);
  if (skip.size === 0) checkControlPlane(spec, problems);
  return problems;
}

/**
 * True when Kubernetes accepts `zone` as a CronJob `timeZone` (an exact, case-sensitive name
 * of the IANA tz database: see tz-names.ts) and Node can compute its offsets (the curtailment
 * windows are simulated in it).
 */
export function isValidTimeZone(zone: string): boolean {
  if (!TZ_NAMES.has(zone)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Abbreviations people write for a zone (ICU accepts several; none is an IANA zone name, and
 * an abbreviation names no daylight-saving rule): the zone a site most likely means.
 */
const ZONE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  CST: "America/Chicago",
  CDT: "America/Chicago",
  CT: "America/Chicago",
  EDT: "America/New_York",
  ET: "America/New_York",
  MDT: "America/Denver",
  MT: "America/Denver",
  PST: "America/Los_Angeles",
  PDT: "America/Los_Angeles",
  PT: "America/Los_Angeles",
  AKST: "America/Anchorage",
  BST: "Europe/London",
  CEST: "Europe/Berlin",
  EEST: "Europe/Helsinki",
  IST: "Asia/Kolkata",
  JST: "Asia/Tokyo",
  KST: "Asia/Seoul",
  AEST: "Australia/Sydney",
  AEDT: "Australia/Sydney",
  NZST: "Pacific/Auckland",
};

function checkTimezone(spec: SiteSpec, problems: Problem[]): void {
  const zone = spec.metadata.timezone;
  if (isValidTimeZone(zone)) return;
  const path = ["metadata", "timezone"];
  const names = [...TZ_NAMES];
  if (zone === "Local" || zone.toLowerCase() === "local") {
    problems.push({ message: "timezone 'Local' is not allowed: Kubernetes refuses it for CronJobs (it would be the server's own zone)", fix: "name the site's zone, e.g. America/Chicago", path });
    return;
  }
  if (/^(posix|right)\//.test(zone) && TZ_NAMES.has(zone.replace(/^(posix|right)\//, ""))) {
    const plain = zone.replace(/^(posix|right)\//, "");
    problems.push({ message: `timezone ${quoted(zone)} is a copy some systems install, not an IANA zone name; Go's embedded zone database lacks it`, fix: `use '${plain}'`, path });
    return;
  }
  const sameLetters = names.find((z) => z.toLowerCase() === zone.toLowerCase());
  if (sameLetters !== undefined) {
    problems.push({
      message: `timezone ${quoted(zone)} is not an IANA zone name: names are case-sensitive, and Kubernetes (Go's time.LoadLocation) refuses it although Node accepts it`,
      fix: `write '${sameLetters}'`,
      path,
    });
    return;
  }
  const meant = ZONE_ABBREVIATIONS[zone.toUpperCase()];
  if (meant !== undefined) {
    problems.push({
      message: `timezone ${quoted(zone)} is an abbreviation, not an IANA zone name; Kubernetes refuses it for CronJobs, and an abbreviation carries no daylight-saving rule`,
      fix: `use the zone of the site's location, e.g. '${meant}'`,
      path,
    });
    return;
  }
  const guess = nearestZone(zone, names);
  problems.push({
    message: `timezone ${quoted(zone)} is not in the IANA time zone database, so Kubernetes would refuse the curtailment CronJobs`,
    fix: guess ? `use '${guess}'` : "use an IANA zone name such as America/Chicago or Europe/Oslo (the list: https://en.wikipedia.org/wiki/List_of_tz_database_time_zones)",
    path,
  });
}

function nearestZone(zone: string, zones: readonly string[]): string | undefined {
  // Compare with the lowercased names so `america/chicgo` still finds America/Chicago.
  const lower = zones.map((z) => z.toLowerCase().replace(/[\s_-]+/g, "-"));
  const hit = nearestName(zone.toLowerCase().replace(/[\s_-]+/g, "-"), lower);
  return hit === undefined ? undefined : zones[lower.indexOf(hit)];
}

/** A DNS-1123 subdomain (RFC 1123 host name, lowercase): what a certificate SAN and a kubeconfig server host may be. */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * `kubernetes.apiEndpoint` is a host: it becomes k3s's `tls-san` (a certificate name) and the
 * kubeconfig's `server: https://<apiEndpoint>:6443`. A URL or a port here would make both
 * wrong (and the preview fail), so it is refused with the host it contains.
 */
function checkApiEndpoint(spec: SiteSpec, problems: Problem[]): void {
  const endpoint = spec.kubernetes.apiEndpoint;
  if (endpoint === undefined) return;
  if (parseIpv4(endpoint) !== undefined || (DNS_SUBDOMAIN.test(endpoint) && !/^[\d.]+$/.test(endpoint))) return;
  const path = ["kubernetes", "apiEndpoint"];
  let host: string | undefined;
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`);
    if (url.username !== "" || url.password !== "") {
      problems.push({ message: "kubernetes.apiEndpoint contains credentials", fix: "write only the host (an IP or DNS name); the API's credentials are in the kubeconfig, never in the site file", path });
      return;
    }
    host = url.hostname.toLowerCase();
  } catch {
    host = undefined;
  }
  const hostOk = host !== undefined && host !== "" && (parseIpv4(host) !== undefined || (DNS_SUBDOMAIN.test(host) && !/^[\d.]+$/.test(host)));
  const why = /:\/\//.test(endpoint)
    ? "a URL"
    : /:\d*$/.test(endpoint)
      ? "a host with a port"
      : /\//.test(endpoint)
        ? "a host with a path"
        : /[A-Z]/.test(endpoint) && hostOk
          ? "a name with capital letters"
          : "neither an IPv4 address nor a DNS name";
  problems.push({
    message: `kubernetes.apiEndpoint ${quoted(endpoint)} is ${why}; it must be only a host: an IPv4 address or a DNS name (lowercase letters, digits, '-' and '.')`,
    fix: hostOk
      ? `write apiEndpoint: ${host} (mine2hpc adds https:// and port 6443: clients use https://${host}:6443)`
      : "write the address clients use for the API, e.g. apiEndpoint: 10.20.0.5 or apiEndpoint: k8s.site.example, without https:// or a port",
    path,
  });
}

/**
 * Namespaces no tenant may use: the system namespaces of Kubernetes and of the components
 * mine2hpc installs (render/versions.ts NAMESPACES; a test keeps the two lists together).
 * Kueue's job webhooks are `failurePolicy: Fail` on the tenant namespaces, so a tenant
 * namespace depends on Kueue being up; mine2hpc-system, where the curtailment Jobs and the
 * power agent run, must never depend on it, nor must the GPU operator or Kueue itself.
 */
export const RESERVED_NAMESPACES = [
  "gpu-operator",
  "kube-system",
  "kueue-system",
  "metallb-system",
  "mine2hpc-system",
  "nvidia-network-operator",
] as const;

function checkTenants(spec: SiteSpec, problems: Problem[]): void {
  const reserved = new Set<string>(RESERVED_NAMESPACES);
  (spec.kubernetes.tenantNamespaces ?? []).forEach((ns, i) => {
    if (!reserved.has(ns)) return;
    problems.push({
      message: `tenant namespace '${ns}' is a system namespace; Kueue's admission webhooks would make its pods depend on Kueue being up`,
      fix: `remove '${ns}' from kubernetes.tenantNamespaces and submit work from a namespace of its own (e.g. 'research')`,
      path: ["kubernetes", "tenantNamespaces", i],
    });
  });
}

function checkFeeds(spec: SiteSpec, problems: Problem[]): Set<string> {
  const first = new Map<string, number>();
  spec.power.feeds.forEach((feed, i) => {
    const prior = first.get(feed.name);
    if (prior !== undefined) {
      problems.push({
        message: `duplicate feed name '${feed.name}' (power.feeds[${prior}] has it too)`,
        fix: "give each feed a unique name",
        path: ["power", "feeds", i, "name"],
      });
    } else {
      first.set(feed.name, i);
    }
    if (feed.tier === "firm" && feed.curtailment !== undefined) {
      problems.push({
        message: `feed '${feed.name}' is firm but has a curtailment block; firm power is never curtailed, so the plan would ignore it`,
        fix: "remove the curtailment block, or set tier: curtailable (or interruptible) if the feed is in a demand-response program",
        path: ["power", "feeds", i, "curtailment"],
      });
    }
    const hook = feed.curtailment?.asicWebhookUrl;
    if (hook !== undefined) {
      const url = new URL(hook);
      if (url.username !== "" || url.password !== "") {
        problems.push({
          message: `power.feeds[${i}] (${feed.name}): asicWebhookUrl contains credentials`,
          fix: "remove user and password from the URL (site files are not secret); put the webhook's credentials in the miner credentials secret: pulumi config set --secret mine2hpc:minerCredentials",
          path: ["power", "feeds", i, "curtailment", "asicWebhookUrl"],
        });
      }
    }
    feed.curtailment?.windows.forEach((w, wi) => {
      if (w.name === MANUAL_WINDOW) {
        problems.push({
          message: `curtailment window name '${MANUAL_WINDOW}' of feed '${feed.name}' is reserved for the CronJobs 'mine2hpc curtail' starts by hand`,
          fix: "give the window another name, e.g. 'dispatch-manual' or '4cp-summer'",
          path: ["power", "feeds", i, "curtailment", "windows", wi, "name"],
        });
      }
      // Each window becomes start and end CronJobs in the site's zone: find the windows whose
      // end cannot be written as schedules, or whose start or end a DST jump skips.
      const zone = isValidTimeZone(spec.metadata.timezone) ? spec.metadata.timezone : "UTC";
      for (const p of windowProblems(feed.name, w, zone)) problems.push({ ...p, path: ["power", "feeds", i, "curtailment", "windows", wi, "schedule"] });
    });
  });
  return new Set(first.keys());
}

function checkCircuits(spec: SiteSpec, feedNames: Set<string>, problems: Problem[]): Set<string> {
  const first = new Map<string, number>();
  spec.power.circuits.forEach((circuit, i) => {
    const prior = first.get(circuit.id);
    if (prior !== undefined) {
      problems.push({
        message: `duplicate circuit id '${circuit.id}' (power.circuits[${prior}] has it too)`,
        fix: "give each circuit a unique id",
        path: ["power", "circuits", i, "id"],
      });
    } else {
      first.set(circuit.id, i);
    }
    if (!feedNames.has(circuit.feed)) {
      const guess = nearestName(circuit.feed, [...feedNames]);
      problems.push({
        message: `circuit '${circuit.id}' names unknown feed '${circuit.feed}'${guess ? ` (did you mean '${guess}'?)` : ""}`,
        fix: `set feed to one of the names under power.feeds: ${[...feedNames].join(", ")}`,
        path: ["power", "circuits", i, "feed"],
      });
    }
  });
  return new Set(first.keys());
}

function checkNetwork(spec: SiteSpec, skip: ReadonlySet<number>, problems: Problem[]): Ipv4Range | undefined {
  const net = spec.network;
  const blocks: { key: "nodeSubnet" | "clusterCidr" | "serviceCidr"; text: string; range: Ipv4Range | undefined }[] = [
    { key: "nodeSubnet", text: net.nodeSubnet, range: parseCidr(net.nodeSubnet) },
    { key: "clusterCidr", text: net.clusterCidr, range: parseCidr(net.clusterCidr) },
    { key: "serviceCidr", text: net.serviceCidr, range: parseCidr(net.serviceCidr) },
  ];
  blocks.forEach((b, i) => {
    for (const a of blocks.slice(0, i)) {
      if (a.range && b.range && rangesOverlap(a.range, b.range)) {
        problems.push({
          message: `network.${b.key} ${b.text} overlaps network.${a.key} ${a.text}`,
          fix: `choose a ${b.key} that shares no addresses with ${a.key} (k3s defaults: clusterCidr 10.42.0.0/16, serviceCidr 10.43.0.0/16)`,
          path: ["network", b.key],
        });
      }
    }
  });

  const subnet = blocks[0]!.range;
  if (net.loadBalancerPool !== undefined) {
    const pool = parseAddressPool(net.loadBalancerPool);
    if (pool === undefined) {
      problems.push({
        message: `loadBalancerPool ${quoted(net.loadBalancerPool)} is not a valid CIDR or address range`,
        fix: "write a CIDR such as 10.20.3.0/28 or a range first-last with first ≤ last, each octet 0–255",
        path: ["network", "loadBalancerPool"],
      });
    } else {
      if (subnet && !rangeWithin(pool, subnet)) {
        problems.push({
          message: `loadBalancerPool ${net.loadBalancerPool} is not inside network.nodeSubnet ${net.nodeSubnet}`,
          fix: "MetalLB in L2 mode answers ARP only on the nodes' subnet: pick a free range inside nodeSubnet",
          path: ["network", "loadBalancerPool"],
        });
      }
      for (const b of blocks.slice(1)) {
        if (b.range && rangesOverlap(pool, b.range)) {
          problems.push({
            message: `loadBalancerPool ${net.loadBalancerPool} overlaps network.${b.key} ${b.text}`,
            fix: `move the pool out of the ${b.key}; Service and LoadBalancer addresses must not collide`,
            path: ["network", "loadBalancerPool"],
          });
        }
      }
      const taken = spec.machines.filter((m, i) => {
        if (skip.has(i)) return false;
        const ip = parseIpv4(m.ip);
        return ip !== undefined && rangeContains(pool, ip);
      });
      if (taken.length > 0) {
        const listed = taken.slice(0, 5).map((m) => `${m.hostname} (${m.ip})`).join(", ") + (taken.length > 5 ? ` and ${taken.length - 5} more` : "");
        problems.push({
          message: `loadBalancerPool ${formatRange(pool)} contains the IP${taken.length === 1 ? "" : "s"} of ${taken.length} machine${taken.length === 1 ? "" : "s"}: ${listed}`,
          fix: "shrink or move the pool to addresses no machine uses (MetalLB would hand a node's address to a Service)",
          path: ["network", "loadBalancerPool"],
        });
      }
    }
  }
  return subnet;
}

/**
 * A login name SSH and Linux accept: POSIX portable user name characters (letters, digits,
 * '.', '_', '-', not starting with '-'; IEEE Std 1003.1, 3.437 "User Name"), with shadow-utils'
 * trailing '$' for machine accounts, at most 32 characters (useradd's limit). Anything else
 * cannot log in and would only reach a host's SSH server to fail there.
 */
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,30}[A-Za-z0-9._$-]?$/;

function checkSshUser(user: string, path: (string | number)[], problems: Problem[]): void {
  if (SSH_USER.test(user)) return;
  problems.push({
    message: `sshUser ${quoted(user)} is not a Linux user name`,
    fix: "write the login name only (letters, digits, '.', '_', '-', at most 32 characters), e.g. ubuntu; the key is the stack secret mine2hpc:sshPrivateKey",
    path,
  });
}

/** Where a catalog entry is, for problems. */
type CatalogList = "gpus" | "asics";

/**
 * The site's own catalog: keys in catalog form, no spelling claimed twice (an entry replaces
 * a built-in model only by taking its key), and GPU figures a planner can trust: positive,
 * minWatts ≤ tdpWatts ≤ maxWatts ≤ boardMaxWatts, idle below the minimum, and a curve that
 * spans the settable range, is 1.0 at TDP, rises and is concave (the cap allocation is exact
 * only for concave curves: `src/plan/allocate.ts`).
 */
function checkCatalog(spec: Pick<SiteSpec, "catalog">, problems: Problem[]): void {
  const entries = spec.catalog;
  if (entries === undefined) return;
  checkCatalogNames("gpus", entries.gpus, GPUS, problems);
  checkCatalogNames("asics", entries.asics, ASICS, problems);
  entries.gpus.forEach((e, i) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ["catalog", "gpus", i, ...rest];
    const who = `catalog.gpus[${i}] (${e.key})`;
    const push = (message: string, fix: string, path: (string | number)[]): void => {
      problems.push({ message: `${who}: ${message}`, fix, path });
    };
    if (isAmdGpuName(e.key) || isAmdGpuName(e.name)) {
      push(
        `${quoted(e.name)} is an AMD GPU; the NVIDIA GPU operator, its device plugin and nvidia-smi power limits drive only NVIDIA GPUs`,
        "remove the entry; plan machines with AMD GPUs as role: cpu (their GPUs' draw in baseWatts), or leave them out of the site",
        at("key"),
      );
    }
    const limits = "tdpWatts is nvidia-smi's Default Power Limit, minWatts and maxWatts its Min and Max Power Limit (nvidia-smi -q -d POWER)";
    if (e.minWatts > e.tdpWatts) push(`minWatts ${e.minWatts} W is above tdpWatts ${e.tdpWatts} W`, `${limits}: min ≤ TDP ≤ max`, at("minWatts"));
    if (e.tdpWatts > e.maxWatts) push(`tdpWatts ${e.tdpWatts} W is above maxWatts ${e.maxWatts} W`, `${limits}: min ≤ TDP ≤ max`, at("maxWatts"));
    if (e.boardMaxWatts !== undefined && e.boardMaxWatts < e.maxWatts) {
      push(`boardMaxWatts ${e.boardMaxWatts} W is below maxWatts ${e.maxWatts} W`, "boardMaxWatts is the highest Max Power Limit of any board of the model: at least maxWatts (or leave it out)", at("boardMaxWatts"));
    }
    if (e.idleWatts !== undefined && e.idleWatts >= e.minWatts) {
      push(`idleWatts ${e.idleWatts} W is not below minWatts ${e.minWatts} W`, "idleWatts is the draw of an idle GPU (nvidia-smi power.draw in P8), always below the lowest power limit; measure it or leave it out", at("idleWatts"));
    }
    if (e.formFactor === "sxm" && e.hostBaseWatts === undefined) {
      push("an SXM (HGX) model has no hostBaseWatts", "set hostBaseWatts to the DC draw of the system without its GPUs (datasheet max system power − GPUs × TDP, less PSU losses), e.g. 4300 for a DGX H100", at());
    }
    if (e.curve === undefined) {
      if (e.minWatts < MODEL_MIN_FRACTION * e.tdpWatts) {
        push(
          `minWatts ${e.minWatts} W is below ${MODEL_MIN_FRACTION * 100} % of tdpWatts, where the shared throughput model is not defined`,
          "give the model's curve ([capWatts, relative] points from minWatts to maxWatts, 1.0 at tdpWatts), or check minWatts",
          at("minWatts"),
        );
      }
    } else {
      for (const p of curveProblems(e.curve, e.minWatts, e.tdpWatts, e.maxWatts)) push(p.message, p.fix, at("curve", ...p.at));
    }
  });
}

/** Key form, AMD names (GPUs) and spellings claimed twice, for one list of the site catalog. */
function checkCatalogNames(list: CatalogList, entries: readonly { key: string; name: string; aliases: readonly string[] }[], builtin: readonly (GpuSpec | AsicSpec)[], problems: Problem[]): void {
  const builtinOwner = new Map<string, string>();
  for (const b of builtin) for (const s of spellingsOf(b)) builtinOwner.set(s, b.key);
  const siteOwner = new Map<string, number>();
  const kind = list === "gpus" ? "GPU" : "ASIC";
  entries.forEach((e, i) => {
    const who = `catalog.${list}[${i}] (${e.key})`;
    if (normalizeModelName(e.key) !== e.key) {
      problems.push({
        message: `${who}: key ${quoted(e.key)} is not in catalog form: names are looked up without vendor words (nvidia, geforce, antminer, whatsminer, bitmain, microbt, canaan)`,
        fix: `write key: ${normalizeModelName(e.key) || "a key without the vendor word"}`,
        path: ["catalog", list, i, "key"],
      });
    }
    const spellings: { s: string; path: (string | number)[] }[] = [
      { s: e.key, path: ["catalog", list, i, "key"] },
      { s: normalizeModelName(e.name), path: ["catalog", list, i, "name"] },
      ...e.aliases.map((a, k) => ({ s: normalizeModelName(a), path: ["catalog", list, i, "aliases", k] })),
    ];
    const own = new Set<string>();
    for (const { s, path } of spellings) {
      if (s === "" || own.has(s)) continue;
      own.add(s);
      const prior = siteOwner.get(s);
      if (prior !== undefined) {
        const other = entries[prior]!;
        problems.push({
          message: s === e.key && s === other.key ? `duplicate catalog ${kind} key '${s}' (catalog.${list}[${prior}] has it too)` : `${who}: '${s}' also names catalog.${list}[${prior}] (${other.key})`,
          fix: s === e.key && s === other.key ? "keep one entry per model" : "give each model its own key, name and aliases, so every machine's model is found one way",
          path,
        });
        continue;
      }
      siteOwner.set(s, i);
      const b = builtinOwner.get(s);
      if (b !== undefined && b !== e.key) {
        problems.push({
          message: `${who}: '${s}' names the built-in ${kind} model '${b}'`,
          fix: `to replace the built-in model, set key: ${b}; for another model, use a name and aliases of its own`,
          path,
        });
      }
    }
  });
}

/** What is wrong with a site catalog curve, each with the index of the point it is at. */
function curveProblems(curve: ReadonlyArray<readonly [number, number]>, minWatts: number, tdpWatts: number, maxWatts: number): { message: string; fix: string; at: number[] }[] {
  const out: { message: string; fix: string; at: number[] }[] = [];
  const shape = "[capWatts, relative] points with caps ascending from minWatts to maxWatts";
  const first = curve[0]!;
  const last = curve[curve.length - 1]!;
  if (first[0] !== minWatts) out.push({ message: `curve starts at ${first[0]} W, not at minWatts ${minWatts} W`, fix: `make the first point [${minWatts}, …]: ${shape}`, at: [0] });
  if (last[0] !== maxWatts) out.push({ message: `curve ends at ${last[0]} W, not at maxWatts ${maxWatts} W`, fix: `make the last point [${maxWatts}, …]: ${shape}`, at: [curve.length - 1] });
  let ascending = true;
  for (let k = 1; k < curve.length; k++) {
    if (curve[k]![0] <= curve[k - 1]![0]) {
      out.push({ message: `curve caps do not ascend at point ${k} (${curve[k - 1]![0]} W, then ${curve[k]![0]} W)`, fix: `sort the points by cap, one point per cap: ${shape}`, at: [k] });
      ascending = false;
      break;
    }
  }
  if (!ascending) return out;
  for (let k = 1; k < curve.length; k++) {
    if (curve[k]![1] < curve[k - 1]![1]) {
      out.push({
        message: `curve falls at point ${k} (${curve[k - 1]![1]} at ${curve[k - 1]![0]} W, then ${curve[k]![1]} at ${curve[k]![0]} W): throughput must not drop as the cap rises`,
        fix: "measure the points again, or drop the outlier",
        at: [k],
      });
      break;
    }
  }
  // A concave curve's slopes never increase; a small tolerance absorbs decimal rounding.
  for (let k = 2; k < curve.length; k++) {
    const before = (curve[k - 1]![1] - curve[k - 2]![1]) / (curve[k - 1]![0] - curve[k - 2]![0]);
    const after = (curve[k]![1] - curve[k - 1]![1]) / (curve[k]![0] - curve[k - 1]![0]);
    if (after > before + 1e-9) {
      out.push({
        message: `curve is not concave at point ${k - 1} (${curve[k - 1]![0]} W): it gains more per watt after it than before it`,
        fix: "make each segment's gain per watt at most the previous one's (diminishing returns); the planner's cap allocation is exact only for concave curves",
        at: [k - 1],
      });
      break;
    }
  }
  if (tdpWatts >= first[0] && tdpWatts <= last[0]) {
    const atTdp = relativeThroughput({ curve } as GpuSpec, tdpWatts);
    if (Math.abs(atTdp - 1) > 1e-3) {
      out.push({ message: `curve is ${Number(atTdp.toFixed(4))} at tdpWatts ${tdpWatts} W, not 1.0`, fix: "the curve is relative to stock power: put a point [tdpWatts, 1] on it (fp16Tflops is the throughput at TDP)", at: [] });
    }
  }
  return out;
}

function checkMachines(spec: SiteSpec, skip: ReadonlySet<number>, circuitIds: Set<string>, nodeSubnet: Ipv4Range | undefined, problems: Problem[]): void {
  checkSshUser(spec.defaults.sshUser, ["defaults", "sshUser"], problems);
  const hostnames = new Map<string, number>();
  const ips = new Map<string, number>();
  const macs = new Map<string, number>();
  const catalog = siteCatalog(spec);
  const gpuKeys = catalog.gpus.map((g) => g.key);
  const asicKeys = catalog.asics.map((a) => a.key);

  spec.machines.forEach((m, i) => {
    if (skip.has(i)) return;
    const at = (field: string): (string | number)[] => ["machines", i, field];
    const name = m.hostname;

    const dup = (seen: Map<string, number>, key: string, field: string, label: string): void => {
      const prior = seen.get(key);
      if (prior === undefined) {
        seen.set(key, i);
        return;
      }
      const other = spec.machines[prior]!;
      problems.push({
        message: `duplicate ${label} ${key} on machines[${i}] (${name}): machines[${prior}] (${other.hostname}) already uses it`,
        fix: `give ${name} its own ${label}`,
        path: at(field),
      });
    };
    dup(hostnames, name, "hostname", "hostname");
    dup(ips, m.ip, "ip", "IP");
    if (m.mac !== undefined) dup(macs, m.mac.toLowerCase(), "mac", "MAC");

    // ASIC miners are not Kubernetes nodes and often sit on their own mining VLAN, so only
    // nodes must be inside nodeSubnet; their IPs still count for duplicates and the LB pool.
    const ip = parseIpv4(m.ip);
    if (m.role !== "asic" && nodeSubnet && ip !== undefined) {
      if (!rangeContains(nodeSubnet, ip)) {
        problems.push({
          message: `${name} IP ${m.ip} is outside network.nodeSubnet ${spec.network.nodeSubnet}`,
          fix: `use an address inside ${spec.network.nodeSubnet}, or widen nodeSubnet`,
          path: at("ip"),
        });
      } else if (nodeSubnet.last - nodeSubnet.first >= 3 && (ip === nodeSubnet.first || ip === nodeSubnet.last)) {
        problems.push({
          message: `${name} IP ${m.ip} is the ${ip === nodeSubnet.first ? "network" : "broadcast"} address of ${spec.network.nodeSubnet}`,
          fix: "use a host address inside the subnet",
          path: at("ip"),
        });
      }
    }

    if (!circuitIds.has(m.circuit)) {
      const guess = nearestName(m.circuit, [...circuitIds]);
      problems.push({
        message: `${name} names unknown circuit '${m.circuit}'${guess ? ` (did you mean '${guess}'?)` : ""}`,
        fix: "set circuit to an id under power.circuits, or add that circuit",
        path: at("circuit"),
      });
    }

    if (m.sshUser !== undefined) checkSshUser(m.sshUser, at("sshUser"), problems);

    if (m.role === "gpu") {
      if (m.gpuModel === undefined) {
        problems.push({
          message: `${name} has role gpu but no gpuModel`,
          fix: `add gpuModel (a catalog key such as ${gpuKeys.slice(0, 3).join(", ") || "rtx-3090, h100-sxm"}), or change the role`,
          path: ["machines", i],
        });
      }
      if (m.gpuCount === undefined || m.gpuCount === 0) {
        problems.push({
          message: `${name} has role gpu but ${m.gpuCount === 0 ? "gpuCount 0" : "no gpuCount"}`,
          fix: "set gpuCount to the number of GPUs in the machine (1–16), or change the role to cpu",
          path: m.gpuCount === 0 ? at("gpuCount") : ["machines", i],
        });
      }
      // pcieLink x1 with gpuCount > 1 is deliberately allowed: ex-mining rigs carry 6–8 GPUs
      // on x1 risers. The planner puts them in single-GPU inference pools instead.
    } else {
      const stray = (["gpuModel", "gpuCount", "pcieLink", "gpuMaxWatts"] as const).filter((f) => m[f] !== undefined && !(f === "gpuCount" && m[f] === 0));
      if (stray.length > 0) {
        problems.push({
          message: `${name} has role ${m.role} but sets ${stray.join(", ")}; only gpu machines get GPU pools and caps`,
          fix: `set role: gpu if the machine's GPUs should be used, or remove ${stray.join(", ")}`,
          path: at(stray[0]!),
        });
      }
    }
    if (m.gpuModel !== undefined) checkGpuModel(m.gpuModel, m.gpuMaxWatts, name, i, catalog, gpuKeys, m.role === "gpu", problems);

    if (m.role === "asic") {
      if (m.asicModel === undefined) {
        problems.push({
          message: `${name} has role asic but no asicModel`,
          fix: `add asicModel (a catalog key such as ${asicKeys.slice(0, 3).join(", ") || "s19j-pro, s21"}) so its load on ${m.circuit} is known`,
          path: ["machines", i],
        });
      }
    } else if (m.asicModel !== undefined) {
      problems.push({
        message: `${name} has role ${m.role} but sets asicModel`,
        fix: "set role: asic for a miner, or remove asicModel",
        path: at("asicModel"),
      });
    }
    if (m.asicModel !== undefined && catalog.findAsic(m.asicModel) === undefined) {
      const guess = nearestName(m.asicModel, asicKeys);
      problems.push({
        message: `unknown ASIC model ${quoted(m.asicModel)} on ${name}${guess ? ` (did you mean '${guess}'?)` : ""}`,
        fix: `${guess ? `use asicModel: ${guess} if that is the miner, or` : "use a catalog model, or"} describe it in the site file under catalog.asics (key, name, watts, hashrateThs) and name its key`,
        path: at("asicModel"),
      });
    }
  });
}

/** A machine's GPU model: not AMD, in the site's catalog or the built-in one, and its `gpuMaxWatts` within what the model's boards accept. */
function checkGpuModel(model: string, maxWatts: number | undefined, name: string, i: number, catalog: HardwareCatalog, gpuKeys: readonly string[], isGpu: boolean, problems: Problem[]): void {
  const at = (field: string): (string | number)[] => ["machines", i, field];
  if (isAmdGpuName(model)) {
    problems.push({
      message: `${name}: gpuModel ${quoted(model)} is an AMD GPU; the NVIDIA GPU operator (device plugin, drivers) and nvidia-smi power limits drive only NVIDIA GPUs, so it cannot be a GPU node`,
      fix: "plan the machine as role: cpu without gpuModel, gpuCount and pcieLink (count its GPUs' draw in baseWatts), or leave it out of the site",
      path: at("gpuModel"),
    });
    return;
  }
  const gpu = catalog.findGpu(model);
  if (gpu === undefined) {
    const guess = nearestName(model, gpuKeys);
    problems.push({
      message: `unknown GPU model ${quoted(model)} on ${name}${guess ? ` (did you mean '${guess}'?)` : ""}`,
      fix: `${guess ? `use gpuModel: ${guess} if that is the board, or` : "use a catalog model, or"} describe it in the site file under catalog.gpus (key, name, memoryGiB, tdpWatts, minWatts, maxWatts, fp16Tflops; nvidia-smi -q -d POWER shows the limits) and name its key`,
      path: at("gpuModel"),
    });
    return;
  }
  if (maxWatts === undefined || !isGpu) return;
  const boardMax = gpu.boardMaxWatts ?? gpu.maxWatts;
  if (maxWatts < gpu.tdpWatts) {
    problems.push({
      message: `${name}: gpuMaxWatts ${maxWatts} W is below the ${gpu.key}'s TDP of ${gpu.tdpWatts} W; a board's Max Power Limit is never below its default limit`,
      fix: `set gpuMaxWatts to the Max Power Limit nvidia-smi -q -d POWER reports on ${name} (${gpu.tdpWatts}–${boardMax} W), or remove it to use the catalog's ${gpu.maxWatts} W`,
      path: at("gpuMaxWatts"),
    });
  } else if (maxWatts > boardMax) {
    problems.push({
      message: `${name}: gpuMaxWatts ${maxWatts} W is above the highest power limit ${gpu.key} boards are known to accept (${boardMax} W)`,
      fix: `check the Max Power Limit nvidia-smi -q -d POWER reports on ${name}; if the board really accepts ${maxWatts} W, give the model boardMaxWatts: ${maxWatts} in the site file's catalog.gpus (an entry with key: ${gpu.key})`,
      path: at("gpuMaxWatts"),
    });
  }
}

/** Schemes a machine's `minerApi` may use: one per driver in src/runtime/miners/. */
export const MINER_API_SCHEMES = ["luxos", "braiins", "antminer", "whatsminer"] as const;

/** State, generation, host keys and miner APIs: what the fleet lifecycle and the curtailment drivers need. */
function checkLifecycle(spec: SiteSpec, skip: ReadonlySet<number>, strict: boolean, problems: Problem[]): void {
  const keys = new Map<string, number>();
  spec.machines.forEach((m, i) => {
    if (skip.has(i)) return;
    const at = (field: string): (string | number)[] => ["machines", i, field];
    const name = m.hostname;
    if (m.role === "asic") {
      if (m.sshHostKey !== undefined) {
        problems.push({
          message: `${name} is an ASIC miner but sets sshHostKey; mine2hpc never opens SSH to miners`,
          fix: "remove sshHostKey from the miner (its API is minerApi)",
          path: at("sshHostKey"),
        });
      }
      if (m.minerApi !== undefined) checkMinerApi(m.minerApi, name, at("minerApi"), problems);
    } else {
      for (const f of ["minerApi", "firmware"] as const) {
        if (m[f] !== undefined) {
          problems.push({
            message: `${name} has role ${m.role} but sets ${f}; only ASIC miners are curtailed through a firmware API`,
            fix: `remove ${f}, or set role: asic if the machine is a miner`,
            path: at(f),
          });
        }
      }
      if (m.sshHostKey !== undefined) {
        // Cloned OS images share host keys: two machines with one key cannot be told apart by SSH.
        const prior = keys.get(m.sshHostKey);
        if (prior !== undefined) {
          problems.push({
            message: `${name} has the same sshHostKey as machines[${prior}] (${spec.machines[prior]!.hostname}); an image cloned with its host keys lets one machine answer for the other`,
            fix: `regenerate the host keys on ${name} (rm /etc/ssh/ssh_host_*; dpkg-reconfigure openssh-server), then run 'mine2hpc hosts keyscan --write'`,
            path: at("sshHostKey"),
          });
        } else {
          keys.set(m.sshHostKey, i);
        }
      } else if (strict && m.state !== "offline" && m.state !== "retired") {
        problems.push({
          message: `${name} has no pinned SSH host key (--strict): pulumi up would trust whatever answers at ${m.ip}`,
          fix: "run 'mine2hpc hosts keyscan --write', check the keys against the machines' consoles, and commit them",
          path: ["machines", i],
        });
      }
    }
  });
}

function checkMinerApi(text: string, name: string, path: (string | number)[], problems: Problem[]): void {
  const fail = (message: string, fix: string) => problems.push({ message: `${name}: minerApi ${message}`, fix, path });
  const example = "luxos://10.2.0.15:4028";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    fail(`${quoted(text)} is not a URL`, `write it as <firmware>://<host>[:port], e.g. ${example}`);
    return;
  }
  const scheme = url.protocol.slice(0, -1);
  if (!(MINER_API_SCHEMES as readonly string[]).includes(scheme)) {
    fail(`scheme ${quoted(scheme)} is not a miner driver`, `use one of ${MINER_API_SCHEMES.map((s) => `${s}://`).join(", ")} (the feed's webhook is set with firmware: webhook)`);
    return;
  }
  if (url.username !== "" || url.password !== "") {
    // Never echo the URL: it holds a credential.
    fail("contains credentials", "remove user and password from the URL (site files are not secret); put them in the miner credentials secret: pulumi config set --secret mine2hpc:minerCredentials");
    return;
  }
  if (url.hostname === "") fail(`${quoted(text)} has no host`, `write it as ${scheme}://<host>[:port]`);
  if ((url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    fail(`${quoted(text)} has a path, query or fragment`, `write only ${scheme}://<host>[:port]`);
  }
}

function checkMirror(spec: SiteSpec, problems: Problem[]): void {
  const mirror = spec.mirror;
  if (mirror === undefined) return;
  for (const key of ["artifacts", "charts"] as const) {
    const text = mirror[key];
    if (text === undefined) continue;
    const url = new URL(text);
    if (url.username !== "" || url.password !== "") {
      problems.push({
        message: `mirror.${key} contains credentials`,
        fix: "remove user and password from the URL (site files are not secret); serve the mirror to the site network without them, or give hosts credentials out of band",
        path: ["mirror", key],
      });
    }
    if (url.search !== "" || url.hash !== "") {
      problems.push({ message: `mirror.${key} has a query or fragment`, fix: "give the base URL only, e.g. https://mirror.site.local/k3s", path: ["mirror", key] });
    }
    // The URL is written into host scripts; render/mirror.ts refuses what a shell would read
    // differently, so refuse it here, where the line is known.
    if (/[\s'"$`\\]/.test(text)) {
      problems.push({
        message: `mirror.${key} ${quoted(text)} contains a space, quote, '$', backquote or backslash`,
        fix: "percent-encode those characters in the URL (a space is %20), or serve the mirror under a plain path",
        path: ["mirror", key],
      });
    }
  }
  if (mirror.registry !== undefined && mirror.registry.includes("/")) {
    // render/mirror.ts writes the registry as an endpoint host[:port] in registries.yaml.
    problems.push({
      message: `mirror.registry ${quoted(mirror.registry)} has a path; the registry mirror is a host[:port]`,
      fix: `write mirror.registry: ${mirror.registry.split("/")[0]} and serve the mirrored images at that registry's root`,
      path: ["mirror", "registry"],
    });
  }
  if (Object.values(mirror).every((v) => v === undefined)) {
    problems.push({ message: "mirror is set but names no artifacts, registry or charts", fix: "set mirror.artifacts, mirror.registry and mirror.charts, or remove the mirror block", path: ["mirror"] });
  }
}

function checkControlPlane(spec: SiteSpec, problems: Problem[]): void {
  const retiredServers = spec.machines.filter((m) => m.role === "control-plane" && m.state === "retired").map((m) => m.hostname).sort();
  const servers = spec.machines.filter((m) => m.role === "control-plane" && m.state !== "retired").map((m) => m.hostname);
  const first = [...servers, ...retiredServers].sort()[0];
  if (first !== undefined && retiredServers.includes(first) && servers.length > 0) {
    const i = spec.machines.findIndex((m) => m.hostname === first);
    problems.push({
      message: `control-plane ${first} is the cluster-init server (first by hostname) and is retired; the other servers joined through it`,
      fix: "retire the other servers first, or keep this one and add a new server; moving cluster-init off a live cluster is not supported",
      path: ["machines", i, "state"],
    });
  }
  if (servers.length === 0) {
    problems.push({
      message: "no machine has role control-plane; the cluster needs 1 or an odd number ≥ 3",
      fix: "set role: control-plane on 1 machine (or 3 for high availability)",
      path: ["machines"],
    });
  } else if (servers.length % 2 === 0) {
    problems.push({
      message: `${servers.length} machines have role control-plane (${servers.join(", ")}); embedded etcd needs an odd count for quorum`,
      fix: `use ${servers.length - 1} or ${servers.length + 1} control-plane machines`,
      path: ["machines"],
    });
  }
}
