// The fleet: every runtime on the realm, native or bridged, kept current from its events.
//
// Crossbar hands retained events only to exact subscriptions (a prefix or wildcard
// subscription gets none), so each runtime's `<ID>.status` is subscribed by its exact URI, and
// the IDs are found through the meta API:
//  - registrations `<ID>.GetPLCstatus` (wamp.registration.list/get, then on_create as they
//    come): the connected runtimes, and since when;
//  - topics that hold a retained `<ID>.status` (wamp.subscription.list/get): runtimes that
//    left before this page opened, announced Disconnected by their testament. A role that may
//    not read subscription details skips this source. A subscribed topic alone is no runtime
//    (anyone may subscribe `X.status`): it is listed once a status event comes.
// After that only events update the fleet: no runtime that publishes is ever polled. Each
// runtime's `<ID>.scan` (retained, every 5 s while Started: its scan cycle's timing, see
// docs/force-model.md) is subscribed beside its status; Beremiz runtimes send none.
// With a registry on the realm (registry.js), its rows add what the realm no longer holds: runtimes
// that left without a retained testament, when each was last seen, and since when it is offline.
//
// A runtime that publishes no status (Beremiz's own WAMP runtime: no retained status, no
// testament) is asked instead: one GetPLCstatus when it is registered and no status event came
// within RETAINED_GRACE_MS, then POLL_INTERVAL_MS after each answer while it stays registered.
// Its disappearance is its registration's deletion (wamp.registration.on_delete, which the
// router sends when the session leaves or drops): Disconnected.
//
// At headquarters a plant's runtimes reach this realm through the plant router's link
// (README, "Sites"): their procedures are registered here by the link, so they are found like
// the others, and their `<ID>.status` events cross to the exact subscription; but a retained
// status never crosses. Their first status and their site come from the registry (its rows'
// `site`); such a runtime is never polled: the registry's on_runtime and the live events
// that cross keep it current.

import { fromEpoch } from "./status.js";

// A runtime's labels: the registry's (those set with `plclink fleet label` over its own), else
// those it publishes with its status (`plclink runtime --label`).
export const labelsOf = (runtime) => runtime.registryLabels || runtime.publishedLabels || {};

const REGISTRATION = /^([^.]+)\.GetPLCstatus$/;
const STATUS_TOPIC = /^([^.]+)\.status$/;
const RETAINED_GRACE_MS = 1500;   // a publishing runtime's status follows its registration at once
const POLL_INTERVAL_MS = 10000;
const POLL_TIMEOUT_MS = 5000;

export class Fleet extends EventTarget {
  constructor() {
    super();
    this.runtimes = new Map();
  }

  async attach(session) {
    this.detach();
    this.session = session;
    this.subscribed = new Set();
    this.registrations = new Map(); // registration id -> runtime ID
    this.procedures = new Map();    // registration id -> procedure URI, for "registration" events
    this.runtimes.forEach((runtime) => { runtime.registered = false; });
    await session.subscribe("wamp.registration.on_create", ([, registration]) => this.registered(registration));
    await session.subscribe("wamp.registration.on_delete", ([, registrationId]) => this.unregistered(registrationId));
    await this.discoverRegistrations(session);
    await this.discoverRetainedStatus(session);
  }

  async discoverRegistrations(session) {
    const { exact } = await session.call("wamp.registration.list");
    // A registration may vanish between the list and the get: skip it.
    const found = await Promise.all(exact.map((id) => session.call("wamp.registration.get", [id]).catch(() => null)));
    found.filter(Boolean).forEach((registration) => this.registered(registration));
  }

  async discoverRetainedStatus(session) {
    const { exact } = await session.call("wamp.subscription.list");
    if (!exact.length) return;
    try {
      await session.call("wamp.subscription.get", [exact[0]]);
    } catch (error) {
      console.info("fleet: this role may not read subscription details:", error.error);
      return;
    }
    const found = await Promise.all(exact.map((id) => session.call("wamp.subscription.get", [id]).catch(() => null)));
    found.forEach((subscription) => {
      const match = subscription && STATUS_TOPIC.exec(subscription.uri);
      if (match) this.watch(match[1]);
    });
  }

  detach() {
    this.runtimes.forEach((runtime) => clearTimeout(runtime.pollTimer));
    this.session = null;
  }

  registered(registration) {
    this.procedures.set(registration.id, registration.uri);
    this.dispatchEvent(new CustomEvent("registration", { detail: { uri: registration.uri, created: true } }));
    const match = REGISTRATION.exec(registration.uri);
    if (!match) return;
    const id = match[1];
    this.registrations.set(registration.id, id);
    const runtime = this.entry(id);
    runtime.connectedSince = new Date(registration.created || Date.now());
    runtime.registered = true;
    this.watch(id);
    this.schedule(runtime, RETAINED_GRACE_MS);
    this.changed(id);
  }

