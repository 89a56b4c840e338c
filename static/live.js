// Live updates: while this page is visible, listen to the server's change stream and let htmx
// re-render #content when a queue changes. A hidden tab closes the stream, so it costs nothing.
(function () {
  "use strict";
  let source = null;
  let url = null;

  function wanted() {
    const content = document.getElementById("content");
    return content ? content.dataset.live || null : null;
  }

  function refresh() {
    window.htmx.trigger(document.body, "drainboard:changed");
  }

  function close() {
    if (source) {
      source.close();
      source = null;
    }
  }

  function sync() {
    const next = document.visibilityState === "visible" ? wanted() : null;
    if (next === url && source) return;
    close();
    url = next;
    if (url) {
      source = new EventSource(url);
      source.addEventListener("changed", refresh);
    }
  }

  document.addEventListener("visibilitychange", function () {
    const wasClosed = !source;
    sync();
    if (wasClosed && source) refresh(); // catch up on what changed while hidden
  });
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
