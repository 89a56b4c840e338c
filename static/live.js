// Live updates: while this page is visible, listen to the server's change streams and fire an
// event when a queue changes; the parts of the page that listen for it (counts, the "N new
// jobs: show" offer, a job page) fetch themselves again. A page has its own stream
// (#content's data-live: "drainboard:live" on the body); on the front page of several Redis
// servers each connection's group has one (data-live-stream: "drainboard:group-live" on the
// group). A hidden tab closes them, so it costs nothing.
(function () {
  "use strict";
  const open = new Map(); // stream URL -> its EventSource

  function wanted() {
    const urls = new Set();
    if (document.visibilityState !== "visible") return urls;
    const content = document.getElementById("content");
    if (content && content.dataset.live) urls.add(content.dataset.live);
    document.querySelectorAll("[data-live-stream]").forEach(function (element) {
      urls.add(element.dataset.liveStream);
    });
    return urls;
  }

  function tell(url) {
    const content = document.getElementById("content");
    if (content && content.dataset.live === url) {
      window.htmx.trigger(document.body, "drainboard:live");
    }
    document.querySelectorAll("[data-live-stream]").forEach(function (element) {
      if (element.dataset.liveStream === url) window.htmx.trigger(element, "drainboard:group-live");
    });
  }

  function sync() {
    const next = wanted();
    open.forEach(function (source, url) {
      if (!next.has(url)) {
        source.close();
        open.delete(url);
      }
    });
    next.forEach(function (url) {
      if (open.has(url)) return;
      const source = new EventSource(url);
      source.addEventListener("changed", function () {
        tell(url);
      });
      open.set(url, source);
    });
  }

  document.addEventListener("visibilitychange", function () {
    const wasClosed = open.size === 0;
    sync();
    if (wasClosed) open.forEach(function (_, url) { tell(url); }); // what changed while hidden
  });
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
