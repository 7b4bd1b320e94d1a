/*! unionsearch widget: put a search box for our documents into any page.
 *
 *   <div id="union-search"></div>
 *   <script src="http://HOST/embed.js" data-target="#union-search" data-per-page="5"></script>
 *
 * Options (attributes of the <script> tag): data-target (CSS selector of the element to fill; default: a new
 * element after the script), data-per-page (1-20, default 5), data-query (a first query to run),
 * data-placeholder. The widget lives in a shadow root (its styles neither leak into nor come from the host
 * page), calls our JSON API cross-origin (the server must list the host page's origin in
 * server.cors_origins), builds every node with textContent and lets only <mark> through from snippets and the
 * marked titles and headings (document_html, heading_path_html). A result from a Word, WPS, PDF or RTF file
 * shows its type; its link carries the query, so the document page marks the query's words too.
 * As you type, a list of suggestions (/api/suggest: Chinese, full pinyin or initials) opens under the box: an ARIA
 * combobox (ArrowUp/ArrowDown, Enter, Esc). Results are counted, and did-you-mean and the partial-match notice
 * shown, as on the site's results page.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) { return; }
  var scriptUrl = new URL(script.src, document.baseURI);
  var BASE = scriptUrl.origin + scriptUrl.pathname.replace(/\/embed\.js$/, "");
  var perPage = Math.max(1, Math.min(20, parseInt(script.getAttribute("data-per-page"), 10) || 5));

  var CSS = [
    ".us-w{all:initial;display:block;box-sizing:border-box;font:15px/1.6 -apple-system,'PingFang SC',",
    "'Microsoft YaHei','Noto Sans CJK SC',sans-serif;color:#1f2328;text-align:left}",
    ".us-w *{box-sizing:border-box}",
    ".us-form{display:flex;margin:0 0 .5em}",
    ".us-input{flex:1;min-width:0;font:inherit;padding:.35em .6em;border:1px solid #d0d7de;",
    "border-radius:6px 0 0 6px;background:#fff;color:inherit}",
    ".us-button{font:inherit;padding:.35em .9em;border:0;border-radius:0 6px 6px 0;background:#b4231e;",
    "color:#fff;cursor:pointer}",
    ".us-status{color:#656d76;font-size:.85em;margin:.2em 0}",
    ".us-list{list-style:none;margin:0;padding:0}",
    ".us-hit{margin:0 0 .8em;padding:0}",
    ".us-title{color:#0b57d0;font-size:1.02em;text-decoration:none}.us-title:hover{text-decoration:underline}",
    ".us-path{color:#b4231e;font-size:.85em}",
    ".us-snippet{margin:.1em 0;font-size:.92em}",
    ".us-snippet mark{background:#ffe58f;color:inherit;padding:0 1px}",
    ".us-meta{color:#656d76;font-size:.8em}",
    ".us-title mark,.us-path mark,.us-also mark{background:#ffe58f;color:inherit;padding:0 1px}",
    ".us-type{display:inline-block;font-size:.72em;line-height:1.35;padding:0 .35em;margin-right:.35em;",
    "border:1px solid #d0d7de;border-radius:4px;color:#656d76;vertical-align:.12em}",
    ".us-pager{display:flex;gap:.8em;align-items:center;font-size:.85em}",
    ".us-pager button{font:inherit;background:none;border:1px solid #d0d7de;border-radius:6px;",
    "padding:.1em .6em;cursor:pointer;color:#0b57d0}",
    ".us-more{color:#0b57d0}",
    ".us-form{position:relative}",
    ".us-suggest{position:absolute;left:0;right:0;top:100%;z-index:5;list-style:none;margin:2px 0 0;padding:.2em 0;",
    "background:#fff;border:1px solid #d0d7de;border-radius:6px;box-shadow:0 4px 12px rgba(0,0,0,.12);",
    "max-height:18em;overflow-y:auto}",
    ".us-suggest[hidden]{display:none}",
    ".us-option{padding:.25em .7em;cursor:pointer;line-height:1.4}",
    ".us-option:hover,.us-option[aria-selected=true]{background:#eef3fc}",
    ".us-option[aria-selected=true]{outline:2px solid #0b57d0;outline-offset:-2px}",
    ".us-notice{background:#fff8e1;padding:.3em .6em;border-radius:6px;font-size:.88em;margin:.3em 0}",
    ".us-notice[hidden]{display:none}",
    ".us-fix{font:inherit;background:none;border:0;padding:0;color:#0b57d0;text-decoration:underline;cursor:pointer}",
    ".us-also{list-style:none;margin:.1em 0 0;padding-left:.8em;border-left:2px solid #d0d7de;font-size:.85em}",
    ".us-also a{color:#0b57d0}",
    ".us-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
  ].join("");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // Snippets (and the *_html titles and headings) are escaped text with <mark> around matches. Parse them
  // inertly (a DOMParser document runs no script and loads nothing) and copy only text and <mark> elements;
  // any other markup becomes its text.
  function appendMarked(parent, html) {
    var body = new DOMParser().parseFromString("<!doctype html><body>" + String(html || ""), "text/html").body;
    body.childNodes.forEach(function (node) {
      if (node.nodeType === 1 && node.tagName === "MARK") {
        parent.appendChild(el("mark", "", node.textContent));
      } else {
        parent.appendChild(document.createTextNode(node.textContent || ""));
      }
    });
  }

  // An http(s) link, with the query added (the document page then marks its words); null for anything else.
  function safeLink(url, q) {
    try {
      var u = new URL(url, BASE);
      if (u.protocol !== "http:" && u.protocol !== "https:") { return null; }
      if (q) { u.searchParams.set("q", q); }
      return u.href;
    } catch (e) {
      return null;
    }
  }

  // Text with <mark>s from an *_html field when the API sends one, else the plain text.
  function marked(node, html, text) {
    if (html) { appendMarked(node, html); } else { node.textContent = String(text || ""); }
    return node;
  }

  var host = null;
  var selector = script.getAttribute("data-target");
  if (selector) {
    try { host = document.querySelector(selector); } catch (e) { host = null; }
  }
  if (!host) {
    host = el("div");
    script.parentNode.insertBefore(host, script.nextSibling);
  }
  host.setAttribute("data-unionsearch", "");
  var root = host.attachShadow ? host.attachShadow({mode: "open"}) : host;
  var style = el("style");
  style.textContent = CSS;
  root.appendChild(style);

  var widget = el("div", "us-w");
  var form = el("form", "us-form");
  form.setAttribute("role", "search");
  var inputId = "us-q-" + Math.random().toString(36).slice(2, 8);
  var label = el("label", "us-sr", "搜索工会文档");
  label.setAttribute("for", inputId);
  var input = el("input", "us-input");
  input.type = "search";
  input.id = inputId;
  input.name = "q";
  input.autocomplete = "off";
  input.placeholder = script.getAttribute("data-placeholder") || "搜索工会文档";
  input.setAttribute("aria-label", "搜索工会文档");
  var button = el("button", "us-button", "搜索");
  button.type = "submit";
  // The suggestion list: the ARIA 1.2 combobox pattern (the box keeps the focus and names the highlighted
  // option with aria-activedescendant; both live in this shadow root, so the id reference resolves).
  var listbox = el("ul", "us-suggest");
  listbox.id = inputId + "-list";
  listbox.setAttribute("role", "listbox");
  listbox.setAttribute("aria-label", "搜索建议");
  listbox.hidden = true;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", listbox.id);
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(button);
  form.appendChild(listbox);
  var status = el("p", "us-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  var notice = el("p", "us-notice");
  notice.hidden = true;
  var didYouMean = el("p", "us-notice us-dym");
  didYouMean.hidden = true;
  var list = el("ol", "us-list");
  var pager = el("div", "us-pager");
  widget.appendChild(form);
  widget.appendChild(status);
  widget.appendChild(notice);
  widget.appendChild(didYouMean);
  widget.appendChild(list);
  widget.appendChild(pager);
  root.appendChild(widget);

  var seq = 0;
  var timer = null;

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function showNotices(data) {
    // As the site's results page: the notice (partial match, corrected query), then did-you-mean when the
    // results are not already those of the suggestion.
    var parts = [];
    if (data.incomplete) { parts.push("部分索引节点暂时不可用，结果可能不完整。"); }
    if (data.notice) { parts.push(String(data.notice)); }
    notice.textContent = parts.join(" ");
    notice.hidden = !parts.length;
    clear(didYouMean);
    didYouMean.hidden = !(data.suggestion && !data.corrected);
    if (!didYouMean.hidden) {
      didYouMean.appendChild(document.createTextNode("您是不是要找："));
      var fix = el("button", "us-fix", data.suggestion);
      fix.type = "button";
      fix.addEventListener("click", function () {
        input.value = String(data.suggestion);
        run(input.value, 1);
      });
      didYouMean.appendChild(fix);
    }
  }

  var FILE_TYPES = {Word: 1, WPS: 1, PDF: 1, RTF: 1};

  function hitItem(r, q) {
    var li = el("li", "us-hit");
    var href = safeLink(r.doc_url, q);
    if (FILE_TYPES[r.file_type] === 1) {
      var kind = el("span", "us-type", r.file_type);
      kind.title = "来源文件：" + r.file_type + " 文档";
      li.appendChild(kind);
    }
    var title = marked(el(href ? "a" : "span", "us-title"), r.document && r.document_html,
                       r.document || r.page_title || r.source);
    if (href) {
      title.href = href;
      title.target = "_blank";
      title.rel = "noopener";
    }
    li.appendChild(title);
    if (r.heading_path) { li.appendChild(marked(el("div", "us-path"), r.heading_path_html, r.heading_path)); }
    var snippet = el("p", "us-snippet");
    appendMarked(snippet, r.snippet);
    li.appendChild(snippet);
    var meta = [r.site, r.date].filter(Boolean);
    if (r.similar) { meta.push("另有 " + r.similar + " 个相似段落"); }
    if (meta.length) { li.appendChild(el("div", "us-meta", meta.join(" · "))); }
    var also = (r.also || []).map(function (a) {
      var link = safeLink(a.doc_url, q);
      if (!link) { return null; }
      var item = el("li");
      var anchor = a.heading ? marked(el("a"), a.heading_html, a.heading) : marked(el("a"), a.document_html, a.document);
      anchor.href = link;
      anchor.target = "_blank";
      anchor.rel = "noopener";
      item.appendChild(anchor);
      return item;
    }).filter(Boolean);
    if (also.length) {
      var ul = el("ul", "us-also");
      ul.setAttribute("aria-label", "本文其他匹配段落");
      also.forEach(function (item) { ul.appendChild(item); });
      li.appendChild(ul);
    }
    return li;
  }

  function render(data, q) {
    clear(list);
    clear(pager);
    showNotices(data);
    if (!data.results.length) {
      status.textContent = data.page > 1 ? "没有更多结果" : "没有找到与“" + q + "”相关的段落，试试更短的词。";
    } else {
      status.textContent = "找到" + (data.total_estimated ? "约" : "") + " " + data.total + " 篇文档，共 " +
        data.total_sections + " 个段落";
    }
    // Links carry the query whose results these are (the corrected one when the search fell back to it).
    var shown = data.corrected || q;
    data.results.forEach(function (r) { list.appendChild(hitItem(r, shown)); });
    if (data.page > 1) {
      var prev = el("button", "us-prev", "上一页");
      prev.type = "button";
      prev.addEventListener("click", function () { run(q, data.page - 1); });
      pager.appendChild(prev);
    }
    if (data.pages > 1) { pager.appendChild(el("span", "", data.page + " / " + data.pages)); }
    if (data.page < data.pages) {
      var next = el("button", "us-next", "下一页");
      next.type = "button";
      next.addEventListener("click", function () { run(q, data.page + 1); });
      pager.appendChild(next);
    }
    if (data.total) {
      var more = el("a", "us-more", "在新窗口查看全部结果");
      more.href = BASE + "/search?q=" + encodeURIComponent(q);
      more.target = "_blank";
      more.rel = "noopener";
      pager.appendChild(more);
    }
  }

  function fail(message) {
    clear(list);
    clear(pager);
    notice.hidden = true;
    didYouMean.hidden = true;
    status.textContent = message;
  }

  function run(q, page) {
    q = q.trim();
    var mine = ++seq;
    clearTimeout(timer);
    if (!q) {
      fail("");
      return;
    }
    status.textContent = "正在搜索…";
    // group=document: results and their count are documents, as on the site's results page and /embed.
    var url = BASE + "/api/search?q=" + encodeURIComponent(q) + "&per_page=" + perPage + "&page=" + (page || 1) +
      "&group=document&client=widget";
    fetch(url, {mode: "cors", credentials: "omit", headers: {"Accept": "application/json"}})
      .then(function (resp) { return resp.json(); })
      .then(function (data) {
        if (mine !== seq) { return; }
        if (!data || data.ok !== true) {
          fail("搜索出错：" + ((data && data.error) || "未知错误"));
          return;
        }
        render(data, q);
      })
      .catch(function () {
        if (mine !== seq) { return; }
        fail("无法连接搜索服务");
      });
  }

  // ---- suggestions as you type -------------------------------------------------------------------------------
  var options = [];
  var active = -1;
  var askSeq = 0;
  var askTimer = null;

  function setActive(i) {
    if (active >= 0 && options[active]) { options[active].setAttribute("aria-selected", "false"); }
    active = i;
    if (i >= 0 && options[i]) {
      options[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[i].id);
      options[i].scrollIntoView({block: "nearest"});
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function closeList() {
    askSeq++;
    clearTimeout(askTimer);
    setActive(-1);
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function openList() {
    if (!options.length) { return; }
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function choose(i) {
    var text = options[i] && options[i].textContent;
    closeList();
    if (!text) { return; }
    input.value = text;
    run(text, 1);
  }

  function showSuggestions(suggestions) {
    clear(listbox);
    options = [];
    active = -1;
    input.removeAttribute("aria-activedescendant");
    suggestions.forEach(function (s, i) {
      var li = el("li", "us-option", s.text);
      li.id = listbox.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.addEventListener("mousedown", function (e) { e.preventDefault(); }); // the box keeps the focus
      li.addEventListener("click", function () { choose(i); });
      listbox.appendChild(li);
      options.push(li);
    });
    var focused = root.activeElement !== undefined ? root.activeElement : document.activeElement;
    if (options.length && focused === input) { openList(); } else { closeList(); }
  }

  function ask() {
    var q = input.value.trim();
    var mine = ++askSeq;
    if (!q) { showSuggestions([]); return; }
    fetch(BASE + "/api/suggest?q=" + encodeURIComponent(q) + "&limit=8",
          {mode: "cors", credentials: "omit", headers: {"Accept": "application/json"}})
      .then(function (resp) { return resp.json(); })
      .then(function (data) {
        if (mine === askSeq && data && data.ok === true) { showSuggestions(data.suggestions || []); }
      })
      .catch(function () { if (mine === askSeq) { showSuggestions([]); } });
  }

  input.addEventListener("keydown", function (e) {
    if (e.isComposing || e.keyCode === 229) { return; } // an input method's own keys (Enter picks its word)
    var shown = !listbox.hidden;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!options.length) { return; }
      e.preventDefault();
      if (!shown) { openList(); return; }
      var step = e.key === "ArrowDown" ? 1 : -1;
      setActive(active < 0 ? (step > 0 ? 0 : options.length - 1) : (active + step + options.length) % options.length);
    } else if (e.key === "Enter" && shown && active >= 0) {
      e.preventDefault();
      choose(active);
    } else if (e.key === "Escape" && shown) {
      e.preventDefault(); // close the list; the box keeps its text
      closeList();
    } else if (e.key === "Tab") {
      closeList();
    }
  });
  input.addEventListener("blur", function () { closeList(); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    closeList();
    run(input.value, 1);
  });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { run(input.value, 1); }, 350);
    clearTimeout(askTimer);
    askTimer = setTimeout(ask, 120);
  });
  var first = script.getAttribute("data-query");
  if (first) {
    input.value = first;
    run(first, 1);
  }
})();
