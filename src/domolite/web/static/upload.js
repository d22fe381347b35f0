// Upload a CSV file through the Stream API: detect the schema from the first rows (editable), then create the
// stream (or find the DataSet's), open an execution, send the rows in parts, several at once, and commit.
"use strict";
(function () {
  const root = document.getElementById("upload");
  if (!root) return;
  const token = root.dataset.token;
  const types = root.dataset.types.split(",");
  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("file");
  const schemaBox = document.getElementById("schema-box");
  const schemaRows = document.getElementById("schema-rows");
  const bar = document.getElementById("upload-progress");
  const percent = document.getElementById("upload-percent");
  const status = document.getElementById("upload-status");
  const button = document.getElementById("upload-button");
  const PARALLEL = 4;
  const MIN_PART = 512 * 1024;
  const MAX_PARTS = 16;

  function target() { return form.querySelector("input[name=target]:checked").value; }
  function showTarget() {
    document.getElementById("new-fields").hidden = target() !== "new";
    document.getElementById("existing-fields").hidden = target() !== "existing";
  }
  form.querySelectorAll("input[name=target]").forEach((r) => r.addEventListener("change", showTarget));
  showTarget();

  // RFC 4180 records of a text (a last record cut short by the sample's end is dropped).
  function records(text, complete) {
    const out = []; let row = []; let field = ""; let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"') { if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false; }
        else field += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ",") { row.push(field); field = ""; }
      else if (ch === "\n") { row.push(field.replace(/\r$/, "")); out.push(row); row = []; field = ""; }
      else field += ch;
    }
    if (complete && (field || row.length)) { row.push(field); out.push(row); }
    return out;
  }

  function guess(values) {
    const seen = values.filter((v) => v !== "");
    if (!seen.length) return "STRING";
    const all = (re) => seen.every((v) => re.test(v));
    if (all(/^-?\d{1,18}$/)) return "LONG";
    if (all(/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/)) return "DOUBLE";
    if (all(/^\d{4}-\d{2}-\d{2}$/)) return "DATE";
    if (all(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?$/)) return "DATETIME";
    return "STRING";
  }

  function cell(tr, node) { const td = document.createElement("td"); td.append(node); tr.append(td); return td; }

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    schemaRows.replaceChildren();
    if (!file) { schemaBox.hidden = true; return; }
    const sample = await file.slice(0, 256 * 1024).text();
    const rows = records(sample, file.size <= 256 * 1024).slice(0, 201);
    if (!rows.length) { status.textContent = "The file is empty."; return; }
    const header = rows[0];
    header.forEach((name, i) => {
      const tr = document.createElement("tr");
      cell(tr, document.createTextNode(String(i + 1)));
      const input = document.createElement("input");
      input.type = "text"; input.value = name.trim(); input.className = "col-name";
      input.setAttribute("aria-label", "Name of column " + (i + 1));
      cell(tr, input);
      const select = document.createElement("select");
      select.className = "col-type"; select.setAttribute("aria-label", "Type of column " + (i + 1));
      types.forEach((t) => { const o = document.createElement("option"); o.value = o.textContent = t; select.append(o); });
      select.value = guess(rows.slice(1).map((r) => r[i] ?? ""));
      cell(tr, select);
      cell(tr, document.createTextNode(rows[1] ? rows[1][i] ?? "" : ""));
      schemaRows.append(tr);
    });
    schemaBox.hidden = false;
    const nameField = document.getElementById("new-name");
    if (!nameField.value) nameField.value = file.name.replace(/\.csv$/i, "");
  });

  async function api(method, path, body, type) {
    const headers = { "x-domo-authentication": token };
    if (type) headers["Content-Type"] = type;
    const response = await fetch(path, { method, headers, body, credentials: "omit" });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) throw new Error((data && data.message) || (response.status + " " + response.statusText));
    return data;
  }

  // Where each part ends: after a line break outside quotes, past the part's target size.
  function cuts(bytes, start) {
    const size = Math.max(MIN_PART, Math.ceil((bytes.length - start) / MAX_PARTS));
    const ends = []; let quoted = false; let next = start + size;
    for (let i = start; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 34) quoted = !quoted;
      else if (b === 10 && !quoted && i + 1 >= next) { ends.push(i + 1); next = i + 1 + size; }
    }
    if (!ends.length || ends[ends.length - 1] < bytes.length) ends.push(bytes.length);
    return ends;
  }

  function headerEnd(bytes) {
    let quoted = false;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 34) quoted = !quoted;
      else if (bytes[i] === 10 && !quoted) return i + 1;
    }
    return bytes.length;
  }

  function progress(done, total) {
    const p = total ? Math.floor((done / total) * 100) : 100;
    bar.value = p; percent.textContent = p + "%";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) { status.textContent = "Choose a CSV file first."; fileInput.focus(); return; }
    button.disabled = true; progress(0, 1);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const start = headerEnd(bytes);
      let streamId; let datasetId; let method;
      if (target() === "new") {
        const columns = [...schemaRows.querySelectorAll("tr")].map((tr) => ({
          name: tr.querySelector(".col-name").value.trim(), type: tr.querySelector(".col-type").value }));
        const name = document.getElementById("new-name").value.trim();
        status.textContent = "Creating the DataSet…";
        const stream = await api("POST", "/v1/streams", JSON.stringify({
          dataSet: { name, description: "Uploaded from " + file.name, schema: { columns } }, updateMethod: "REPLACE" }),
          "application/json");
        streamId = stream.id; datasetId = stream.dataSet.id; method = "REPLACE";
      } else {
        datasetId = document.getElementById("existing-dataset").value;
        method = document.getElementById("update-method").value;
        const found = await api("GET", "/v1/streams/search?q=" + encodeURIComponent("dataSource.id:" + datasetId));
        if (!found || !found.length) throw new Error("this DataSet has no stream to upload through");
        streamId = found[0].id;
      }
      const execution = await api("POST", "/v1/streams/" + streamId + "/executions",
        JSON.stringify({ updateMethod: method }), "application/json");
      const ends = cuts(bytes, start);
      const total = bytes.length - start;
      let sent = 0; let next = 0;
      status.textContent = "Sending " + ends.length + " part(s)…";
      async function worker() {
        while (next < ends.length) {
          const index = next++;
          const from = index === 0 ? start : ends[index - 1];
          const part = bytes.subarray(from, ends[index]);
          await api("PUT", "/v1/streams/" + streamId + "/executions/" + execution.id + "/part/" + (index + 1),
            part, "text/csv");
          sent += part.length; progress(Math.min(sent, total - 1), total);
        }
      }
      await Promise.all(Array.from({ length: Math.min(PARALLEL, ends.length) }, worker));
      status.textContent = "Committing…";
      const done = await api("PUT", "/v1/streams/" + streamId + "/executions/" + execution.id + "/commit");
      progress(1, 1);
      status.replaceChildren("Done: the upload is " + done.currentState + ". ");
      const link = document.createElement("a");
      link.href = "/datasources/" + datasetId + "/details/data"; link.textContent = "See the rows";
      status.append(link);
    } catch (error) {
      status.textContent = "The upload failed: " + error.message;
      status.setAttribute("role", "alert");
    } finally {
      button.disabled = false;
    }
  });
})();
