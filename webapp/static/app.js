// "/" focuses the search box; the matched section scrolls into view on a document page.
document.addEventListener("keydown", function (e) {
  var box = document.getElementById("q");
  if (e.key === "/" && box && document.activeElement !== box) { e.preventDefault(); box.focus(); box.select(); }
});
var current = document.querySelector(".doc section.current");
if (current) { current.scrollIntoView({block: "center"}); }
