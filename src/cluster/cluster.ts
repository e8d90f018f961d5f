/**
 * Cluster membership and the replication of the cluster state.
 *
 * Spreading a change: the writer pushes its new entries straight to every
 * member (one message per member, so traffic per change grows linearly with
 * the cluster, never quadratically). Every member also pulls deltas from
 * every other member every `syncIntervalMs` (anti-entropy: catches up after
 * restarts, lost pushes and partitions, and relays writes of owners it
 * cannot reach itself).
 *
 * Membership: a member is a host with a live `node/<host>/address` entry
 * that is not marked `cluster/removed/<host>`. Joining proves knowledge of
 * the cluster secret to any member; leaving (or the forced removal of a
 * dead node) marks the host removed, after which its requests are refused
 * and its entries dropped everywhere.
 */
import path from "node:path";
import { makeDirectoryDurable } from "../platform/storage/atomic-file.js";
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.js";
import { PeerCallError, type PeerClient, type PeerCredentials } from "../peer/client.js";
import { PeerError, type PeerAuthSource, type PeerRequest, type PeerServer } from "../peer/server.js";
import type { Clock, TimerHandle } from "../platform/clock.js";
import type { Random } from "../platform/random.js";
import type { Storage } from "../platform/storage/types.js";
import { OperatorError, errorMessage } from "../util/errors.js";
import type { LamportClock, StampUs } from "../log/lamport-clock.js";
import {
  CLUSTER_ID_PATTERN,
  MIN_SECRET_LENGTH,
  generateClusterId,
  generateSecret,
  readIdentity,
  removeIdentity,
  writeIdentity,
  type ClusterIdentity,
} from "./identity.js";
import { Keys, hostOfKey } from "./keys.js";
import { PeerLink, type PullResponse, type PushRequest } from "./peer-link.js";
import { StateStore, type StateEntry } from "./state-store.js";

export interface ClusterSettings {
  host: string;
  /** The address other nodes use to reach our peer listener. */
  advertise: string;
  /** Per-host address overrides (NAT, proxies, tests), as MARS's --ip-<peer>. */
  addressOverrides: Record<string, string>;
  syncIntervalMs: number;
  retryMaxMs: number;
  /** A member counts as alive if we heard from it within this window. */
  aliveWindowMs: number;
  /** Pushes in flight at once (fan-out bound). */
  pushConcurrency: number;
  /** Tombstones are kept at least this long, and until every member has seen them. */
  tombstoneMinAgeMs: number;
}

export interface MemberStatus {
  host: string;
  address: string;
  self: boolean;
  alive: boolean;
  lastContactAgeMs?: number;
  rttMs?: number;
  clockSkewMs?: number;
  lastError?: string;
}

interface JoinRequest {
  host: string;
  address: string;
  entries: StateEntry[];
}

interface JoinResponse {
  clusterId: string;
  entries: StateEntry[];
  complete: Record<string, StampUs>;
}

export interface ClusterDeps {
  dataDir: string;
  settings: ClusterSettings;
  clock: LamportClock;
  time: Clock;
  /** Jitter, generations, and the ids and secrets of new clusters (crypto-grade in production). */
  random: Random;
  storage: Storage;
  metrics: Metrics;
  logger: Logger;
  server: PeerServer;
  client: PeerClient;
}

export class ClusterService implements PeerAuthSource {
  private identity: ClusterIdentity | undefined;
  private readonly links = new Map<string, PeerLink>();
  /** Each member's completeness map as it last told us (in its pulls): for tombstone collection. */
  private readonly seenBy = new Map<string, Record<string, StampUs>>();
  private lastPushedUs: StampUs = 0;
  private pushScheduled = false;
  private pushing: Promise<void> | undefined;
  private gcTimer: TimerHandle | undefined;
  private stopped = false;
  private readonly pullListeners: Array<(host: string) => void> = [];
  /** Asked before this node leaves: a reason why it may not (e.g. it is still in a resource). */
  leaveBlocker: () => string | undefined = () => undefined;

