// Keyboard: "/" focuses the job search in the top bar, as on most sites with a search box. On a
// queue page's job list, j and k move between jobs, Enter opens the focused one in place (its
// button fetches the row's details with htmx; pressed again, it closes them), x selects it and
// r retries it through the row's own Retry button, so the same confirmation is asked.
(function () {
  "use strict";

  function jobRows() {
    return Array.from(document.querySelectorAll("table[data-keys] > tbody > tr[data-job-id]"));
  }

  // The job row the focus is in, or whose opened details hold the focus.
  function currentRow() {
    const active = document.activeElement;
    if (!active || !active.closest) return null;
    const peek = active.closest("tr.peek");
    if (peek) return peek.previousElementSibling;
    return active.closest("tr[data-job-id]");
  }

  function move(step) {
    const rows = jobRows();
    if (!rows.length) return;
    const at = rows.indexOf(currentRow());
    const next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(at + step, 0), rows.length - 1);
    const toggle = rows[next].querySelector(".peek-toggle");
    if (toggle) toggle.focus();
  }

  function retry() {
    const row = currentRow();
    if (!row) return;
    const peek = row.nextElementSibling && row.nextElementSibling.matches("tr.peek") ? row.nextElementSibling : null;
    const button = row.querySelector("[data-key=r]") || (peek && peek.querySelector("[data-key=r]"));
    if (button) button.click();
  }

  // x ticks or unticks the row's checkbox, as a click would (static/select.js counts it).
  function toggle() {
    const row = currentRow();
    const box = row && row.querySelector('input[name="ids[]"]');
    if (box) box.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const box = target.tagName === "INPUT" && target.type === "checkbox";
    const typing = target.isContentEditable || (!box && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) return;
    if (event.key === "/") {
      const box = document.querySelector(".topsearch input");
      if (!box) return;
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      move(event.key === "j" ? 1 : -1);
    } else if (event.key === "r") {
      retry();
    } else if (event.key === "x") {
      toggle();
    }
  });

  // An opened row's button closes it again instead of fetching it twice.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const toggle = event.detail.elt;
    if (!toggle.matches || !toggle.matches(".peek-toggle")) return;
    const next = toggle.closest("tr").nextElementSibling;
    if (next && next.matches("tr.peek")) {
      event.preventDefault();
      next.remove();
      toggle.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const toggle = event.detail.elt;
    if (toggle.matches && toggle.matches(".peek-toggle") && event.detail.successful) {
      toggle.setAttribute("aria-expanded", "true");
    }
  });
})();
