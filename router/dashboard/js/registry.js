// The fleet's memory (registry/API.md), when a registry is on the realm: runtimes that left long
// ago, trends, alarms, program lineage and the audit trail. Without one the page works from live
// events alone and hides what needs history.
//
// Its presence is its registration of plclink.registry.runtimes: asked once at every join, then
// followed through the registration meta events the fleet already hears, so a registry started
// (or restarted) after the page opened is picked up, and one that stops is noticed.

const PREFIX = "plclink.registry.";
const PROBE = `${PREFIX}runtimes`;

export const registryError = (error) => error?.args?.[0] || error?.error || String(error);

export class Registry extends EventTarget {
  constructor() {
    super();
    this.available = false;
    this.session = null;
  }

  async attach(session) {
    this.session = session;
    this.subscriptions = [];
    await this.probe();
  }

  detach() {
    this.session = null;
    this.setAvailable(false);
  }

  // Called with every registration event the fleet hears (created: true) or its deletion.
  registrationChanged(uri, created) {
    if (uri !== PROBE) return;
    if (created) this.probe(); else this.setAvailable(false);
  }

  // One question at a time (the join and a registration event may both ask); asked again
  // when something changed while it was on its way.
  probe() {
    if (this.probing) {
      this.again = true;
      return this.probing;
    }
    this.again = false;
    this.probing = this.ask().finally(() => {
      this.probing = null;
      if (this.again) this.probe();
    });
    return this.probing;
  }

  async ask() {
    const session = this.session;
    if (!session) return;
    let runtimes;
    try {
      runtimes = await session.call(PROBE);
    } catch (error) {
      if (error.error !== "wamp.error.no_such_procedure") console.warn("registry:", registryError(error));
      this.setAvailable(false);
      return;
    }
    if (session !== this.session) return;
    if (!this.subscriptions.length) {
      this.subscriptions = await Promise.all([
        session.subscribe(`${PREFIX}on_runtime`, ([runtime], kwargs) => this.emit("runtime", runtime || kwargs)),
        session.subscribe(`${PREFIX}on_alarm`, ([alarm], kwargs) => this.emit("alarm", alarm || kwargs)),
        session.subscribe(`${PREFIX}on_rollout`, ([rollout], kwargs) => this.emit("rollout", rollout || kwargs)),
      ]);
    }
    this.setAvailable(true);
    runtimes.forEach((runtime) => this.emit("runtime", runtime));
  }

  setAvailable(available) {
    if (!available && this.subscriptions) {
      this.subscriptions.forEach((subscription) => subscription.active && subscription.unsubscribe());
      this.subscriptions = [];
    }
    if (available === this.available) return;
    this.available = available;
    this.emit("availability", available);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // One procedure by its short name, with keyword arguments (API.md).
  call(name, kwargs = {}) {
    if (!this.session) return Promise.reject(new Error("not connected"));
    return this.session.call(PREFIX + name, [], kwargs);
  }
}
