/**
 * Host harness: a real OpenSSH server on 127.0.0.1 (Debian `openssh-server`), with its own host
 * key, in a private mount namespace (`unshare --mount`) whose k3s paths are bind-mounted from a
 * temporary "fake root", so the real rendered scripts run as root through the same wrapper and
 * STDIN handling as `@pulumi/command`'s remote.Command without touching this machine.
 *
 * What remote.Command does, reproduced (pulumi-command provider/pkg/provider/remote/
 * commandOutputs.go `run`): one SSH session, no PTY, `session.Stdin` = the `stdin` input
 * (when non-empty), `session.Run(cmd)` with the command string (an `exec` request, which sshd
 * runs with the user's login shell `-c`), no environment (HostBootstrap sets none and
 * `addPreviousOutputInEnv: false`). The OpenSSH client with `-T`, the command as one argument and
 * the input on stdin sends the same `exec` request and EOF. Host keys are checked against a pinned
 * known_hosts file with `StrictHostKeyChecking=yes` (what the provider's `hostKey` does with
 * `ssh.FixedHostKey`).
 *
 * Fakes (in the fake root's /usr/local/bin, which precedes /usr/bin and /usr/sbin in sshd's
 * default PATH): `systemctl`, `journalctl`, `nvidia-smi`, `swapon`/`swapoff`, `modprobe`,
 * `sysctl`, `update-initramfs`. The k3s binary and installer are fakes served by a loopback
 * HTTP "site mirror" (real curl, real sha256 verification). `timeout`, `curl`, `sha256sum`,
 * `install`, `mktemp` are the real ones. The fakes are driven by files under `control/`:
 * `start` = ok | fail | hang, `journal` = what journalctl prints.
 *
 * Needs root (mount namespace, sshd) and `/usr/sbin/sshd`, `ssh`, `ssh-keygen`, `unshare`.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";

/** Paths of the host that the scripts write, bind-mounted from the fake root inside the namespace. */
export const FAKE_ROOT_DIRS = [
  "/etc/rancher",
  "/etc/mine2hpc",
  "/etc/systemd/system",
  "/etc/modules-load.d",
  "/etc/sysctl.d",
  "/etc/modprobe.d",
  "/usr/local/bin",
  "/usr/local/sbin",
  "/var/lib/rancher",
  // An agent's bootstrap log, the first server's publication lists, root's home (where
  // remote.CopyToRemote leaves the publication archive).
  "/var/log/mine2hpc",
  "/var/lib/mine2hpc",
  "/root",
] as const;

/**
 * The fake root's /tmp (the scripts' temporary files, so a test can check none is left): the
 * fake root's `tmp` holds an empty folder named like the harness folder, on which the harness
 * folder itself is bound before `tmp` is bound (recursively) over /tmp, so sshd's configuration
 * and the fakes' state stay at their paths inside the namespace.
 */
const FAKE_TMP = "tmp";

/** Why the harness cannot run here, naming the missing package; null when it can. */
export function harnessUnavailable(): string | null {
  if (process.platform !== "linux") return "the host harness needs Linux (mount namespaces)";
  if (process.getuid?.() !== 0) return "the host harness needs root (a private mount namespace and sshd): run the tests as root, as CI does";
  for (const [bin, pkg] of [
    ["/usr/sbin/sshd", "openssh-server"],
    ["/usr/bin/ssh", "openssh-client"],
    ["/usr/bin/ssh-keygen", "openssh-client"],
    ["/usr/bin/unshare", "util-linux"],
    ["/usr/bin/curl", "curl"],
  ] as const) {
    if (!existsSync(bin)) return `${bin} is missing: install the Debian package ${pkg} (apt-get install -y ${pkg})`;
  }
  return null;
}

/** The outcome of one remote command. */
export interface RemoteRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Wall time of the SSH session, in ms. */
  ms: number;
}

