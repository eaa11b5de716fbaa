// Staged rollouts (docs/rollouts.md) as the registry records them, kept live by its
// on_rollout events: the latest few, each with its waves and their state. A running rollout
// not heard of for STALE_S (its IDE died) shows as interrupted: `plclink fleet rollouts
// resume|abort N` finishes it.

import { formatTime, fromEpoch } from "./status.js";

const SHOWN = 5;
const STALE_S = 30;   // ide_component/rollout.py STALE
const REFRESH_MS = 10000;

function stateOf(rollout) {
  if (rollout.state === "running" && Date.now() / 1000 - rollout.updated_at > STALE_S) {
    return "interrupted";
  }
  return rollout.state;
}

function item(rollout) {
  const li = document.createElement("li");
  li.dataset.rollout = rollout.rollout;
  const state = stateOf(rollout);
  li.className = `rollout rollout-${state}`;
  const head = document.createElement("div");
  const title = document.createElement("strong");
  title.textContent = `Rollout ${rollout.rollout}: ${rollout.plan.program}`;
  const badge = document.createElement("span");
  badge.className = "rollout-state";
  badge.textContent = state;
  const who = document.createElement("span");
  who.className = "note";
  who.textContent = ` ${rollout.md5.slice(0, 12)}, by ${rollout.by || "?"}, ` +
    `${formatTime(fromEpoch(rollout.started_at))}` + (rollout.note ? `: ${rollout.note}` : "") +
    (state === "interrupted" ? ` (plclink fleet rollouts resume|abort ${rollout.rollout})` : "");
  head.append(title, " ", badge, who);
  const waves = document.createElement("ol");
  waves.className = "waves";
  rollout.plan.waves.forEach((wave) => {
    const step = document.createElement("li");
    step.className = `wave wave-${wave.state.replace(" ", "-")}`;
    step.textContent = `${wave.canary ? "canary" : `wave ${wave.wave}`}: ${wave.state} ` +
      `(${wave.ids.join(", ")})`;
    step.title = Object.entries(wave.results || {}).map(([id, result]) => `${id}: ${result}`).join("\n");
    waves.append(step);
  });
  li.append(head, waves);
  return li;
}

export class RolloutsPanel {
  constructor(registry, section, list) {
    this.registry = registry;
    this.section = section;
    this.list = list;
    this.rollouts = new Map();
    registry.addEventListener("availability", ({ detail: available }) => {
      section.hidden = true;
      if (available) this.load();
    });
    registry.addEventListener("rollout", ({ detail }) => this.add(detail));
    this.clock = setInterval(() => this.render(), REFRESH_MS);   // "interrupted" shows by itself
  }

  destroy() {
    clearInterval(this.clock);
  }

  async load() {
    try {
      const rollouts = await this.registry.call("rollouts", { limit: SHOWN });
      this.rollouts = new Map(rollouts.map((rollout) => [rollout.rollout, rollout]));
    } catch (error) {   // an older registry without rollouts: the panel stays hidden
      console.info("rollouts:", error.error || error);
      return;
    }
    this.render();
  }

  add(rollout) {
    this.rollouts.set(rollout.rollout, rollout);
    this.render();
  }

  render() {
    const newest = [...this.rollouts.values()].sort((a, b) => b.rollout - a.rollout).slice(0, SHOWN);
    this.section.hidden = !newest.length || !this.registry.available;
    this.list.replaceChildren(...newest.map(item));
  }
}
