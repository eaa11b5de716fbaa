// What happened on the trend's time axis: installs (lineage), alarms raised and forces made or
// released, as thin vertical lines with a letter at the top (I, A, F), so a change in a curve
// can be read against its cause. A uPlot plugin; the events are asked of the registry.

import { registryError } from "./registry.js";

const STYLES = { install: ["I", "#1f5fbf"], alarm: ["A", "#c5221f"], force: ["F", "#b26a00"] };

export async function loadMarkers(registry, plcId) {
  try {
    const [installs, alarms, forces] = await Promise.all([
      registry.call("lineage", { id: plcId, limit: 200 }),
      registry.call("alarms", { id: plcId, limit: 500 }),
      registry.call("force_history", { id: plcId, limit: 500 }).catch(() => []),
    ]);
    return [...installs.map((i) => ({ time: i.installed_at, kind: "install", text: `installed ${i.name ? `${i.name} ` : ""}${i.md5.slice(0, 12)}` })),
      ...alarms.map((a) => ({ time: a.raised_at, kind: "alarm", text: `${a.priority} ${a.kind}` })),
      ...forces.map((f) => ({ time: f.time, kind: "force", text: `${f.action} ${f.name || f.index}` }))];
  } catch (error) {
    console.warn("trend markers:", registryError(error));
    return [];
  }
}

// uPlot plugin drawing ``markers()`` (a function: they change without a new chart).
export function markerPlugin(markers) {
  return {
    hooks: {
      draw: [(u) => {
        const [min, max] = [u.scales.x.min, u.scales.x.max];
        const shown = markers().filter((m) => m.time >= min && m.time <= max);
        u.root.dataset.markers = String(shown.length);
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.font = `${Math.round(10 * devicePixelRatio)}px sans-serif`;
        ctx.textAlign = "center";
        for (const marker of shown) {
          const [letter, colour] = STYLES[marker.kind];
          const x = Math.round(u.valToPos(marker.time, "x", true));
          ctx.strokeStyle = colour;
          ctx.fillStyle = colour;
          ctx.setLineDash([4, 3]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillText(letter, x, top - 2);
        }
        ctx.restore();
      }],
    },
  };
}