const FAKE_SYSTEMCTL = (state: string, control: string) => `#!/bin/bash
# fake systemctl: state in ${state}, behaviour of start/restart from ${control}/start.
printf 'systemctl %s\\n' "$*" >>${state}/calls
quiet=0
args=()
for a in "$@"; do
  case "$a" in --quiet|-q) quiet=1 ;; --*) ;; *) args+=("$a") ;; esac
done
verb="\${args[0]:-}"
unit="\${args[1]:-}"
unit="\${unit%.service}"
case "$verb" in
  is-active)
    if [ -f "${state}/active-$unit" ]; then [ "$quiet" -eq 1 ] || echo active; exit 0; fi
    [ "$quiet" -eq 1 ] || echo inactive; exit 3 ;;
  start|restart)
    mode="$(cat ${control}/start 2>/dev/null || echo ok)"
    case "$mode" in
      ok) touch "${state}/active-$unit"; exit 0 ;;
      fail) echo "Job for $unit.service failed because the control process exited with error code." >&2; exit 1 ;;
      hang) exec sleep 600 ;;
    esac ;;
  stop|disable) rm -f "${state}/active-$unit"; exit 0 ;;
  *) exit 0 ;;
esac
`;

const FAKE_JOURNALCTL = (state: string, control: string) => `#!/bin/bash
printf 'journalctl %s\\n' "$*" >>${state}/calls
cat ${control}/journal 2>/dev/null || true
`;

const FAKE_RECORDER = (name: string, state: string) => `#!/bin/bash
printf '${name} %s\\n' "$*" >>${state}/calls
`;

const FAKE_NVIDIA_SMI = (state: string) => `#!/bin/bash
printf 'nvidia-smi %s\\n' "$*" >>${state}/calls
case "$*" in
  *--query-gpu=index,power.default_limit*) printf '0, 350.00\\n1, 350.00\\n' ;;
esac
`;

/** The fake k3s binary served by the mirror: reports the pinned version, answers kubectl as Ready. */
export const FAKE_K3S = (version: string, state: string) => `#!/bin/bash
printf 'k3s %s\\n' "$*" >>${state}/calls
case "$1" in
  --version) echo "k3s version ${version} (fake)"; echo "go version go1.24 (fake)" ;;
  kubectl)
    case "$*" in
      *" get node "*) printf True ;;
    esac ;;
esac
`;

/** The fake installer served by the mirror: records its environment and writes the unit and uninstaller. */
export const FAKE_INSTALLER = (state: string) => `#!/bin/sh
set -e
printf 'installer SKIP_DOWNLOAD=%s SKIP_START=%s EXEC=%s\\n' "$INSTALL_K3S_SKIP_DOWNLOAD" "$INSTALL_K3S_SKIP_START" "$INSTALL_K3S_EXEC" >>${state}/calls
[ -x /usr/local/bin/k3s ] || { echo "[ERROR]  Executable k3s binary not found at /usr/local/bin/k3s" >&2; exit 1; }
if [ "$INSTALL_K3S_EXEC" = server ]; then name=k3s; else name=k3s-agent; fi
printf '[Service]\\nType=notify\\nTimeoutStartSec=0\\nExecStart=/usr/local/bin/k3s %s\\n' "$INSTALL_K3S_EXEC" >/etc/systemd/system/$name.service
cat >/usr/local/bin/$name-uninstall.sh <<EOF
#!/bin/sh
printf 'uninstaller $name\\\\n' >>${state}/calls
rm -f /etc/systemd/system/$name.service /usr/local/bin/k3s ${state}/active-$name
rm -rf /etc/rancher/k3s /var/lib/rancher/k3s
rm -f /usr/local/bin/$name-uninstall.sh
EOF
chmod 0755 /usr/local/bin/$name-uninstall.sh
`;

/** A running harness: sshd in its namespace, the loopback mirror, and the fake root. */
export class HostHarness {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly control: string;
  readonly mirrorDir: string;
  readonly clientKey: string;
  readonly knownHosts: string;
  readonly hostPublicKey: string;
  sshPort = 0;
  mirrorUrl = "";
  private sshd: ResultPromise | null = null;
  private http: Server | null = null;

  private constructor(dir: string) {
    this.dir = dir;
    this.root = path.join(dir, "root");
    this.state = path.join(dir, "state");
    this.control = path.join(dir, "control");
    this.mirrorDir = path.join(dir, "mirror");
    this.clientKey = path.join(dir, "client_key");
    this.knownHosts = path.join(dir, "known_hosts");
    this.hostPublicKey = "";
  }

