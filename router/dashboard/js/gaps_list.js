// The periods the registry recorded nothing (plclink.registry.stats().gaps): from the last record
// it kept to its next start. Shown with the alarms, so an operator reading history knows which
// stretches of it are blind.

import { timeElement } from "./dom.js";
import { registryError } from "./registry.js";
import { formatDuration } from "./status.js";

const SHOWN = 20;   // the newest ones

export async function showGaps(registry, list, summary) {
  let gaps;
  try {
    gaps = (await registry.call("stats")).gaps;
  } catch (error) {
    summary.textContent = `Gaps unavailable: ${registryError(error)}`;
    list.replaceChildren();
    return;
  }
  summary.textContent = gaps.length
    ? `${gaps.length} period(s) without records${gaps.length > SHOWN ? `, the newest ${SHOWN} shown` : ""}:`
    : "None: the registry has recorded without interruption since its first start.";
  list.replaceChildren(...gaps.slice(-SHOWN).reverse().map(([from, to]) => {
    const item = document.createElement("li");
    item.append(timeElement(from), " to ", timeElement(to), ` (${formatDuration(to - from)})`);
    return item;
  }));
}