  private constructor(
    private readonly deps: ClusterDeps,
    readonly state: StateStore,
    private readonly dir: string,
  ) {}

  static async open(deps: ClusterDeps): Promise<ClusterService> {
    const dir = path.join(deps.dataDir, "cluster");
    await makeDirectoryDurable(dir, deps.storage, { mode: 0o700 });
    const state = await StateStore.load(
      dir,
      deps.settings.host,
      deps.clock,
      deps.logger,
      deps.storage,
      deps.random,
    );
    const service = new ClusterService(deps, state, dir);
    service.identity = await readIdentity(deps.storage, dir);
    return service;
  }

  get host(): string {
    return this.deps.settings.host;
  }

  // --- PeerAuthSource -------------------------------------------------------

  clusterId(): string | undefined {
    return this.identity?.clusterId;
  }

  secret(): string | undefined {
    return this.identity?.secret;
  }

  isRemoved(host: string): boolean {
    return this.state.value<boolean>(Keys.removed(host)) === true;
  }

  /** Entries of a removed host are refused (only removal records pass), so stale relays cannot resurrect it. */
  readonly refuseFromRemoved = (entry: StateEntry): boolean =>
    !entry.key.startsWith("cluster/removed/") && this.isRemoved(entry.owner);

  private credentials(): PeerCredentials | undefined {
    return this.identity && { clusterId: this.identity.clusterId, secret: this.identity.secret };
  }

  // --- lifecycle ------------------------------------------------------------

  start(): void {
    const { server } = this.deps;
    server.route("POST /peer/v1/join", (req) => this.onJoin(req), "state");
    server.route("POST /peer/v1/state/pull", (req) => this.onPull(req));
    server.route("POST /peer/v1/state/push", (req) => this.onPush(req), "state");
    this.state.on("change", (entry, source) => this.onChange(entry, source));
    this.reconcileLinks();
    this.gcTimer = this.deps.time.setRepeating(60_000, () => this.collectGarbage()).unref();
    this.deps.metrics.clusterGaugeSource = () => this.gauges();
    if (this.identity) this.schedulePush();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.gcTimer?.cancel();
    for (const link of this.links.values()) link.stop();
    this.links.clear();
    await this.pushing?.catch(() => undefined);
    await this.state.close();
  }

  // --- membership -----------------------------------------------------------

  /** Hosts that are members, including this one (when in a cluster). */
  members(): string[] {
    const hosts = new Set<string>();
    for (const e of this.state.list("node/")) {
      const host = hostOfKey(e.key);
      if (host && e.key === Keys.nodeAddress(host) && !this.isRemoved(host)) hosts.add(host);
    }
    return [...hosts].sort();
  }

  addressOf(host: string): string | undefined {
    return this.deps.settings.addressOverrides[host] ?? this.state.value<string>(Keys.nodeAddress(host));
  }

  /** Whether we heard from `host` within the alive window (always true for ourselves). */
  isAlive(host: string): boolean {
    if (host === this.host) return true;
    const ageMs = this.links.get(host)?.contactAgeMs();
    return ageMs !== undefined && ageMs <= this.deps.settings.aliveWindowMs;
  }

  /**
   * Whether a pull from `host` was answered since this process started: we
   * then know every entry it held (a restarted primary confirms its
   * designation this way before it exports anything).
   */
  exchangedSinceStart(host: string): boolean {
    return host === this.host || this.links.get(host)?.exchangedSinceStart === true;
  }

  /** `listener` runs after every answered pull, with the peer's name. */
  /**
   * Pulls from every reachable member now and resolves when each pull ended
   * (failures included): for an operation that depends on an entry another
   * node may have written a moment ago (joining a resource just created).
   */
  async catchUp(): Promise<void> {
    await Promise.allSettled([...this.links.values()].map((l) => l.pullNow()));
  }