  /**
   * Starts sshd (host key generated here) on 127.0.0.1 and the `extraListen` loopback
   * addresses, and the mirror for k3s `version`.
   */
  static async start(version: string, extraListen: string[] = []): Promise<HostHarness> {
    const dir = mkdtempSync(path.join(tmpdir(), "mine2hpc-harness-"));
    chmodSync(dir, 0o755);
    const h = new HostHarness(dir);
    for (const d of [h.state, h.control, h.mirrorDir]) mkdirSync(d, { recursive: true });
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", h.clientKey]);
    (h as { hostPublicKey: string }).hostPublicKey = readFileSync(path.join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${h.clientKey}.pub`, "utf8"), { mode: 0o600 });
    h.writeMirror(version);
    await h.startMirror();
    await h.startSshd(extraListen);
    h.pinHostKey(h.hostPublicKey);
    return h;
  }

  /** Writes known_hosts pinning `key` (`<type> <base64>`) for the harness address. */
  pinHostKey(key: string): void {
    writeFileSync(this.knownHosts, `[127.0.0.1]:${this.sshPort} ${key}\n`);
  }

  private writeMirror(version: string): void {
    const versionDir = path.join(this.mirrorDir, "k3s", version);
    mkdirSync(versionDir, { recursive: true });
    writeFileSync(path.join(this.mirrorDir, "k3s", "install.sh"), FAKE_INSTALLER(this.state));
    writeFileSync(path.join(versionDir, "k3s"), FAKE_K3S(version, this.state));
    writeFileSync(path.join(versionDir, "k3s-airgap-images-amd64.tar.zst"), "fake airgap image archive\n");
    const sum = (f: string) => createHash("sha256").update(readFileSync(path.join(versionDir, f))).digest("hex");
    writeFileSync(
      path.join(versionDir, "sha256sum-amd64.txt"),
      ["k3s", "k3s-airgap-images-amd64.tar.zst"].map((f) => `${sum(f)}  ${f}\n`).join(""),
    );
  }

  private async startMirror(): Promise<void> {
    const base = this.mirrorDir;
    this.http = createServer((req, res) => {
      const rel = decodeURIComponent((req.url ?? "/").split("?")[0]!);
      const file = path.join(base, path.normalize(rel));
      if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end("not found\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => this.http!.listen(0, "127.0.0.1", resolve));
    this.mirrorUrl = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}/k3s`;
  }

  private async startSshd(extraListen: string[]): Promise<void> {
    // A free loopback port: bind 0, read it, release it (sshd binds it right after).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    this.sshPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const config = path.join(this.dir, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${this.sshPort}`,
        ...["127.0.0.1", ...extraListen].map((a) => `ListenAddress ${a}`),
        `HostKey ${path.join(this.dir, "host_key")}`,
        `PidFile ${path.join(this.dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${path.join(this.dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PrintMotd no",
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
    for (const d of FAKE_ROOT_DIRS) mkdirSync(path.join(this.root, d), { recursive: true });
    const fakeTmp = path.join(this.root, FAKE_TMP);
    mkdirSync(path.join(fakeTmp, path.basename(this.dir)), { recursive: true });
    chmodSync(fakeTmp, 0o1777);
    // Bind mounts need their mountpoints on the real filesystem (a mount namespace does not
    // isolate files): created when missing, left empty afterwards.
    for (const d of FAKE_ROOT_DIRS) mkdirSync(d, { recursive: true });
    mkdirSync("/run/sshd", { recursive: true });
    this.writeFakes();
    const binds = [
      ...FAKE_ROOT_DIRS.map((d) => `mount --bind ${path.join(this.root, d)} ${d}`),
      `mount --bind ${this.dir} ${path.join(fakeTmp, path.basename(this.dir))}`,
      `mount --rbind ${fakeTmp} /tmp`,
    ].join(" && ");
    this.sshd = execa("unshare", ["--mount", "--propagation", "private", "--", "bash", "-c", `${binds} && exec /usr/sbin/sshd -D -e -f ${config}`], {
      reject: false,
      stdin: "ignore",
    });
    let exited: { stderr: unknown } | null = null;
    void this.sshd.then((r) => (exited = r));
    // Bounded wait for the port to answer.
    for (let i = 0; i < 100 && exited === null; i++) {
      const r = await execa("ssh-keyscan", ["-T", "1", "-p", String(this.sshPort), "127.0.0.1"], { reject: false });
      if (r.stdout.includes("ssh-ed25519")) return;
      await new Promise((r2) => setTimeout(r2, 100));
    }
    throw new Error(`sshd did not answer on 127.0.0.1:${this.sshPort}${exited !== null ? `: it exited: ${String((exited as { stderr: unknown }).stderr)}` : ""}`);
  }

  /** (Re)writes the fake commands into the fake root's /usr/local/bin. */
  writeFakes(): void {
    const bin = path.join(this.root, "usr/local/bin");
    const write = (name: string, text: string) => writeFileSync(path.join(bin, name), text, { mode: 0o755 });
    write("systemctl", FAKE_SYSTEMCTL(this.state, this.control));
    write("journalctl", FAKE_JOURNALCTL(this.state, this.control));
    write("nvidia-smi", FAKE_NVIDIA_SMI(this.state));
    for (const name of ["swapon", "swapoff", "modprobe", "sysctl", "update-initramfs"]) write(name, FAKE_RECORDER(name, this.state));
  }

  /** Empties the fake root (a fresh machine), the fake state and the controls. */
  reset(): void {
    for (const d of FAKE_ROOT_DIRS) {
      const dir = path.join(this.root, d);
      for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
    for (const entry of this.tmpEntries()) rmSync(path.join(this.root, FAKE_TMP, entry), { recursive: true, force: true });
    for (const d of [this.state, this.control]) for (const entry of readdirSync(d)) rmSync(path.join(d, entry), { recursive: true, force: true });
    this.writeFakes();
  }

  /** What the scripts left in /tmp (the fake root's; the harness folder's mountpoint aside). */
  tmpEntries(): string[] {
    return readdirSync(path.join(this.root, FAKE_TMP))
      .filter((e) => e !== path.basename(this.dir))
      .sort();
  }

  /** Sets how the fake `systemctl start|restart` behaves and what `journalctl` prints. */
  setControl(start: "ok" | "fail" | "hang", journal = ""): void {
    writeFileSync(path.join(this.control, "start"), start);
    writeFileSync(path.join(this.control, "journal"), journal);
  }

  /** Commands the fakes recorded, one per line. */
  calls(): string[] {
    const file = path.join(this.state, "calls");
    return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
  }

  /** Every file under the fake root: path → content (for byte-identical comparisons). */
  snapshot(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.isFile()) out.set(path.relative(this.root, p), readFileSync(p));
      }
    };
    walk(this.root);
    return out;
  }

  /** Mode bits (e.g. 0o600) of a file under the fake root, by its host path. */
  mode(hostPath: string): number {
    return statSync(path.join(this.root, hostPath)).mode & 0o777;
  }

  /** Content of a file under the fake root, by its host path, or null. */
  read(hostPath: string): string | null {
    const p = path.join(this.root, hostPath);
    return existsSync(p) ? readFileSync(p, "utf8") : null;
  }

  /**
   * Runs `command` as remote.Command would: one SSH session as root, `stdin` as its input,
   * the host key checked against the pinned known_hosts. `onTick` runs every 10 ms meanwhile
   * (the tests sample /proc with it). Bounded by `timeoutMs`.
   */
  async run(command: string, stdin: string, opts: { timeoutMs?: number; onTick?: () => void } = {}): Promise<RemoteRun> {
    const started = Date.now();
    const args = [
      "-T",
      "-p",
      String(this.sshPort),
      "-i",
      this.clientKey,
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${this.knownHosts}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "HostKeyAlgorithms=ssh-ed25519",
      "-o",
      "ConnectTimeout=5",
      "-o",
      "LogLevel=ERROR",
      "root@127.0.0.1",
      command,
    ];
    const child = execa("ssh", args, { input: stdin, reject: false, timeout: opts.timeoutMs ?? 60_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, extendEnv: false });
    const timer = opts.onTick ? setInterval(opts.onTick, 10) : null;
    try {
      const r = await child;
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - started };
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** Stops sshd and the mirror and removes the fake root. */
  async stop(): Promise<void> {
    if (this.sshd) {
      this.sshd.kill("SIGTERM");
      await Promise.race([this.sshd, new Promise((r) => setTimeout(r, 3000))]);
    }
    if (this.http) await new Promise<void>((resolve) => this.http!.close(() => resolve()));
    // Mountpoints created for the bind mounts stay (empty): removing one would unmount it in
    // every namespace (Linux ≥ 3.18), breaking a harness that another test run on this machine
    // is using at the same time.
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Processes whose argv or environment contain any of `needles` right now, as `pid:argv`
 * (reads every /proc/PID/cmdline and /proc/PID/environ; processes that exit meanwhile are skipped).
 */
export function processesHolding(needles: string[]): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    for (const what of ["cmdline", "environ"]) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid}/${what}`, "latin1");
      } catch {
        continue;
      }
      if (needles.some((n) => text.includes(n))) hits.push(`${pid} ${what}: ${text.replace(/\0/g, " ").slice(0, 200)}`);
    }
  }
  return hits;
}

