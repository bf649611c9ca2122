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
