// The site's only script (no inline JS: the CSP allows just our own files).
// "/" focuses the search box; the matched section of a document scrolls into view.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    var box = document.getElementById("q");
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
    if (e.key === "/" && box && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      box.focus();
      box.select();
    }
  });
  var current = document.querySelector(".doc section.current");
  if (current) {
    current.setAttribute("tabindex", "-1");
    current.scrollIntoView({block: "center"});
    current.focus({preventScroll: true});
  }
})();
