// Live updates: while this page is visible, listen to the server's change stream and fire
// "drainboard:live" when a queue changes; the parts of the page that listen for it (counts, the
// "N new jobs: show" offer, a job page) fetch themselves again. A hidden tab closes the stream,
// so it costs nothing.
(function () {
  "use strict";
  let source = null;
  let url = null;

  function wanted() {
    const content = document.getElementById("content");
    return content ? content.dataset.live || null : null;
  }

  function refresh() {
    window.htmx.trigger(document.body, "drainboard:live");
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
