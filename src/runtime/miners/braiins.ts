/**
 * Braiins OS driver: the public gRPC API (braiins/bos-plus-api, proto/bos/v1/*.proto) on
 * port 50051, spoken over cleartext HTTP/2 with node:http2 and hand-encoded protobuf
 * (./grpc.ts).
 *
 * Why gRPC and not another door: bos-plus-api is Braiins' documented public API ("Miner
 * must have port 50051 enabled", README); it has `PauseMining`/`ResumeMining` and its own
 * read-back (`GetMinerStats`, `GetMinerStatus`). The cgminer-compatible API on 4028 has no
 * documented pause. A generated client would pull @grpc/grpc-js and protobuf codegen into
 * the runtime bundle for five tiny messages, so they are encoded by hand, field numbers
 * copied from the protos:
 *
 * - `braiins.bos.v1.AuthenticationService/Login` (authentication.proto):
 *   `LoginRequest { string username = 1; string password = 2; }` →
 *   `LoginResponse { string token = 1; uint32 timeout_s = 2; }`. The token goes in the
 *   `authorization` header of later calls (README "How to use auth token").
 * - `braiins.bos.v1.ActionsService/PauseMining` (actions.proto): `PauseMiningRequest {}` →
 *   `PauseMiningResponse { bool already_paused = 1; }`;
 *   `…/ResumeMining`: `ResumeMiningRequest {}` → `ResumeMiningResponse { bool already_mining = 1; }`.
 * - `braiins.bos.v1.MinerService/GetMinerStats` (miner.proto): `GetMinerStatsRequest {}` →
 *   `GetMinerStatsResponse { PoolStats pool_stats = 1; WorkSolverStats miner_stats = 2; MinerPowerStats power_stats = 3; }`,
 *   `WorkSolverStats { RealHashrate real_hashrate = 1; … }` (work.proto),
 *   `RealHashrate { GigaHashrate last_5s = 1; … }`, `GigaHashrate { double gigahash_per_second = 1; }`,
 *   `MinerPowerStats { Power approximated_consumption = 1; … }`, `Power { uint64 watt = 1; }` (units.proto).
 * - `braiins.bos.v1.MinerService/GetMinerStatus` (server stream): `GetMinerStatusResponse { MinerStatus status = 1; }`,
 *   `MINER_STATUS_NORMAL = 2`, `MINER_STATUS_PAUSED = 3` (miner.proto `enum MinerStatus`).
 *
 * proto3 omits fields at their zero value: a paused miner's `gigahash_per_second` and `watt`
 * may be absent, and count as 0 when their parent message is present.
 */
import { runAction, runStatus } from "./cgminer.js";
import { doubleField, encodeStrings, stringField, subMessage, varintField, withGrpc, decodeMessage, type GrpcConnection } from "./grpc.js";
import { RefusedError, TransportError, type Limits } from "./net.js";
import type { CallOptions, MinerCredential, MinerDriver, MinerTarget, Reading } from "./types.js";

const PKG = "/braiins.bos.v1";
/** `MinerStatus` values (miner.proto). */
export const MINER_STATUS = { NORMAL: 2, PAUSED: 3, SUSPENDED: 4 } as const;

const authority = (m: MinerTarget) => `${m.host.includes(":") ? `[${m.host}]` : m.host}:${m.port}`;

async function login(c: GrpcConnection, cred: MinerCredential | undefined): Promise<Record<string, string>> {
  if (cred === undefined) throw new RefusedError("no credential for the Braiins OS API; add one (byHost, byDriver.braiins or default) to the credentials file");
  const reply = decodeMessage(await c.call(`${PKG}.AuthenticationService/Login`, encodeStrings([[1, cred.user], [2, cred.password]])));
  const token = stringField(reply, 1);
  if (!token) throw new RefusedError("Login returned no token");
  return { authorization: token };
}

async function act(m: MinerTarget, cred: MinerCredential | undefined, method: "PauseMining" | "ResumeMining", l: Limits): Promise<void> {
  await withGrpc(authority(m), l, async (c) => {
    const auth = await login(c, cred);
    await c.call(`${PKG}.ActionsService/${method}`, Buffer.alloc(0), auth);
  });
}

async function read(m: MinerTarget, cred: MinerCredential | undefined, l: Limits): Promise<Reading> {
  return withGrpc(authority(m), l, async (c) => {
    const auth = await login(c, cred);
    const stats = decodeMessage(await c.call(`${PKG}.MinerService/GetMinerStats`, Buffer.alloc(0), auth));
    const solver = subMessage(stats, 2);
    const power = subMessage(stats, 3);
    if (solver === undefined && power === undefined) throw new TransportError("GetMinerStats: reply has neither miner_stats nor power_stats");
    const rate = subMessage(solver, 1, 1);
    const watt = subMessage(power, 1);
    const status = varintField(decodeMessage(await c.call(`${PKG}.MinerService/GetMinerStatus`, Buffer.alloc(0), auth)), 1);
    return {
      hashrateGhs: solver === undefined ? null : (doubleField(rate, 1) ?? 0),
      powerWatts: power === undefined ? null : (varintField(watt, 1) ?? 0),
      // Only NORMAL says "not paused"; NOT_STARTED, SUSPENDED, RESTRICTED say neither.
      sleeping: status === MINER_STATUS.PAUSED ? true : status === MINER_STATUS.NORMAL ? false : null,
    };
  });
}

/** The Braiins OS driver. */
export const braiinsDriver: MinerDriver = {
  name: "braiins",
  curtail: (m, c, o: CallOptions) => runAction(m, "curtail", o, { act: (l) => act(m, c, "PauseMining", l), read: (l) => read(m, c, l) }),
  resume: (m, c, o: CallOptions) => runAction(m, "resume", o, { act: (l) => act(m, c, "ResumeMining", l), read: (l) => read(m, c, l) }),
  status: (m, c, o: CallOptions) => runStatus(m, o, (l) => read(m, c, l)),
};
