// The throughput chart: one bar per bucket (10 s) over the last 15 minutes, drawn as SVG by
// hand (no library).
import { svg } from "/ui/dom.js";

const W = 360;
const H = 80;
const TOP = 14;
const BOTTOM = 14;

export function throughputChart(counts, bucketSeconds) {
  const n = counts.length || 1;
  const max = Math.max(1, ...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  const bw = W / n;
  const plot = H - TOP - BOTTOM;
  const bars = counts.map((c, i) => {
    const h = (c / max) * plot;
    return svg("rect", { class: "bar", x: (i * bw + 0.5).toFixed(2), y: (TOP + plot - h).toFixed(2),
      width: Math.max(bw - 1, 0.5).toFixed(2), height: h.toFixed(2) },
    svg("title", {}, `${c} results in ${bucketSeconds} s`));
  });
  const minutes = Math.round((n * bucketSeconds) / 60);
  return svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `${total} results in the last ${minutes} minutes`, "data-total": total },
  svg("line", { class: "axis", x1: 0, y1: TOP + plot + 0.5, x2: W, y2: TOP + plot + 0.5 }),
  bars,
  svg("text", { x: 0, y: 10 }, `peak ${max === 1 && total === 0 ? 0 : max} / ${bucketSeconds} s`),
  svg("text", { x: 0, y: H - 2 }, `−${minutes} min`),
  svg("text", { x: W, y: H - 2, "text-anchor": "end" }, "now"));
}
