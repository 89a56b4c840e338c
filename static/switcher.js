// The queue switcher: the filter box hides queues (and empty groups) that do not match, and on
// narrow screens the "Queues" button opens and closes the menu, as "Actions" does the queue's
// actions. Nothing here asks the server.
(function () {
  "use strict";

  function filter(box) {
    const nav = box.closest(".switcher");
    const words = box.value.trim().toLowerCase();
    let shown = 0;
    nav.querySelectorAll(".switcher-group").forEach(function (group) {
      let inGroup = 0;
      group.querySelectorAll("li").forEach(function (item) {
        const match = !words || item.dataset.name.includes(words) ||
          (group.dataset.group || "").toLowerCase().includes(words);
        item.hidden = !match;
        if (match) inGroup += 1;
      });
      group.hidden = inGroup === 0;
      shown += inGroup;
    });
    nav.querySelector(".switcher-none").hidden = shown > 0;
  }

  // A state strip that scrolls sideways (phones) starts at the current tab, not at Active.
  function showCurrentTab() {
    const tab = document.querySelector(".tabs .tab.current");
    if (!tab) return;
    const strip = tab.parentElement;
    if (strip.scrollWidth > strip.clientWidth) strip.scrollLeft = tab.offsetLeft - strip.offsetLeft - 16;
  }
  document.addEventListener("DOMContentLoaded", showCurrentTab);
  document.addEventListener("htmx:afterSettle", showCurrentTab);

  document.addEventListener("input", function (event) {
    if (event.target.matches(".switcher-filter")) filter(event.target);
  });

  document.addEventListener("click", function (event) {
    const actions = event.target.closest(".actions-toggle");
    if (actions) {
      const menu = actions.closest(".actions-menu");
      const opened = !menu.classList.contains("open");
      menu.classList.toggle("open", opened);
      actions.setAttribute("aria-expanded", String(opened));
      return;
    }
    const toggle = event.target.closest(".switcher-toggle");
    if (!toggle) return;
    const nav = toggle.closest(".switcher");
    const open = !nav.classList.contains("open");
    nav.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) nav.querySelector(".switcher-filter").focus();
  });
})();
