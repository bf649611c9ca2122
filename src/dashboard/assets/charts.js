// Charts, drawn by Chart.js 4 (its UMD build, served by the dashboard as assets/chart.umd.min.js and
// loaded before this module; never from a CDN). Without it the page shows the numbers as text.
import { get, queuePath } from "./api.js";
import { h } from "./dom.js";

let current;

/** Processed and failed per day over the last `days` days of a queue, oldest first. */
export async function historyChart(queue, days) {
  const { history } = await get(`${queuePath(queue, "history")}?days=${days}`);
  const rows = [...history].reverse();
  current?.destroy();
  current = undefined;
  const Chart = window.Chart;
  if (Chart === undefined) {
    const sum = (key) => rows.reduce((n, d) => n + d[key], 0);
    return h(
      "p",
      { class: "muted" },
      `last ${days} days: processed ${sum("processed")}, failed ${sum("failed")}`,
    );
  }
  const canvas = h("canvas", { width: 720, height: 200, id: "history-chart", "data-days": days });
  current = new Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map((d) => d.date.slice(5)),
      datasets: [
        { label: "processed", data: rows.map((d) => d.processed), backgroundColor: "#2f6fdf" },
        { label: "failed", data: rows.map((d) => d.failed), backgroundColor: "#c0392b" },
      ],
    },
    options: {
      responsive: false,
      animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  return h("div", { class: "chart" }, canvas);
}

let live;

const rate = (n) => (n >= 10 ? n.toFixed(0) : n.toFixed(2));

/**
 * The overview's live throughput (throughput.js samples): processed and failed per second. The
 * figure under it carries the number of points and of tasks processed in the window as data
 * attributes.
 */
export function throughputChart(points, windowMs) {
  live?.destroy();
  live = undefined;
  const rates = points.filter((p) => !p.gap);
  const tasks = rates.reduce((n, p) => n + p.tasks, 0);
  const latest = rates.at(-1);
  const caption = h(
    "p",
    { id: "throughput", class: "muted", "data-points": rates.length, "data-tasks": tasks },
    latest === undefined
      ? "Throughput: measuring (two refreshes are needed)…"
      : `Throughput now: ${rate(latest.processed)} processed/s, ${rate(latest.failed)} failed/s · ${tasks.toLocaleString("en-US")} processed in the chart's window (up to ${Math.round(windowMs / 60_000)} min)`,
  );
  const Chart = window.Chart;
  const title = h("h2", {}, "Live throughput");
  if (Chart === undefined || rates.length === 0) return h("div", { class: "live" }, title, caption);
  const canvas = h("canvas", { width: 720, height: 180, id: "throughput-chart" });
  const value = (key) => points.map((p) => (p.gap ? null : p[key]));
  live = new Chart(canvas, {
    type: "line",
    data: {
      labels: points.map((p) => new Date(p.at).toISOString().slice(11, 19)),
      datasets: [
        { label: "processed/s", data: value("processed"), borderColor: "#2f6fdf", pointRadius: 0 },
        { label: "failed/s", data: value("failed"), borderColor: "#c0392b", pointRadius: 0 },
      ],
    },
    options: {
      responsive: false,
      animation: false,
      spanGaps: false,
      scales: { y: { beginAtZero: true } },
    },
  });
  return h("div", { class: "live" }, title, h("div", { class: "chart" }, canvas), caption);
}