/**
 * A stand-in for the first k3s server's unauthenticated routes on `<ip>:6443` (k3s pkg/server/
 * router.go: `/cacerts` answers the cluster CA bundle; `/static/` is `http.FileServer` of
 * `<data-dir>/server/static`): a CA and a serving certificate for `ip` signed by it (openssl),
 * `/cacerts` = the CA's PEM, so the CA hash a K10 join token pins is the sha256 of that body
 * (docs.k3s.io/cli/token, "TLS Bootstrapping"), `/static/…` from `staticDir`, 404 otherwise.
 * Records each request's method and path.
 */
export class FirstServerStub {
  readonly requests: string[] = [];
  /** The PEM `/cacerts` answers (what a test may replace to play another cluster's server). */
  caPem = "";
  private server: HttpsServer | null = null;

  private constructor(
    readonly ip: string,
    readonly staticDir: string,
    readonly dir: string,
  ) {}

  /** sha256 hex of the `/cacerts` body: the CA hash of the cluster's join tokens. */
  get caHash(): string {
    return createHash("sha256").update(this.caPem).digest("hex");
  }

  /** The K10 URL agents join: `https://<ip>:6443`. */
  get url(): string {
    return `https://${this.ip}:6443`;
  }

  /**
   * Starts on the first free `127.0.61.<n>:6443` (n from 10, at most 40 tries: several test runs
   * on one machine each take their own address), serving `staticDir`.
   */
  static async start(staticDir: string): Promise<FirstServerStub> {
    const dir = mkdtempSync(path.join(tmpdir(), "mine2hpc-first-server-"));
    for (let n = 10 + (process.pid % 200), tries = 0; tries < 40; tries++, n = n >= 250 ? 10 : n + 1) {
      const ip = `127.0.61.${n}`;
      const stub = new FirstServerStub(ip, staticDir, dir);
      await stub.writeCertificates();
      if (await stub.listen()) return stub;
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error("no free 127.0.61.x:6443 for the first-server stub after 40 tries");
  }

  /** Another CA and serving certificate (a re-installed first server or another cluster answering at the same address). */
  async rotateCa(): Promise<void> {
    await this.writeCertificates();
    this.server?.setSecureContext({ key: readFileSync(path.join(this.dir, "server.key")), cert: readFileSync(path.join(this.dir, "server.pem")) });
  }

  private async writeCertificates(): Promise<void> {
    const f = (name: string) => path.join(this.dir, name);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await execa("openssl", ["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=k3s-server-ca", "-keyout", f("ca.key"), "-out", f("ca.pem")]);
    await execa("openssl", ["req", ...ec, "-subj", "/O=k3s/CN=k3s", "-keyout", f("server.key"), "-out", f("server.csr")]);
    writeFileSync(f("server.ext"), `subjectAltName=IP:${this.ip}\n`);
    await execa("openssl", ["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "1", "-extfile", f("server.ext"), "-out", f("server.pem")]);
    this.caPem = readFileSync(f("ca.pem"), "utf8");
  }

  /** Listens on `<ip>:6443`; false when the address is taken. */
  private async listen(): Promise<boolean> {
    const server = createHttpsServer({ key: readFileSync(path.join(this.dir, "server.key")), cert: readFileSync(path.join(this.dir, "server.pem")) }, (req, res) => {
      const url = (req.url ?? "/").split("?")[0]!;
      this.requests.push(`${req.method} ${url}`);
      if (url === "/cacerts") {
        res.writeHead(200, { "content-type": "text/plain" }).end(this.caPem);
        return;
      }
      const rel = url.startsWith("/static/") ? path.normalize(decodeURIComponent(url.slice("/static/".length))) : null;
      const file = rel === null || rel.startsWith("..") ? null : path.join(this.staticDir, rel);
      if (file === null || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end("404 page not found\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(file));
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(6443, this.ip, () => resolve(true));
    });
    if (ok) this.server = server;
    return ok;
  }

  /** Stops listening and removes the certificates. */
  async stop(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