  // A runtime without a testament (e.g. an original Beremiz runtime) only unregisters.
  unregistered(registrationId) {
    const uri = this.procedures.get(registrationId);
    this.procedures.delete(registrationId);
    if (uri) this.dispatchEvent(new CustomEvent("registration", { detail: { uri, created: false } }));
    const id = this.registrations.get(registrationId);
    if (id === undefined) return;
    this.registrations.delete(registrationId);
    const runtime = this.entry(id);
    Object.assign(runtime, { status: "Disconnected", registered: false, publishes: false });
    runtime.lastSeen = new Date();
    this.changed(id);
  }

  entry(id) {
    if (!this.runtimes.has(id)) {
      this.runtimes.set(id, { id, status: null, counts: null, md5: null, bridged: false,
        platform: null, uri: null, tick: null, connectedSince: null, lastSeen: null,
        registered: false, publishes: false, polled: false, polling: false, pollTimer: null,
        kind: null, firstSeen: null, offlineSince: null, site: null, forced: 0, cause: null,
        publishedLabels: {}, registryLabels: null, program: null, scan: null });
    }
    return this.runtimes.get(id);
  }

  watch(id) {
    if (this.subscribed.has(id)) return;
    this.subscribed.add(id);
    this.session.subscribe(`${id}.status`, (args, kwargs, details) => this.statusEvent(id, args, kwargs, details),
      { get_retained: true }).catch((error) => console.warn(`fleet: cannot watch ${id}:`, error));
    this.session.subscribe(`${id}.scan`, (args, kwargs) => this.scanEvent(id, kwargs),
      { get_retained: true }).catch((error) => console.warn(`fleet: cannot watch the scan of ${id}:`, error));
  }

  scanEvent(id, kwargs = {}) {
    this.entry(id).scan = kwargs;
    this.changed(id);
  }

  statusEvent(id, [status, counts], kwargs = {}, details = {}) {
    const runtime = this.entry(id);
    // A retained Disconnected testament says nothing of who is registered now (a bridge's own
    // Disconnected, bridged, does: it holds the registrations of a runtime it cannot reach).
    const stale = details.retained && status === "Disconnected" && !kwargs.bridged;
    if (stale && runtime.registered && !runtime.publishes) return;
    Object.assign(runtime, {
      status, counts, md5: kwargs.md5 || null, bridged: Boolean(kwargs.bridged),
      platform: kwargs.platform || null, uri: kwargs.uri || null, tick: kwargs.tick ?? null,
      forced: Number(kwargs.forced) || 0, cause: kwargs.cause || null,
      publishedLabels: kwargs.labels || {}, program: kwargs.program || null,
    });
    if (!stale) Object.assign(runtime, { publishes: true, polled: false });
    if (!details.retained) runtime.lastSeen = new Date();
    this.changed(id);
  }

  // A registry row (registry/API.md, Runtime). Its times always count; its status only while
  // the page has heard nothing live of the runtime (events and polls are at least as fresh).
  // A linked runtime's row (row.site) also stands in for a poll, which it is at least as fresh as.
  remembered(row) {
    const runtime = this.entry(row.id);
    if (row.site) Object.assign(runtime, { site: row.site, polled: false });
    Object.assign(runtime, {
      kind: row.kind || null, firstSeen: fromEpoch(row.first_seen), lastSeen: fromEpoch(row.last_seen),
      offlineSince: fromEpoch(row.offline_since), registryLabels: row.labels || null,
    });
    if (!runtime.connectedSince && row.connected_since) runtime.connectedSince = fromEpoch(row.connected_since);
    if (row.scan && !runtime.scan) runtime.scan = row.scan;
    const live = runtime.publishes || runtime.polled || (runtime.registered && !row.online);
    if (!live) {
      Object.assign(runtime, {
        status: row.online ? row.status : "Disconnected", counts: row.log_counts || runtime.counts,
        md5: row.md5 || null, platform: row.platform || runtime.platform, bridged: row.kind === "bridged",
        forced: Number(row.forced) || 0, cause: row.cause || null,
      });
    }
    this.changed(row.id);
  }

  schedule(runtime, delay) {
    clearTimeout(runtime.pollTimer);
    runtime.pollTimer = setTimeout(() => this.refresh(runtime.id), delay);
  }

  // Ask a registered runtime that publishes no status for it: on schedule, and after a command.
  async refresh(id) {
    const runtime = this.runtimes.get(id);
    const session = this.session;
    if (!runtime || !runtime.registered || runtime.publishes || runtime.polling || runtime.site ||
        !session) return;
    clearTimeout(runtime.pollTimer);
    runtime.polling = true;
    try {
      const [status, counts] = await session.call(`${id}.GetPLCstatus`, [], {},
        { timeout: POLL_TIMEOUT_MS });
      if (runtime.registered && !runtime.publishes && !runtime.site) {
        Object.assign(runtime, { status, counts, polled: true, lastSeen: new Date() });
        this.changed(id);
      }
    } catch (error) {
      console.warn(`fleet: GetPLCstatus of ${id} failed:`, error.error || error);
    } finally {
      runtime.polling = false;
      if (this.session === session && runtime.registered && !runtime.publishes) {
        this.schedule(runtime, POLL_INTERVAL_MS);
      }
    }
  }

  changed(id) {
    this.dispatchEvent(new CustomEvent("change", { detail: id }));
  }
}
