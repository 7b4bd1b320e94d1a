// The site's only script (no inline JS: the CSP allows just our own files).
// "/" focuses the search box; the matched section of a document scrolls into view; a search box with
// data-suggest gets a list of suggestions as you type (ARIA combobox: arrows, Enter, Esc; /api/suggest); on a
// phone the facets open with the 筛选 button.
//
// Loaded in <head> so that the "js" class is set before the first paint: the stylesheet folds the facets away
// on a phone only when this script runs (without it they stay open), and nothing jumps when it arrives.
(function () {
"use strict";
document.documentElement.classList.add("js");

function start() {
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

  var DELAY = 120; // ms after the last keystroke before asking
  var LIMIT = 8;

  // The ARIA 1.2 combobox pattern: the input keeps the focus and points at the highlighted option with
  // aria-activedescendant; the options are plain text (textContent), never markup.
  function combobox(input) {
    var form = input.form;
    var url = input.getAttribute("data-suggest");
    if (!form || !url) { return; }
    var listId = input.id + "-suggest";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggest";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "搜索建议");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "sr";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    form.classList.add("has-suggest");
    form.appendChild(list);
    form.appendChild(status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    var items = [];
    var active = -1;
    var seq = 0;
    var timer = null;

    function setActive(i) {
      if (active >= 0 && items[active]) { items[active].setAttribute("aria-selected", "false"); }
      active = i;
      if (i >= 0 && items[i]) {
        items[i].setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", items[i].id);
        items[i].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      seq++;
      clearTimeout(timer);
      setActive(-1);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function open() {
      if (!items.length) { return; }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function choose(i) {
      var text = items[i] && items[i].textContent;
      close();
      if (!text) { return; }
      input.value = text;
      form.submit();
    }

    function render(suggestions) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      items = [];
      active = -1;
      input.removeAttribute("aria-activedescendant");
      suggestions.forEach(function (s, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = String(s.text);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); }); // keep the focus in the box
        li.addEventListener("click", function () { choose(i); });
        list.appendChild(li);
        items.push(li);
      });
      status.textContent = items.length ? items.length + " 条建议，可用上下方向键选择" : "";
      if (items.length && document.activeElement === input) { open(); } else { close(); }
    }

    function ask() {
      var q = input.value.trim();
      var mine = ++seq;
      if (!q) { render([]); return; }
      fetch(url + "?q=" + encodeURIComponent(q) + "&limit=" + LIMIT, {headers: {"Accept": "application/json"}})
        .then(function (resp) { return resp.json(); })
        .then(function (data) {
          if (mine === seq && data && data.ok === true) { render(data.suggestions || []); }
        })
        .catch(function () { if (mine === seq) { render([]); } });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    input.addEventListener("keydown", function (e) {
      if (e.isComposing || e.keyCode === 229) { return; } // an input method's own keys (Enter picks its word)
      var shown = !list.hidden;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!items.length) { return; }
        e.preventDefault();
        if (!shown) { open(); return; }
        var step = e.key === "ArrowDown" ? 1 : -1;
        setActive(active < 0 ? (step > 0 ? 0 : items.length - 1) : (active + step + items.length) % items.length);
      } else if (e.key === "Enter" && shown && active >= 0) {
        e.preventDefault();
        choose(active);
      } else if (e.key === "Escape" && shown) {
        e.preventDefault(); // close the list; the box keeps its text
        close();
      } else if (e.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () { close(); });
    form.addEventListener("submit", function () { close(); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), combobox);

  // Under 600 px the stylesheet shows the facets only when open: the button says whether they are (a real
  // button, so it works by touch, keyboard and screen reader alike; no hover needed).
  Array.prototype.forEach.call(document.querySelectorAll(".facets-toggle"), function (toggle) {
    var panel = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!panel) { return; }
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      panel.classList.toggle("open", open);
    });
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
})();
