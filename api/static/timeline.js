// Draws a page's timeline with vis-timeline (vendored under /static/vendor) from the JSON the page embeds
// (#timeline-data: groups, items, events), and shows the events behind an interval, with their sources,
// when one is clicked. The page's tables carry the same answer without this script. Items that only touch
// (a status ends where the next begins) share a lane (no horizontal margin); a suspension or a provisional
// application, which overlaps a status, is stacked below it.
(function () {
  "use strict";
  var holder = document.getElementById("timeline");
  var data = document.getElementById("timeline-data");
  if (!holder || !data || typeof vis === "undefined") { return; }
  var spec = JSON.parse(data.textContent);
  // vis-timeline renders an item's or a group's content and title as HTML: the ledger's text (an area, an
  // allegation's subject) is text, so it is escaped here and shown as written, never run.
  function escaped(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function asText(thing) {
    var copy = Object.assign({}, thing);
    if (copy.content !== undefined) { copy.content = escaped(copy.content); }
    if (copy.title !== undefined) { copy.title = escaped(copy.title); }
    return copy;
  }
  var items = new vis.DataSet(spec.items.map(function (item) {
    var copy = asText(item);
    delete copy.events;
    if (!copy.end) { delete copy.end; }
    return copy;
  }));
  var order = {};
  spec.groups.forEach(function (group, i) { order[group.id] = i; });
  var byId = {};
  spec.items.forEach(function (item) { byId[item.id] = item; });
  var options = {
    stack: true, zoomable: true, moveable: true, orientation: "top", margin: { item: { horizontal: 0, vertical: 3 } },
    tooltip: { followMouse: true }, groupOrder: function (a, b) { return order[a.id] - order[b.id]; },
    keyboard: false,
    // When the timeline is first shown (vis-timeline keeps it hidden until laid out): the page says so, with the
    // milliseconds since navigation began, for readers that wait on it (the tests, benchmarks/pages.py).
    // (It is redrawn first: the window it fits to the items may still await its next animation frame.)
    onInitialDrawComplete: function () {
      timeline.redraw();
      holder.dataset.drawnMs = String(Math.round(performance.now()));
    }
  };
  var timeline = new vis.Timeline(holder, items, new vis.DataSet(spec.groups.map(asText)), options);
  timeline.addCustomTime(spec.as_of, "as-of");
  timeline.setCustomTimeMarker("as of " + spec.as_of, "as-of");

  var panel = document.getElementById("events-panel");
  var list = document.getElementById("events-list");
  var title = document.getElementById("events-title");
  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }
  function show(itemId) {
    var item = byId[itemId];
    if (!item || !panel) { return; }
    title.textContent = "Events behind: " + item.title;
    list.replaceChildren();
    item.events.forEach(function (id) {
      var event = spec.events[id];
      var li = document.createElement("li");
      if (!event) { li.appendChild(text("span", id)); list.appendChild(li); return; }
      var head = (event.date || "") + " " + event.type.replace(/_/g, " ") + (event.state ? " by " + event.state : "");
      li.appendChild(text("strong", head));
      if (event.retracted) { li.appendChild(text("span", " (retracted)", "mark")); }
      if (event.corrected_by && event.corrected_by.length) { li.appendChild(text("span", " (corrected)", "mark")); }
      if (event.claimed_by) { li.appendChild(text("span", " (claimed by " + event.claimed_by + ")")); }
      var source = event.source || {};
      var cite = document.createElement("cite");
      if (source.url) {
        var link = text("a", source.title || source.url);
        link.href = source.url;
        link.rel = "noreferrer";
        cite.appendChild(link);
      } else {
        cite.textContent = source.title || "";
      }
      li.appendChild(document.createElement("br"));
      li.appendChild(cite);
      if (source.publisher) { li.appendChild(text("span", ", " + source.publisher)); }
      if (source.quote) { li.appendChild(document.createElement("br")); li.appendChild(text("q", source.quote)); }
      if (event.note) { li.appendChild(document.createElement("br")); li.appendChild(text("small", event.note)); }
      var json = text("a", " JSON");
      json.href = "/v1/events/" + id;
      li.appendChild(json);
      list.appendChild(li);
    });
    panel.hidden = false;
  }
  timeline.on("select", function (props) { if (props.items.length) { show(props.items[0]); } });
  // A row of the table (a state) shows the events behind its status on the as-of date.
  document.querySelectorAll("tr[data-state]").forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a")) { return; }
      var holding = spec.items.filter(function (item) {
        return item.group === row.dataset.state && item.start <= spec.as_of && (!item.end || spec.as_of < item.end);
      });
      if (holding.length) {
        timeline.setSelection(holding.map(function (item) { return item.id; }));
        show(holding[0].id);
        panel.scrollIntoView({ block: "nearest" });
      }
    });
  });
  window.treatyTimeline = timeline;
})();
