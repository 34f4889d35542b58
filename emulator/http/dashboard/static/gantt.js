// The instance timeline as SVG: one row per task (or per function when aggregated), episodes
// as bands behind the rows, events as diamonds; click anything for its details.
import { fmtCount, fmtMs, h, s } from "./dom.js";

const LABEL_W = 230;
const ROW_H = 24;
const GROUP_H = 44;
const AXIS_H = 26;
const PAD_R = 70;

const KIND_ICON = { activity: "", suborchestration: "↳ ", timer: "", entity: "entity " };

function niceStep(span, target = 8) {
  const raw = Math.max(span, 1) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function barLabel(bar) {
  if (bar.kind === "timer") return `timer #${bar.seq}`;
  return `${KIND_ICON[bar.kind]}${bar.name}${bar.attempt > 1 ? `  (attempt ${bar.attempt})` : ""}`;
}

// Clickable with the mouse, and with Enter or Space once focused with Tab.
function onActivate(g, handler) {
  g.addEventListener("click", handler);
  g.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      handler();
    }
  });
}

export function drawGantt(container, tl, onSelect) {
  const width = Math.max(640, container.clientWidth || 900);
  const chartW = width - LABEL_W - PAD_R;
  const span = Math.max(tl.span || 0, 1);
  const x = (ms) => LABEL_W + (Math.max(0, ms) / span) * chartW;
  const rows = tl.aggregated ? tl.groups : tl.bars;
  const rowH = tl.aggregated ? GROUP_H : ROW_H;
  const hasPoints = tl.points.length > 0;
  const hasEpisodes = tl.episodes.length > 0;
  const episodeY = AXIS_H + (hasPoints ? ROW_H : 0);
  const top = episodeY + (hasEpisodes ? ROW_H : 0);
  const height = top + rows.length * rowH + 8;
  const root = s("svg", { class: "gantt", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Instance timeline" });

  root.append(s("defs", {},
    s("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      s("rect", { width: 6, height: 6, fill: "#d9dee7" }), s("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#8a94a6", "stroke-width": 2 }))));

  // zebra rows, episodes, axis
  rows.forEach((_, i) => { if (i % 2) root.append(s("rect", { x: 0, y: top + i * rowH, width, height: rowH, class: "zebra" })); });
  for (const [a, b] of tl.episodes) {
    root.append(s("rect", { class: "episode", x: x(a), y: AXIS_H - 4, width: Math.max(1, x(b) - x(a)), height: height - AXIS_H + 4 },
      s("title", {}, `episode ${fmtMs(a)} – ${fmtMs(b)} (${fmtMs(b - a)})`)));
  }
  const step = niceStep(span);
  for (let t = 0; t <= span + 1e-9; t += step) {
    root.append(s("line", { class: "tick", x1: x(t), x2: x(t), y1: AXIS_H - 6, y2: height }),
      s("text", { class: "tick-label", x: x(t), y: AXIS_H - 10, "text-anchor": "middle" }, fmtMs(t)));
  }
  root.append(s("text", { class: "axis-title", x: 8, y: AXIS_H - 10 }, "+ time since start"));
  if (hasEpisodes) {
    root.append(s("text", { class: "row-label", x: 8, y: episodeY + 16 }, `episodes (${tl.episodeCount})`));
    for (const [a, b] of tl.episodes) {
      root.append(s("rect", { class: "episode-mark", x: x(a), y: episodeY + 6, width: Math.max(2, x(b) - x(a)), height: ROW_H - 12, rx: 1 },
        s("title", {}, `orchestrator episode at +${fmtMs(a)}, ran ${fmtMs(b - a)}`)));
    }
  }

  if (hasPoints) {
    const y = AXIS_H + ROW_H / 2;
    root.append(s("text", { class: "row-label", x: 8, y: y + 4 }, "events"));
    tl.points.forEach((p) => {
      const cx = x(p.at);
      const g = s("g", { class: `point clickable kind-${p.kind}`, dataset: { kind: p.kind, name: p.name }, tabindex: 0 },
        s("path", { d: `M${cx} ${y - 7} L${cx + 7} ${y} L${cx} ${y + 7} L${cx - 7} ${y} Z` }),
        s("title", {}, `${p.kind} ${p.name} at ${fmtMs(p.at)}`));
      onActivate(g, () => onSelect({ type: "point", ...p }));
      root.append(g);
    });
  }

  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const hit = s("rect", { class: "hit", x: 0, y, width, height: rowH });
    if (tl.aggregated) drawGroup(root, row, y, x, span, onSelect, hit);
    else drawBar(root, row, y, x, span, onSelect, hit);
  });
  container.replaceChildren(root, legend(tl));
}

function drawBar(root, bar, y, x, span, onSelect, hit) {
  const end = bar.end ?? span;
  const x0 = x(bar.start);
  const w = Math.max(3, x(end) - x0);
  const g = s("g", { class: `bar clickable ${bar.kind} ${bar.outcome}`, dataset: { name: bar.name, kind: bar.kind, outcome: bar.outcome, seq: bar.seq }, tabindex: 0 }, hit,
    s("text", { class: "row-label", x: 8, y: y + 16 }, clip(barLabel(bar), 30)),
    s("rect", { class: "bar-rect", x: x0, y: y + 4, width: w, height: ROW_H - 8, rx: 3 }),
    s("text", { class: "bar-note", x: x0 + w + 5, y: y + 16 }, bar.end === null ? "running…" : fmtMs(end - bar.start)),
    s("title", {}, `${barLabel(bar)}: ${bar.outcome}, ${fmtMs(bar.start)} → ${bar.end === null ? "now" : fmtMs(end)}`));
  onActivate(g, () => onSelect({ type: "bar", ...bar }));
  root.append(g);
}

function drawGroup(root, group, y, x, span, onSelect, hit) {
  const done = group.outcomes.completed || 0;
  const failed = group.outcomes.failed || 0;
  const fired = group.outcomes.fired || 0;
  const open = group.count - done - failed - fired;
  const label = `${KIND_ICON[group.kind]}${group.name} ×${fmtCount(group.count)}`;
  const stats = [done && `✓ ${fmtCount(done)}`, fired && `fired ${fmtCount(fired)}`, failed && `✗ ${fmtCount(failed)}`, open && `… ${fmtCount(open)}`,
    group.duration && `p50 ${fmtMs(group.duration.p50)}`].filter(Boolean).join("  ");
  const g = s("g", { class: `group clickable ${group.kind}`, dataset: { name: group.name, kind: group.kind, count: group.count }, tabindex: 0 }, hit,
    s("text", { class: "row-label", x: 8, y: y + 18 }, clip(label, 30)),
    s("text", { class: "row-sub", x: 8, y: y + 34 }, stats),
    s("rect", { class: "envelope", x: x(group.start), y: y + 5, width: Math.max(3, x(group.end) - x(group.start)), height: GROUP_H - 10, rx: 3 }));
  // stacked in-flight areas: failed at the bottom, then completed, then still open
  const buckets = group.inFlight.completed.length;
  const total = group.inFlight.completed.map((c, i) => c + group.inFlight.failed[i] + group.inFlight.open[i]);
  const peak = Math.max(1, ...total);
  const bw = (x(span) - x(0)) / buckets;
  const base = new Array(buckets).fill(0);
  for (const lane of ["failed", "completed", "open"]) {
    const series = group.inFlight[lane];
    if (!series.some(Boolean)) continue;
    let d = "";
    for (let i = 0; i < buckets; i += 1) {
      const bottom = base[i];
      const topV = bottom + series[i];
      if (series[i] > 0) {
        const yTop = y + GROUP_H - 5 - (topV / peak) * (GROUP_H - 10);
        const yBot = y + GROUP_H - 5 - (bottom / peak) * (GROUP_H - 10);
        d += `M${x(0) + i * bw} ${yBot}V${yTop}H${x(0) + (i + 1) * bw}V${yBot}Z`;
      }
      base[i] = topV;
    }
    g.append(s("path", { class: `area ${lane}`, d }));
  }
  g.append(s("title", {}, `${label}: at most ${fmtCount(peak)} outstanding at once (scheduled, no result yet)`));
  onActivate(g, () => onSelect({ type: "group", ...group, peak }));
  root.append(g);
}

const clip = (text, n) => (text.length <= n ? text : `${text.slice(0, n - 1)}…`);

function legend(tl) {
  const item = (cls, text) => h("span", { class: "legend-item" }, h("span", { class: `swatch ${cls}` }), text);
  return h("div", { class: "legend" },
    item("completed", "completed"), item("failed", "failed"), item("running", "running"),
    item("timer", "timer"), item("cancelled", "cancelled timer"), item("episode", "orchestrator episode"),
    item("point", "event"),
    tl.aggregated ? h("span", { class: "muted" }, ` · ${fmtCount(tl.barCount)} tasks aggregated by function: each row shows how many were outstanding (scheduled, no result yet) over time`) : null);
}