  onStateExchanged(listener: (host: string) => void): void {
    this.pullListeners.push(listener);
  }

  link(host: string): PeerLink | undefined {
    return this.links.get(host);
  }

  async create(params: {
    clusterId?: string;
    secret?: string;
  }): Promise<{ changed: boolean; clusterId: string; secret: string }> {
    if (this.identity) {
      const same =
        (params.clusterId === undefined || params.clusterId === this.identity.clusterId) &&
        (params.secret === undefined || params.secret === this.identity.secret);
      if (!same) {
        throw new OperatorError(
          "CLUSTER_CONFLICT",
          `this node already belongs to cluster ${this.identity.clusterId}`,
        );
      }
      return { changed: false, clusterId: this.identity.clusterId, secret: this.identity.secret };
    }
    const clusterId = params.clusterId ?? generateClusterId(this.host, this.deps.random);
    const secret = params.secret ?? generateSecret(this.deps.random);
    this.checkIdentityParams(clusterId, secret);
    await this.adopt({ format: 1, clusterId, secret, joinedStampUs: this.deps.clock.now() });
    this.deps.logger.info({ clusterId }, "created cluster");
    return { changed: true, clusterId, secret };
  }

  async join(params: { peer: string; secret: string }): Promise<{ changed: boolean; clusterId: string }> {
    if (params.secret.length < MIN_SECRET_LENGTH) {
      throw new OperatorError(
        "CLUSTER_CONFLICT",
        `the cluster secret must have at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
    if (this.identity) {
      // Already a member: answer from what we know, so a re-run (Ansible)
      // succeeds even while the named peer is down. Only the secret can be
      // compared; a different cluster with the same secret is not plausible.
      if (this.identity.secret !== params.secret) {
        throw new OperatorError(
          "CLUSTER_CONFLICT",
          `this node already belongs to cluster ${this.identity.clusterId} (with another secret)`,
        );
      }
      return { changed: false, clusterId: this.identity.clusterId };
    }
    const request: JoinRequest = {
      host: this.host,
      address: this.deps.settings.advertise,
      entries: this.state.ownEntriesAfter(0).filter((e) => e.key.startsWith("node/")),
    };
    if (!request.entries.some((e) => e.key === Keys.nodeAddress(this.host))) {
      request.entries.push({
        key: Keys.nodeAddress(this.host),
        value: this.deps.settings.advertise,
        stampUs: this.deps.clock.now(),
        owner: this.host,
      });
    }
    let answer: JoinResponse;
    try {
      const result = await this.deps.client.call<JoinResponse>(
        { clusterId: "", secret: params.secret },
        params.peer,
        "POST",
        "/peer/v1/join",
        request,
      );
      answer = result.body;
    } catch (err) {
      throw new OperatorError(
        "PEER_UNREACHABLE",
        `joining through ${params.peer} failed: ${errorMessage(err)}`,
      );
    }
    if (
      typeof answer.clusterId !== "string" ||
      !CLUSTER_ID_PATTERN.test(answer.clusterId) ||
      !Array.isArray(answer.entries)
    ) {
      throw new OperatorError("PEER_UNREACHABLE", `${params.peer} gave a malformed join answer`);
    }
    this.state.merge(answer.entries, "join", this.refuseFromRemoved);
    for (const [owner, stamp] of Object.entries(answer.complete ?? {})) {
      if (owner !== this.host) this.state.noteComplete(owner, stamp);
    }
    await this.adopt({
      format: 1,
      clusterId: answer.clusterId,
      secret: params.secret,
      joinedStampUs: this.deps.clock.now(),
    });
    this.deps.logger.info({ clusterId: answer.clusterId, via: params.peer }, "joined cluster");
    return { changed: true, clusterId: answer.clusterId };
  }

  async leave(params: { host?: string; force?: boolean }): Promise<{ changed: boolean }> {
    if (!this.identity) return { changed: false };
    const target = params.host ?? this.host;
    if (target !== this.host) {
      if (!params.force) {
        throw new OperatorError("CLUSTER_CONFLICT", `removing another node (${target}) needs force: true`);
      }
      if (!this.members().includes(target)) return { changed: false };
      this.state.set(Keys.removed(target), true);
      await this.state.flush();
      this.deps.logger.warn({ host: target }, "removed a node from the cluster");
      return { changed: true };
    }
    const blocker = this.leaveBlocker();
    if (blocker) throw new OperatorError("CLUSTER_CONFLICT", `this node cannot leave: ${blocker}`);
    this.state.set(Keys.removed(this.host), true);
    await this.state.flush();
    const peers = [...this.links.values()];
    const payload = this.pushPayload(0);
    // The regular push may have told a peer first; its refusal ("removed") is then the acknowledgement.
    const results = await Promise.allSettled(
      peers.map((l) =>
        l.push(payload).catch((err: unknown) => {
          if (!(err instanceof PeerCallError && err.code === "removed")) throw err;
        }),
      ),
    );
    if (peers.length > 0 && !results.some((r) => r.status === "fulfilled") && !params.force) {
      // Nobody heard it: stay a member rather than vanish silently.
      this.state.set(Keys.removed(this.host), false);
      await this.state.flush();
      const reasons = results.map(
        (r, i) => `${peers[i]?.host}: ${r.status === "rejected" ? errorMessage(r.reason) : "ok"}`,
      );
      throw new OperatorError(
        "PEER_UNREACHABLE",
        `no member could be told that this node leaves (${reasons.join("; ")}); use force to leave anyway`,
      );
    }
    for (const link of this.links.values()) link.stop();
    this.links.clear();
    this.identity = undefined;
    await removeIdentity(this.deps.storage, this.dir);
    await this.state.clear();
    this.lastPushedUs = 0;
    this.deps.logger.info("left the cluster");
    return { changed: true };
  }

  status() {
    const members: MemberStatus[] = this.members().map((host) => {
      const link = this.links.get(host);
      const self = host === this.host;
      const s: MemberStatus = { host, address: this.addressOf(host) ?? "", self, alive: this.isAlive(host) };
      const contactAgeMs = link?.contactAgeMs();
      if (contactAgeMs !== undefined) s.lastContactAgeMs = Math.round(contactAgeMs);
      if (link?.rttMs !== undefined) s.rttMs = link.rttMs;
      if (link?.clockSkewMs !== undefined) s.clockSkewMs = Math.round(link.clockSkewMs);
      if (link?.lastError !== undefined) s.lastError = link.lastError;
      return s;
    });
    return {
      host: this.host,
      ...(this.identity ? { clusterId: this.identity.clusterId } : {}),
      lamportStampUs: this.deps.clock.latest(),
      lamportAheadOfWallUs: this.deps.clock.aheadOfWallUs(),
      members,
    };
  }

  /** Writes a key of ours and spreads it; resolves once it is persisted locally. */
  async set(key: string, value: unknown): Promise<boolean> {
    const changed = this.state.set(key, value) !== undefined;
    await this.state.flush();
    return changed;
  }

  async delete(key: string): Promise<boolean> {
    const changed = this.state.delete(key) !== undefined;
    await this.state.flush();
    return changed;
  }

  // --- internals ------------------------------------------------------------

  private checkIdentityParams(clusterId: string, secret: string): void {
    if (!CLUSTER_ID_PATTERN.test(clusterId))
      throw new OperatorError("CLUSTER_CONFLICT", `invalid cluster id ${clusterId}`);
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new OperatorError(
        "CLUSTER_CONFLICT",
        `the cluster secret must have at least ${MIN_SECRET_LENGTH} characters`,
      );
    }
  }

  private async adopt(identity: ClusterIdentity): Promise<void> {
    await writeIdentity(this.deps.storage, this.dir, identity);
    this.identity = identity;
    if (this.isRemoved(this.host)) this.state.set(Keys.removed(this.host), false);
    this.state.set(Keys.nodeAddress(this.host), this.deps.settings.advertise);
    await this.state.flush();
    this.reconcileLinks();
    this.schedulePush();
    // Catch up at once instead of waiting for the first periodic pull.
    await this.catchUp();
  }

  private onJoin(req: PeerRequest): JoinResponse {
    const body = parseJson<JoinRequest>(req.body);
    if (!body || body.host !== req.host || typeof body.address !== "string" || !Array.isArray(body.entries)) {
      throw new PeerError(400, "bad-request", "malformed join request");
    }
    const identity = this.identity;
    if (!identity) throw new PeerError(409, "not-in-cluster", "this node is not in a cluster");
    const existing = this.state.value<string>(Keys.nodeAddress(req.host));
    if (
      existing &&
      existing !== body.address &&
      !this.isRemoved(req.host) &&
      this.isAlive(req.host) &&
      req.host !== this.host
    ) {
      throw new PeerError(409, "host-in-use", `a live member is already called ${req.host} (at ${existing})`);
    }
    if (req.host === this.host)
      throw new PeerError(409, "host-in-use", `${req.host} is this node's own name`);
    if (this.isRemoved(req.host)) this.state.set(Keys.removed(req.host), false);
    this.state.merge(
      body.entries.filter((e) => e && typeof e === "object" && e.owner === req.host),
      req.host,
      this.refuseFromRemoved,
    );
    this.links.get(req.host)?.noteContact();
    return {
      clusterId: identity.clusterId,
      entries: this.state.entriesSince({}),
      complete: this.completeness(),
    };
  }

  private onPull(req: PeerRequest): PullResponse {
    const body = parseJson<Record<string, unknown>>(req.body);
    this.links.get(req.host)?.noteContact();
    if (
      body &&
      typeof body.digest === "string" &&
      typeof body.horizonUs === "number" &&
      typeof body.sincePeerUs === "number"
    ) {
      // Short form: if we agree on every other owner, only our own newer writes are missing there.
      if (body.digest !== this.state.seenDigest([req.host, this.host], body.horizonUs))
        return { mismatch: true };
      this.seenBy.set(req.host, { ...this.state.seen(), [this.host]: body.sincePeerUs });
      return {
        entries: this.state.ownEntriesAfter(body.sincePeerUs),
        complete: { [this.host]: this.state.ownMaxStampUs() },
      };
    }
    if (!body || typeof body.since !== "object" || body.since === null) {
      throw new PeerError(400, "bad-request", "malformed pull request");
    }
    const since: Record<string, StampUs> = {};
    for (const [owner, stamp] of Object.entries(body.since))
      if (typeof stamp === "number") since[owner] = stamp;
    this.seenBy.set(req.host, since);
    return { entries: this.state.entriesSince(since), complete: this.completeness() };
  }

  private onPush(req: PeerRequest): { ok: true } {
    const body = parseJson<PushRequest>(req.body);
    if (
      !body ||
      !Array.isArray(body.entries) ||
      typeof body.basisUs !== "number" ||
      typeof body.upToUs !== "number"
    ) {
      throw new PeerError(400, "bad-request", "malformed push");
    }
    // A node pushes only what it wrote itself.
    this.state.merge(
      body.entries.filter((e) => e && typeof e === "object" && e.owner === req.host),
      req.host,
      this.refuseFromRemoved,
    );
    // Contiguous with what we hold: we now hold everything the sender wrote up to upToUs.
    if (body.basisUs <= (this.state.seen()[req.host] ?? 0)) this.state.noteComplete(req.host, body.upToUs);
    this.links.get(req.host)?.noteContact();
    return { ok: true };
  }

  /** What our answers are complete up to, per owner. */
  private completeness(): Record<string, StampUs> {
    const complete = this.state.seen();
    // Every entry we wrote is here, and anything we write later gets a higher stamp. (Not
    // "now": a value that moves only when we write keeps everyone's maps, and digests, equal.)
    complete[this.host] = this.state.ownMaxStampUs();
    return complete;
  }

  private onChange(entry: StateEntry, source: "local" | "remote"): void {
    this.deps.metrics.clusterStateChanges.labels(source).inc();
    if (entry.key.startsWith("node/") || entry.key.startsWith("cluster/removed/")) {
      const host = hostOfKey(entry.key);
      if (host && entry.key === Keys.removed(host) && entry.value === true && host !== this.host) {
        const dropped = this.state.forgetOwner(host);
        this.deps.logger.info({ host, dropped }, "dropped the state of a removed node");
      }
      this.reconcileLinks();
    }
    if (source === "local") this.schedulePush();
  }

  private reconcileLinks(): void {
    if (this.stopped) return;
    const wanted = new Set(this.identity ? this.members().filter((h) => h !== this.host) : []);
    for (const [host, link] of this.links) {
      if (!wanted.has(host)) {
        link.stop();
        this.links.delete(host);
        // A former member is not an unreachable peer: its series go with it.
        this.deps.metrics.peerLastContact.remove(host);
        this.deps.metrics.peerClockSkew.remove(host);
      }
    }
    for (const host of wanted) {
      const address = this.addressOf(host);
      if (!address) continue;
      const existing = this.links.get(host);
      if (existing) {
        existing.address = address;
        continue;
      }
      const link = new PeerLink(
        host,
        address,
        this.host,
        this.deps.client,
        () => this.credentials(),
        this.state,
        { syncIntervalMs: this.deps.settings.syncIntervalMs, retryMaxMs: this.deps.settings.retryMaxMs },
        this.deps.time,
        this.deps.random,
        this.deps.metrics,
        this.deps.logger,
        this.refuseFromRemoved,
        (h) => {
          for (const listener of this.pullListeners) listener(h);
        },
      );
      this.links.set(host, link);
      link.start();
    }
  }

  private pushPayload(basisUs: StampUs): PushRequest {
    const entries = this.state.ownEntriesAfter(basisUs);
    const upToUs = entries.reduce((max, e) => Math.max(max, e.stampUs), basisUs);
    return { basisUs, upToUs, entries };
  }

  /** Coalesces local changes into one push to every member. */
  private schedulePush(): void {
    if (this.pushScheduled || this.stopped) return;
    this.pushScheduled = true;
    queueMicrotask(() => {
      void this.runPushes();
    });
  }

  private async runPushes(): Promise<void> {
    while (this.pushing) await this.pushing.catch(() => undefined);
    this.pushScheduled = false;
    if (!this.identity || this.stopped) return;
    const payload = this.pushPayload(this.lastPushedUs);
    if (payload.entries.length === 0) return;
    this.lastPushedUs = payload.upToUs;
    const links = [...this.links.values()];
    this.pushing = (async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < links.length) {
          const link = links[next++] as PeerLink;
          await link.push(payload).catch(() => undefined);
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(this.deps.settings.pushConcurrency, links.length) }, worker),
      );
    })();
    try {
      await this.pushing;
    } finally {
      this.pushing = undefined;
    }
  }

  private collectGarbage(): void {
    const collected = this.state.collectTombstones(
      this.members(),
      this.seenBy,
      this.deps.settings.tombstoneMinAgeMs * 1000,
    );
    if (collected > 0) this.deps.logger.debug({ collected }, "collected tombstones");
  }

  /** Gauges computed when /metrics is scraped, not on every change. */
  gauges() {
    return {
      members: this.identity ? this.members().length : 0,
      entries: this.state.size,
      tombstones: this.state.tombstoneCount,
      lamportAheadUs: this.deps.clock.aheadOfWallUs(),
    };
  }
}

function parseJson<T>(body: Buffer): T | undefined {
  try {
    const value = JSON.parse(body.toString("utf8")) as unknown;
    return typeof value === "object" && value !== null ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}
