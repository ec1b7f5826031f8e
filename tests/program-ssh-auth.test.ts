/**
 * How the program authenticates over SSH (src/program.ts `sshAuth`): the stack's key when
 * `mine2hpc:sshPrivateKey` is set (kept secret), else the SSH agent the Pulumi CLI runs with;
 * a `pulumi up` with neither fails before any host is dialled, saying how to fix it.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { setupMocks } from "./mocks.js";

const saved = process.env.SSH_AUTH_SOCK;
afterEach(() => {
  if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = saved;
});

describe("sshAuth", () => {
  it("uses the stack's key, the SSH agent, or refuses an up with neither", async () => {
    await setupMocks({ stack: "ssh-auth", config: { "mine2hpc:site": "stacks/demo/site.yaml" } });
    const { sshAuth } = await import("../src/program.js");
    const { SSH_AGENT, isSshAgent, sshConnection } = await import("../src/components/host-bootstrap.js");
    // The mocks run an update (not a preview): the program must know how it will dial.
    expect(pulumi.runtime.isDryRun()).toBe(false);

    delete process.env.SSH_AUTH_SOCK;
    expect(() => sshAuth(new pulumi.Config("mine2hpc"))).toThrow(
      'stack ssh-auth: no SSH credentials: set mine2hpc:sshPrivateKey (pulumi config set --secret mine2hpc:sshPrivateKey < key) or run pulumi up with an SSH agent holding the fleet\'s key (eval "$(ssh-agent)"; ssh-add key), which keeps the key out of the stack\'s state',
    );

    process.env.SSH_AUTH_SOCK = "/run/user/1000/ssh-agent.sock";
    const agent = sshAuth(new pulumi.Config("mine2hpc"));
    expect(agent).toBe(SSH_AGENT);
    // A connection without a key: pulumi-command dials SSH_AUTH_SOCK.
    expect(sshConnection({ ip: "10.0.0.5", sshUser: "ops" }, agent)).toEqual({ host: "10.0.0.5", user: "ops", dialErrorLimit: 6, perDialTimeout: 10 });

    pulumi.runtime.setAllConfig({ "mine2hpc:site": "stacks/demo/site.yaml", "mine2hpc:sshPrivateKey": "KEYTEXT" }, ["mine2hpc:sshPrivateKey"]);
    delete process.env.SSH_AUTH_SOCK;
    const key = sshAuth(new pulumi.Config("mine2hpc"));
    expect(isSshAgent(key)).toBe(false);
    const conn = sshConnection({ ip: "10.0.0.5", sshUser: "ops" }, key);
    expect(await pulumi.isSecret(conn.privateKey as pulumi.Output<string>)).toBe(true);
  });
});
