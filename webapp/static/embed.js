/*! unionsearch widget: put a search box for our documents into any page.
 *
 *   <div id="union-search"></div>
 *   <script src="http://HOST/embed.js" data-target="#union-search" data-per-page="5"></script>
 *
 * Options (attributes of the <script> tag): data-target (CSS selector of the element to fill; default: a new
 * element after the script), data-per-page (1-20, default 5), data-query (a first query to run),
 * data-placeholder. The widget lives in a shadow root (its styles neither leak into nor come from the host
 * page), calls our JSON API cross-origin (the server must list the host page's origin in
 * server.cors_origins), builds every node with textContent and lets only <mark> through from snippets.
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
    ".us-pager{display:flex;gap:.8em;align-items:center;font-size:.85em}",
    ".us-pager button{font:inherit;background:none;border:1px solid #d0d7de;border-radius:6px;",
    "padding:.1em .6em;cursor:pointer;color:#0b57d0}",
    ".us-more{color:#0b57d0}",
    ".us-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
  ].join("");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // Snippets are escaped text with <mark> around matches. Parse them inertly (a DOMParser document runs no
  // script and loads nothing) and copy only text and <mark> elements; any other markup becomes its text.
  function appendSnippet(parent, html) {
    var body = new DOMParser().parseFromString("<!doctype html><body>" + String(html || ""), "text/html").body;
    body.childNodes.forEach(function (node) {
      if (node.nodeType === 1 && node.tagName === "MARK") {
        parent.appendChild(el("mark", "", node.textContent));
      } else {
        parent.appendChild(document.createTextNode(node.textContent || ""));
      }
    });
  }

  function safeLink(url) {
    try {
      var u = new URL(url, BASE);
      return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null;
    } catch (e) {
      return null;
    }
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
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(button);
  var status = el("p", "us-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  var list = el("ol", "us-list");
  var pager = el("div", "us-pager");
  widget.appendChild(form);
  widget.appendChild(status);
  widget.appendChild(list);
  widget.appendChild(pager);
  root.appendChild(widget);

  var seq = 0;
  var timer = null;

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function render(data, q) {
    clear(list);
    clear(pager);
    if (!data.results.length) {
      status.textContent = data.page > 1 ? "没有更多结果" : "没有找到与“" + q + "”相关的段落，试试更短的词。";
    } else {
      status.textContent = "找到 " + data.total + " 条结果";
    }
    data.results.forEach(function (r) {
      var li = el("li", "us-hit");
      var href = safeLink(r.doc_url);
      var title = el(href ? "a" : "span", "us-title", r.document || r.page_title || r.source);
      if (href) {
        title.href = href;
        title.target = "_blank";
        title.rel = "noopener";
      }
      li.appendChild(title);
      if (r.heading_path) { li.appendChild(el("div", "us-path", r.heading_path)); }
      var snippet = el("p", "us-snippet");
      appendSnippet(snippet, r.snippet);
      li.appendChild(snippet);
      var meta = [r.site, r.date].filter(Boolean);
      if (r.similar) { meta.push("另有 " + r.similar + " 个相似段落"); }
      if (meta.length) { li.appendChild(el("div", "us-meta", meta.join(" · "))); }
      list.appendChild(li);
    });
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

  function run(q, page) {
    q = q.trim();
    var mine = ++seq;
    if (!q) {
      clear(list);
      clear(pager);
      status.textContent = "";
      return;
    }
    status.textContent = "正在搜索…";
    var url = BASE + "/api/search?q=" + encodeURIComponent(q) + "&per_page=" + perPage + "&page=" + (page || 1);
    fetch(url, {mode: "cors", credentials: "omit", headers: {"Accept": "application/json"}})
      .then(function (resp) { return resp.json(); })
      .then(function (data) {
        if (mine !== seq) { return; }
        if (!data || data.ok !== true) {
          clear(list);
          clear(pager);
          status.textContent = "搜索出错：" + ((data && data.error) || "未知错误");
          return;
        }
        render(data, q);
      })
      .catch(function () {
        if (mine !== seq) { return; }
        clear(list);
        clear(pager);
        status.textContent = "无法连接搜索服务";
      });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearTimeout(timer);
    run(input.value, 1);
  });
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { run(input.value, 1); }, 350);
  });
  var first = script.getAttribute("data-query");
  if (first) {
    input.value = first;
    run(first, 1);
  }
})();
