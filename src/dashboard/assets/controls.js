// Shared by the views: links, and the action buttons (none in read-only mode).
import { queuePath } from "./api.js";
import { h } from "./dom.js";

/** Which single-task actions apply in which state (as the Inspector allows them). */
export const ACTIONS = {
  run: ["scheduled", "retry", "archived", "completed", "aggregating"],
  archive: ["pending", "scheduled", "retry", "completed", "aggregating"],
  delete: ["pending", "scheduled", "retry", "archived", "completed", "aggregating"],
  cancel: ["active"],
};

export const queueHref = (queue, query = "") => `#/queues/${encodeURIComponent(queue)}${query}`;
export const groupsHref = (queue, group) =>
  `#/queues/${encodeURIComponent(queue)}/groups${group === undefined ? "" : `/${encodeURIComponent(group)}`}`;
export const taskHref = (queue, id) =>
  `#/queues/${encodeURIComponent(queue)}/tasks/${encodeURIComponent(id)}`;

export function button(ctx, label, action, attrs = {}) {
  if (ctx.meta.readOnly) return null;
  return h(
    "button",
    { type: "button", class: "action", "data-action": label, onclick: action, ...attrs },
    label,
  );
}

export function pauseButton(ctx, q) {
  return q.paused
    ? button(ctx, "resume", () => ctx.act(queuePath(q.queue, "resume")))
    : button(ctx, "pause", () => ctx.act(queuePath(q.queue, "pause")));
}

export function taskButtons(ctx, queue, task, after) {
  const single = (action) =>
    ACTIONS[action].includes(task.state)
      ? button(ctx, action, () => {
          if (action === "delete" && !window.confirm(`Delete task ${task.id}?`)) return;
          return ctx.act(queuePath(queue, "tasks", task.id, action), undefined, after);
        })
      : null;
  return [single("run"), single("archive"), single("delete"), single("cancel")];
}
