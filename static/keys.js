// Keyboard: "/" focuses the job search in the top bar, as on most sites with a search box.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    if (typing) return;
    const box = document.querySelector(".topsearch input");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
